/**
 * How long `tandem up` waits before restarting a child that died. A child that keeps dying at once
 * (a bad setting, a port still held) is restarted ever more slowly, so it cannot spin; but a child
 * that had been running for a while died of something new, so its restart is quick again. Without
 * that reset, every death after the fifth waited the longest pause for good, and each later
 * view-service death was a 5 s outage of the whole control plane (issue 17, failure 5).
 */

/** The first wait; each quick death in a row doubles it, up to MAX_WAIT_MS. */
export const FIRST_WAIT_MS = 500;
export const MAX_WAIT_MS = 5000;

export interface RestartPlan {
  /** Deaths in a row, this one included, each after a run shorter than the reset time. */
  quickDeaths: number;
  /** The wait before the restart. */
  waitMs: number;
}

/**
 * The plan after a death. `quickDeaths` is the count before it, `ranForMs` how long the child ran
 * this time, `resetAfterMs` the run that counts as healthy (0: never reset, the old rule, kept for
 * the benchmark's baseline).
 */
export function restartPlan(quickDeaths: number, ranForMs: number, resetAfterMs: number): RestartPlan {
  const n = resetAfterMs > 0 && ranForMs >= resetAfterMs ? 1 : quickDeaths + 1;
  return { quickDeaths: n, waitMs: Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** Math.min(n - 1, 4)) };
}
