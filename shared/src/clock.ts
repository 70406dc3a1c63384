/**
 * Logical clocks (docs/DESIGN.md §6). Every process keeps a Lamport clock; every message carries the
 * sender's time and the receiver sets C = max(C, C_msg) + 1. Job events also carry a vector clock
 * over the processes that took part in the job, so a timeline can show which events are causally
 * ordered and which were concurrent.
 */

export class LamportClock {
  constructor(private time = 0) {}

  get now(): number {
    return this.time;
  }

  /** A local event, or sending a message: returns the time to stamp it with. */
  tick(): number {
    return ++this.time;
  }

  /** Receiving a message stamped `t`: the receive event's time is after both. */
  receive(t: number): number {
    this.time = Math.max(this.time, Number.isFinite(t) ? t : 0) + 1;
    return this.time;
  }
}

/** A vector clock: process name → count of that process's events known to have happened. */
export type VectorClock = Readonly<Record<string, number>>;

export type Order = 'before' | 'after' | 'equal' | 'concurrent';

/** The clock of a new event at `process`, after everything in `vc`. */
export function vcTick(vc: VectorClock, process: string): VectorClock {
  return { ...vc, [process]: (vc[process] ?? 0) + 1 };
}

/** Everything known to either clock (the receive rule is vcTick(vcMerge(mine, theirs), me)). */
export function vcMerge(a: VectorClock, b: VectorClock): VectorClock {
  const out: Record<string, number> = { ...a };
  for (const [p, n] of Object.entries(b)) out[p] = Math.max(out[p] ?? 0, n);
  return out;
}

/** How event a relates to event b: a happened before b, after it, or neither (concurrent). */
export function vcCompare(a: VectorClock, b: VectorClock): Order {
  let less = false;
  let greater = false;
  for (const p of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[p] ?? 0;
    const y = b[p] ?? 0;
    if (x < y) less = true;
    else if (x > y) greater = true;
  }
  if (less && greater) return 'concurrent';
  if (less) return 'before';
  if (greater) return 'after';
  return 'equal';
}
