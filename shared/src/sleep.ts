/** Resolves after `ms`: for pacing retries and polls, never to wait for something to happen. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
