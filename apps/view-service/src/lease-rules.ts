/**
 * The view-service lease (docs/DESIGN.md §5.1, rule 12), as pure rules: one view service per Redis
 * and prefix decides views. No clock and no I/O: the caller passes `now` and the outcome of each
 * acquire-or-renew script call (shared/src/lua/view-lease-2.lua); lease.ts wires them to Redis and
 * a timer.
 *
 * - The holder renews every quarter of the TTL. Its lease is valid, as far as it knows, until
 *   three quarters of the TTL after it SENT the last renewal that succeeded: Redis started the TTL
 *   no earlier than that, so the holder stops deciding views before Redis can hand the lease to
 *   another service. A holder paused (SIGSTOP, a stalled host) past that time finds, once it runs,
 *   that its lease is not valid, before it answers anything.
 * - A service that takes the lease (a new epoch) is not authoritative until it has loaded the
 *   stored view (a takeover, or its own lease that lapsed: someone else may have decided views in
 *   between).
 * - Another holder makes a service a standby: it answers no ping and decides nothing until the
 *   lease lapses.
 */
import type { ViewLease } from '@tandem/shared';

export interface LeaseConfig {
  ttlMs: number;
}

export interface LeaseState {
  /** This service's instance id. */
  me: string;
  /** The lease as last read: this service's own, or another's; null before the first answer. */
  lease: ViewLease | null;
  /** The epoch this service holds, 0 when none. */
  epoch: number;
  /** When the call that last acquired or renewed this service's lease was sent. */
  renewedAt: number;
  /** The stored view has been loaded for `epoch`. */
  loaded: boolean;
}

/** What the last step changed, for the log and for loading the stored view. */
export type LeaseEvent =
  /** A new tenure: load the stored view before deciding anything. */
  | 'acquired'
  | 'renewed'
  /** It held the lease and does not any more (it lapsed, or another service holds it). */
  | 'lost'
  /** Another service holds it: first seen, or a different holder than before. */
  | 'standby'
  | 'none';

export type LeaseOutcome = { outcome: 'acquired' | 'renewed' | 'held'; lease: ViewLease };

export const initialLease = (me: string): LeaseState => ({ me, lease: null, epoch: 0, renewedAt: 0, loaded: false });

export const renewEveryMs = (cfg: LeaseConfig) => Math.floor(cfg.ttlMs / 4);

/** This service's lease is valid, as far as it can know without asking Redis. */
export const holds = (s: LeaseState, now: number, cfg: LeaseConfig) => s.epoch > 0 && now < s.renewedAt + (cfg.ttlMs * 3) / 4;

/** It may decide and reveal views: it holds the lease and has loaded the stored view under it. */
export const authoritative = (s: LeaseState, now: number, cfg: LeaseConfig) => holds(s, now, cfg) && s.loaded;

/** It holds the lease but has not loaded the stored view yet (or loading failed): load it now. */
export const needsLoad = (s: LeaseState, now: number, cfg: LeaseConfig) => holds(s, now, cfg) && !s.loaded;

/** Time passed: a lease not renewed in time is given up here, before Redis hands it on. */
export function expire(s: LeaseState, now: number, cfg: LeaseConfig): { state: LeaseState; event: LeaseEvent } {
  if (s.epoch === 0 || holds(s, now, cfg)) return { state: s, event: 'none' };
  return { state: { ...s, epoch: 0, loaded: false }, event: 'lost' };
}

/** The script's answer to a call sent at `sentAt`. */
export function answered(s: LeaseState, r: LeaseOutcome, sentAt: number, now: number, cfg: LeaseConfig): { state: LeaseState; event: LeaseEvent } {
  if (r.outcome === 'held' || r.lease.id !== s.me) {
    const was = holds(s, now, cfg) || s.epoch > 0;
    const next: LeaseState = { ...s, lease: r.lease, epoch: 0, loaded: false };
    if (was) return { state: next, event: 'lost' };
    return { state: next, event: s.lease?.id === r.lease.id && s.lease.epoch === r.lease.epoch ? 'none' : 'standby' };
  }
  // Ours. The same epoch is the same tenure (the lease never lapsed in Redis, so nobody else decided
  // anything); another epoch is a new one, whatever this service believed.
  const same = r.lease.epoch === s.epoch;
  const next: LeaseState = { ...s, lease: r.lease, epoch: r.lease.epoch, renewedAt: Math.max(sentAt, same ? s.renewedAt : 0), loaded: same && s.loaded };
  const lapsed = expire(next, now, cfg);
  if (lapsed.event === 'lost') {
    // The answer came too late to count (the service was paused while it waited): the lease may
    // already be another's by the time it would act on it.
    return { state: { ...lapsed.state, lease: r.lease }, event: same ? 'lost' : 'none' };
  }
  return { state: next, event: same ? 'renewed' : 'acquired' };
}

/** The stored view was loaded for `epoch`: the service may decide views once it still holds that epoch. */
export function loaded(s: LeaseState, epoch: number): LeaseState {
  return s.epoch === epoch ? { ...s, loaded: true } : s;
}

/** Why this service decides nothing, in words (for 503s, logs and `tandem view`). */
export function standbyReason(s: LeaseState, now: number, cfg: LeaseConfig, prefix: string): string {
  const l = s.lease;
  if (l && l.id !== s.me) {
    return `standby view service: the view-service lease for prefix "${prefix}" is held by ${l.url} since ${l.since}; this one takes over if that one stops renewing it for ${cfg.ttlMs} ms`;
  }
  if (needsLoad(s, now, cfg)) return `the view service holds the lease for prefix "${prefix}" but has not read the stored view yet; retry shortly`;
  if (l && l.id === s.me) {
    // Its own lease, last seen, ran out before it could renew it (a pause, or Redis out of reach):
    // another service may hold it by now, which it learns at its next call to Redis.
    return `this view service's lease for prefix "${prefix}" lapsed (it was paused or could not reach Redis for over ${(cfg.ttlMs * 3) / 4} ms); it decides nothing until Redis says who holds the lease now`;
  }
  return `no view service holds the view-service lease for prefix "${prefix}" yet (this one is trying to take it; is Redis reachable?)`;
}
