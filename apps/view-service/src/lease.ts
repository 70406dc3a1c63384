/**
 * The view-service lease in Redis (docs/DESIGN.md §5.1, rule 12; keys `<p>:{view-service}:lease`
 * and its epoch counter, written only here): lease-rules.ts wired to the acquire-or-renew script
 * (shared/src/lua/view-lease-2.lua) on a timer. The service asks `authoritative()` before it
 * answers or decides anything, and records its state through `saveState`, which Redis refuses
 * unless this service still holds the lease.
 */
import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '@tandem/shared';
import { TandemError, runScript, viewLeaseSchema, type Keys, type Logger, type ViewLease } from '@tandem/shared';
import { answered, authoritative, expire, initialLease, loaded, needsLoad, renewEveryMs, standbyReason, type LeaseConfig, type LeaseEvent, type LeaseState } from './lease-rules.ts';

export interface LeaseDeps {
  redis: RedisConnection;
  keys: Keys;
  log: Logger;
  /** This service's advertised URL, for the holder's name in the lease. */
  url: string;
  cfg: LeaseConfig;
  /** Loads the stored view for a new tenure; a throw is retried at the next renewal. */
  load: () => Promise<void>;
  now?: () => number;
}

function parseLease(raw: string): ViewLease {
  const r = viewLeaseSchema.safeParse(JSON.parse(raw));
  if (!r.success) throw new Error(`the view-service lease holds no lease: ${raw.slice(0, 120)}`);
  return r.data;
}

/** The lease as stored, or null when none is held (for `tandem up`, which refuses to start a second control plane). */
export async function readLease(redis: RedisConnection, keys: Keys): Promise<{ lease: ViewLease; ttlMs: number } | null> {
  const [raw, ttl] = await Promise.all([redis.get(keys.viewLease()), redis.pttl(keys.viewLease())]);
  if (raw === null) return null;
  try {
    return { lease: parseLease(raw), ttlMs: ttl };
  } catch {
    return null;
  }
}

export class ViewLeaseKeeper {
  readonly id = randomUUID();
  private s: LeaseState;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastError: string | null = null;
  private readonly now: () => number;

  constructor(private d: LeaseDeps) {
    this.s = initialLease(this.id);
    this.now = d.now ?? Date.now;
  }

  /** Takes or renews the lease now, then every quarter of its TTL. */
  start(): Promise<void> {
    const loop = async () => {
      await this.step();
      if (!this.stopped) this.timer = setTimeout(() => void loop(), renewEveryMs(this.d.cfg));
    };
    return loop();
  }

  /** Stops renewing and gives the lease up, so a standby (or this service restarted) takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await runScript(this.d.redis, 'release-view-lease', [this.d.keys.viewLease()], [this.id]).catch(() => 0);
  }

  /**
   * It may decide and reveal views now. Checked before every answer: a service that was paused
   * past its lease learns so here, before it says anything.
   */
  authoritative(): boolean {
    this.expire();
    return authoritative(this.s, this.now(), this.d.cfg);
  }

  /** The lease this service holds, for ping replies and /status. */
  get lease(): ViewLease | undefined {
    return this.s.epoch > 0 && this.s.lease?.id === this.id ? this.s.lease : undefined;
  }

  /** The refusal a service that may not decide views answers with (503, naming the holder). */
  standby(): TandemError {
    const l = this.s.lease;
    return new TandemError('unavailable', standbyReason(this.s, this.now(), this.d.cfg, this.d.keys.prefix), l && l.id !== this.id ? { holder: { url: l.url, since: l.since, epoch: l.epoch } } : undefined);
  }

  /** Records the view service's state, only while this service holds the lease (Redis checks it). */
  async saveState(json: string): Promise<void> {
    const [outcome, cur] = (await runScript(this.d.redis, 'save-view-state', [this.d.keys.viewLease(), this.d.keys.viewService()], [this.id, json])) as [string, string?];
    if (outcome === 'saved') return;
    this.s = { ...this.s, epoch: 0, loaded: false, lease: cur ? parseLease(cur) : this.s.lease };
    this.on('lost');
    throw this.standby();
  }

  private expire(): void {
    const r = expire(this.s, this.now(), this.d.cfg);
    this.s = r.state;
    this.on(r.event);
  }

  private async step(): Promise<void> {
    this.expire();
    const sentAt = this.now();
    try {
      const [outcome, raw] = (await runScript(this.d.redis, 'view-lease', [this.d.keys.viewLease(), this.d.keys.viewLeaseEpoch()], [
        this.id, this.d.cfg.ttlMs, this.d.url, new Date(sentAt).toISOString(), Math.floor(sentAt),
      ])) as ['acquired' | 'renewed' | 'held', string];
      const r = answered(this.s, { outcome, lease: parseLease(raw) }, sentAt, this.now(), this.d.cfg);
      this.s = r.state;
      if (this.lastError !== null) this.d.log.info('the view-service lease answers again');
      this.lastError = null;
      this.on(r.event);
    } catch (err) {
      const why = (err as Error).message;
      if (this.lastError === null) this.d.log.warn({ err: why, epoch: this.s.epoch }, 'cannot take or renew the view-service lease in Redis; deciding no view once it lapses');
      this.lastError = why;
      return;
    }
    if (needsLoad(this.s, this.now(), this.d.cfg)) {
      const epoch = this.s.epoch;
      try {
        await this.d.load();
        this.s = loaded(this.s, epoch);
        if (authoritative(this.s, this.now(), this.d.cfg)) this.d.log.info({ lease: this.s.lease }, 'holding the view-service lease: deciding views');
      } catch (err) {
        this.d.log.warn({ err: (err as Error).message }, 'holding the view-service lease but cannot read the stored view; retrying, answering no ping until it can');
      }
    }
  }

  private on(event: LeaseEvent): void {
    const l = this.s.lease;
    if (event === 'acquired') this.d.log.info({ lease: l }, 'took the view-service lease; loading the stored view before answering');
    else if (event === 'lost') this.d.log.warn({ holder: l && l.id !== this.id ? l : null }, 'lost the view-service lease: answering no ping (503) until it holds it again');
    else if (event === 'standby') this.d.log.warn({ holder: l }, standbyReason(this.s, this.now(), this.d.cfg, this.d.keys.prefix));
  }
}
