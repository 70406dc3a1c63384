/**
 * A key/value reduce task's work per key, as the merge of its senders' sorted runs (run-merge.ts)
 * hands it each key in code point order with the values gathered from the senders: the values
 * folded for reduce (`valuesFor`), reduce called, its records (its `ctx.emit` calls, else its
 * returned value, `undefined` being none) each formatted into one line, appended in key order. No
 * I/O, so it is tested on its own.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FormatContext, JobType, ReduceContext } from '@tandem/shared';
import { TaskError } from './task-io.ts';

/** Reduce loops yield to the event loop this often, so BullMQ can renew the task's lock. */
const YIELD_EVERY = 20_000;

export interface ReduceOptions {
  params: unknown;
  partition: number;
  /** Names the task in errors: "wordcount reduce task 3". */
  label: string;
}

/**
 * What reduce gets for a key from its senders' records (`parts`, one per sender holding the key, in
 * the merge's sender order): with a combiner, one value, the parts folded left to right; without,
 * the senders' lists joined, each backwards when `varied` (a verified task's second run, which also
 * takes the senders backwards: verify-order.ts).
 */
export function valuesFor(parts: unknown[], combine: ((a: unknown, b: unknown) => unknown) | undefined, varied: boolean): unknown[] {
  if (combine) {
    let acc = parts[0];
    for (let i = 1; i < parts.length; i++) acc = combine(acc, parts[i]);
    return [acc];
  }
  if (parts.length === 1 && !varied) return parts[0] as unknown[];
  const all: unknown[] = [];
  for (const part of parts as unknown[][]) {
    if (varied) for (let x = part.length - 1; x >= 0; x--) all.push(part[x]);
    else for (const v of part) all.push(v);
  }
  return all;
}

const shown = (v: unknown) => {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
};

/** Calls reduce once per key, in the order the keys come (the merge's: code point order), and keeps the lines. */
export class PartitionReducer {
  /** The partition's output so far, parallel arrays in key order: a key with several records appears once per record. */
  readonly keys: string[] = [];
  readonly lines: string[] = [];
  private key = '';
  private open = false;
  private emitted = 0;
  private done = 0;
  private readonly ctx: ReduceContext<unknown, unknown>;
  private readonly fctx: FormatContext<unknown>;

  constructor(private readonly type: JobType, private readonly o: ReduceOptions) {
    this.fctx = { params: o.params, partition: o.partition };
    this.ctx = {
      params: o.params,
      partition: o.partition,
      emit: (value) => {
        if (!this.open) throw new Error(`ctx.emit called outside a reduce call (after the reduce of key ${JSON.stringify(this.key)} returned)`);
        const l = this.line(this.key, value);
        this.keys.push(this.key);
        this.lines.push(l);
        this.emitted++;
      },
    };
  }

  private line(k: string, v: unknown): string {
    const l = this.type.format(k, v, this.fctx) as unknown;
    if (typeof l === 'string') return l;
    if (typeof l === 'number' || typeof l === 'boolean' || typeof l === 'bigint') return String(l);
    throw new Error(`format returned ${l === null ? 'null' : typeof l}, not a string (a line of output)`);
  }

  /** Reduces one key (keys must come in order, each once); a promise only when reduce is async or it is time to yield. */
  reduceKey(key: string, values: unknown[]): void | Promise<void> {
    this.key = key;
    this.emitted = 0;
    this.open = true;
    let ret: unknown;
    try {
      ret = this.type.reduce(key, values, this.ctx) as unknown;
    } catch (err) {
      throw this.failed(err);
    }
    // Only an async reduce pays for an await.
    if (ret !== null && typeof ret === 'object' && typeof (ret as PromiseLike<unknown>).then === 'function') {
      return (ret as Promise<unknown>).then((r) => this.settle(r), (err) => Promise.reject(this.failed(err)));
    }
    return this.settle(ret);
  }

  private settle(ret: unknown): void | Promise<void> {
    this.open = false;
    try {
      if (this.emitted > 0) {
        if (ret !== undefined) {
          const n = this.emitted;
          throw new Error(`reduce emitted ${n} record${n === 1 ? '' : 's'} with ctx.emit and also returned ${shown(ret)}; a reduce that emits must return nothing (undefined)`);
        }
      } else if (ret !== undefined) {
        const l = this.line(this.key, ret);
        this.keys.push(this.key);
        this.lines.push(l);
      }
    } catch (err) {
      throw this.failed(err);
    }
    if (++this.done % YIELD_EVERY === 0) return yieldToLoop().then(() => {});
  }

  private failed(err: unknown): TaskError {
    this.open = false;
    return new TaskError(`${this.o.label} failed on key ${JSON.stringify(this.key)}: ${(err as Error).message}`);
  }
}
