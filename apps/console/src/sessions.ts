/**
 * The console's login sessions and its login rate limit, both kept in Redis so that logout revokes
 * a session on every console process at once and a restart forgets nothing.
 *
 * - A session id is 32 random bytes; the browser's cookie carries it, Redis keeps only its SHA-256
 *   (a read of Redis yields no cookie) with the session's own form token, and an expiry fixed at
 *   login (TANDEM_CONSOLE_SESSION_S): using the session does not extend it.
 * - Login attempts are counted per client address over a sliding window
 *   (TANDEM_CONSOLE_LOGIN_MAX_FAILURES per TANDEM_CONSOLE_LOGIN_WINDOW_S); a correct login does not
 *   count. An attempt over the limit is refused before the token is looked at, so the limit is not
 *   an oracle.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RedisConnection } from '@tandem/shared';
import { runScript, type Keys } from '@tandem/shared';

export interface Session {
  id: string;
  /** This session's form token. */
  csrf: string;
}

export interface SessionSettings {
  ttlS: number;
  maxFailures: number;
  windowS: number;
}

/** An admitted login attempt (`forget` it when the token was right), or a refusal with its wait. */
export type LoginAttempt = { admitted: true; forget(): Promise<void> } | { admitted: false; retryAfterS: number };

const ID = /^[A-Za-z0-9_-]{43}$/;
const random = () => randomBytes(32).toString('base64url');

export class ConsoleSessions {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keys,
    readonly settings: SessionSettings,
  ) {}

  private key(id: string): string {
    return this.keys.consoleSession(createHash('sha256').update(id).digest('hex'));
  }

  async create(): Promise<Session> {
    const s = { id: random(), csrf: random() };
    await this.redis.set(this.key(s.id), s.csrf, 'EX', this.settings.ttlS);
    return s;
  }

  /** The live session with this id, or null (unknown, expired, revoked or malformed). */
  async find(id: string): Promise<Session | null> {
    if (!ID.test(id)) return null;
    const csrf = await this.redis.get(this.key(id));
    return csrf === null ? null : { id, csrf };
  }

  async revoke(id: string): Promise<void> {
    if (ID.test(id)) await this.redis.del(this.key(id));
  }

  async attempt(address: string): Promise<LoginAttempt> {
    const key = this.keys.consoleLoginAttempts(address);
    const member = random();
    const [admitted, waitMs] = (await runScript(this.redis, 'login-attempt', [key], [this.settings.windowS * 1000, this.settings.maxFailures, member])) as [number, number];
    if (!admitted) return { admitted: false, retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
    return { admitted: true, forget: async () => void (await this.redis.zrem(key, member)) };
  }
}
