import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stderr; every line names the process, and children add job and task. */
export function createLogger(process: string, level = 'info'): Logger {
  return pino({ level, base: { proc: process, pid: globalThis.process.pid } }, pino.destination(2));
}
