/** A request the console refuses, with its HTTP status and a message for the user. */
export class ConsoleError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
