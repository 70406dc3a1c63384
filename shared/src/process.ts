import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { isIP } from 'node:net';
import type { Logger } from './log.ts';
import type { ServerTls } from './tls.ts';

/**
 * Exit code of a service that cannot run as configured (bad variable, port taken): restarting it
 * would fail the same way, so `tandem up` stops instead of restarting it (EX_CONFIG from sysexits).
 */
export const EXIT_CONFIG = 78;

/** Runs a service's start-up, turning a thrown error into one line on stderr and EXIT_CONFIG. */
export async function startService(name: string, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    process.stderr.write(`${name}: cannot start: ${(err as Error).message}\n`);
    process.exit(EXIT_CONFIG);
  }
}

/**
 * Serves `app` on host:port (HTTPS only, when `where.tls` holds the certificate from loadTls) and
 * logs `ready` once listening. A port that cannot be had ends the process with EXIT_CONFIG and a
 * message naming the variable to change.
 */
export function listenOrExit(app: RequestListener, where: { host: string; port: number; portVar: string; tls?: ServerTls }, log: Logger, ready: () => void): Server {
  const server = (where.tls ? createTlsServer(where.tls, app) : createServer(app)).listen(where.port, where.host, ready);
  server.on('error', (err: NodeJS.ErrnoException) => {
    const why = err.code === 'EADDRINUSE' ? `port ${where.port} is already in use (set ${where.portVar})` : err.message;
    log.fatal({ err: err.message }, `cannot listen on ${where.host}:${where.port}: ${why}`);
    process.exit(EXIT_CONFIG);
  });
  return server;
}

/** True for an address only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Refuses a listener that other machines can reach while TANDEM_SECRET is unset: such a process
 * would accept pings, submits and replica streams from anyone on the network. Thrown inside
 * `startService`, so the process ends with EXIT_CONFIG and this message.
 */
export function requireSecretToBind(where: { host: string; hostVar: string }, env: NodeJS.ProcessEnv = process.env): void {
  if (isLoopbackHost(where.host) || (env.TANDEM_SECRET ?? '') !== '') return;
  throw new Error(
    `${where.hostVar}=${where.host} accepts connections from other machines, but TANDEM_SECRET is unset, so anyone who can reach the port could change the cluster; ` +
      'set TANDEM_SECRET to the same random value on every host (for example `openssl rand -hex 32`), or listen on 127.0.0.1',
  );
}
