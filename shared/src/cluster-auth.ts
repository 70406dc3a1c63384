/**
 * The cluster secret: with TANDEM_SECRET set, every request between Tandem's processes and from its
 * clients carries `Authorization: Bearer <secret>`, and the view service and the masters refuse
 * any other with 401 `unauthorized` before it can change anything. Without it, nothing is checked
 * (a fresh clone's `npm start` needs no set-up).
 *
 * `tandem up` keeps a generated secret in its data folder, so every command on the same machine
 * finds it there; a secret given in the environment wins.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { TandemError } from './protocol.ts';

export const MIN_SECRET_LENGTH = 16;
export const SECRET_FILE = 'secret';

/** The header a client adds to every request; none without a secret. */
export function authHeader(secret: string | undefined): Record<string, string> {
  return secret ? { authorization: `Bearer ${secret}` } : {};
}

// Digests make both sides the same length, so timingSafeEqual neither throws nor leaks the length.
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Whether `req` carries the secret (always, when there is none to check). */
export function isAuthorized(req: Pick<IncomingMessage, 'headers'>, secret: string | undefined): boolean {
  if (!secret) return true;
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  return timingSafeEqual(digest(given), digest(secret));
}

export const unauthorized = () => new TandemError('unauthorized', 'this request lacks the cluster secret (Authorization: Bearer <TANDEM_SECRET>); set TANDEM_SECRET to the one the cluster runs with');

/** Express middleware: passes a request that carries the secret, refuses any other. */
export function requireClusterSecret(secret: string | undefined) {
  return (req: IncomingMessage, _res: unknown, next: (err?: unknown) => void): void => {
    next(isAuthorized(req, secret) ? undefined : unauthorized());
  };
}

const secretPath = (dataDir: string, file: string) => join(dataDir, file);

/** The secret `tandem up` keeps in `dataDir` (the cluster secret, or another `file`), if it has made one. */
export function readSecretFile(dataDir: string, file = SECRET_FILE): string | undefined {
  const path = secretPath(dataDir, file);
  if (!existsSync(path)) return undefined;
  const secret = readFileSync(path, 'utf8').trim();
  return secret === '' ? undefined : secret;
}

/**
 * The secret in `dataDir` (the cluster secret, or another `file`), made by `make` (random by
 * default), readable by its owner only, when there is none yet.
 */
export function ensureSecretFile(dataDir: string, file = SECRET_FILE, make = () => randomBytes(32).toString('base64url')): string {
  const existing = readSecretFile(dataDir, file);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true });
  const secret = make();
  const path = secretPath(dataDir, file);
  writeFileSync(path, secret + '\n', { mode: 0o600 });
  // The mode given to writeFileSync passes through the umask; the file must not be readable by others whatever it is.
  chmodSync(path, 0o600);
  return secret;
}

/**
 * Fills TANDEM_SECRET in `env` from the data folder's file when the environment has none, so a
 * command on the machine `tandem up` runs on finds the cluster's secret.
 */
export function secretFromDataDir(env: NodeJS.ProcessEnv, dataDir: string): void {
  if (env.TANDEM_SECRET) return;
  const secret = readSecretFile(dataDir);
  if (secret) env.TANDEM_SECRET = secret;
}
