/**
 * A key/value reduce task's work once its inputs are folded into one table: each key, in code point
 * order, reduced to zero or more output records (its `ctx.emit` calls, else its returned value,
 * `undefined` being none), each formatted into one line. No I/O, so it is tested on its own.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { compareCodePoints, type FormatContext, type JobType, type ReduceContext } from '@tandem/shared';
import { TaskError } from './task-io.ts';
import { indices } from './verify-order.ts';

/** Reduce loops yield to the event loop this often, so BullMQ can renew the task's lock. */
const YIELD_EVERY = 20_000;

/** A partition's output: parallel arrays, sorted by key; a key with several records appears once per record. */
export interface ReducedPartition {
  keys: string[];
  lines: string[];
}

export interface ReduceOptions {
  params: unknown;
  partition: number;
  /** The table holds one combined value per key (the type has a combiner), not a list of values. */
  combined: boolean;
  /** A verified task's second run: keys are reduced backwards (verify-order.ts). */
  varied: boolean;
  /** Names the task in errors: "wordcount reduce task 3". */
  label: string;
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

export async function reducePartition(type: JobType, table: Map<string, unknown>, o: ReduceOptions): Promise<ReducedPartition> {
  const sorted = [...table.keys()].sort(compareCodePoints);
  const n = sorted.length;
  // Per key (by its sorted index): its one line, its lines, or nothing.
  const out: (string | string[] | undefined)[] = new Array(n);
  const fctx: FormatContext<unknown> = { params: o.params, partition: o.partition };
  let key = '';
  let open = false;
  let emitted: string[] | null = null;
  const line = (k: string, v: unknown): string => {
    const l = type.format(k, v, fctx) as unknown;
    if (typeof l === 'string') return l;
    if (typeof l === 'number' || typeof l === 'boolean' || typeof l === 'bigint') return String(l);
    throw new Error(`format returned ${l === null ? 'null' : typeof l}, not a string (a line of output)`);
  };
  const ctx: ReduceContext<unknown, unknown> = {
    params: o.params,
    partition: o.partition,
    emit(value) {
      if (!open) throw new Error(`ctx.emit called outside a reduce call (after the reduce of key ${JSON.stringify(key)} returned)`);
      (emitted ??= []).push(line(key, value));
    },
  };
  let done = 0;
  for (const j of indices(n, o.varied)) {
    key = sorted[j];
    emitted = null;
    open = true;
    const v = table.get(key);
    try {
      let ret = type.reduce(key, o.combined ? [v] : (v as unknown[]), ctx) as unknown;
      // Only an async reduce pays for an await.
      if (ret !== null && typeof ret === 'object' && typeof (ret as PromiseLike<unknown>).then === 'function') ret = await ret;
      open = false;
      const lines = emitted as string[] | null;
      if (lines) {
        if (ret !== undefined) {
          throw new Error(`reduce emitted ${lines.length} record${lines.length === 1 ? '' : 's'} with ctx.emit and also returned ${shown(ret)}; a reduce that emits must return nothing (undefined)`);
        }
        out[j] = lines.length === 1 ? lines[0] : lines;
      } else if (ret !== undefined) out[j] = line(key, ret);
    } catch (err) {
      open = false;
      throw new TaskError(`${o.label} failed on key ${JSON.stringify(key)}: ${(err as Error).message}`);
    }
    if (++done % YIELD_EVERY === 0) await yieldToLoop();
  }
  const keys: string[] = [];
  const lines: string[] = [];
  for (let j = 0; j < n; j++) {
    const x = out[j];
    if (x === undefined) continue;
    if (typeof x === 'string') {
      keys.push(sorted[j]);
      lines.push(x);
    } else {
      for (const l of x) {
        keys.push(sorted[j]);
        lines.push(l);
      }
    }
  }
  return { keys, lines };
}
