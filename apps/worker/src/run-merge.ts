/**
 * The k-way merge of a reduce task (docs/DESIGN.md §3.5): its senders' shuffle blobs are sorted
 * runs, each read a block at a time; the merge takes their records in code point order of their
 * keys and hands each key's values, gathered from every run that holds the key, to `onKey` once the
 * key's run of equal keys ends. No table, no sort: it holds each run's current block and one key's
 * values. Pure (runs bring their own I/O), so it is tested on its own.
 */
import { allBelowSurrogates, compareCodePoints } from '@tandem/shared';

/** A sorted run read a block at a time. */
export interface SortedRun<V> {
  /** The current block's records, in code point order of their keys (across blocks too). */
  keys: string[];
  values: ArrayLike<V>;
  /** No key of the block reaches U+D800, so `<` is code point order for them. */
  plain: boolean;
  /** The current record in the block. */
  at: number;
  /** Loads the next non-empty block (at = 0); false at the run's end. */
  advance(): Promise<boolean>;
}

/** Orders two keys by code point; `plain` when neither reaches U+D800, where `<` is the same order and faster. */
const compare = (a: string, b: string, plain: boolean) => (plain ? (a < b ? -1 : a > b ? 1 : 0) : compareCodePoints(a, b));

/**
 * Merges the runs. `rank[i]` orders run i among runs holding the same key (lower first): a key's
 * values come in that order, and within one run in its record order. `onKey` is awaited only when
 * it returns a promise.
 */
export async function mergeRuns<V>(runs: SortedRun<V>[], rank: readonly number[], onKey: (key: string, values: V[]) => void | Promise<void>): Promise<void> {
  const heap: number[] = [];
  const less = (i: number, j: number) => {
    const a = runs[i];
    const b = runs[j];
    const d = compare(a.keys[a.at], b.keys[b.at], a.plain && b.plain);
    return d < 0 || (d === 0 && rank[i] < rank[j]);
  };
  const down = (j: number) => {
    const n = heap.length;
    for (;;) {
      const l = 2 * j + 1;
      if (l >= n) return;
      const r = l + 1;
      const m = r < n && less(heap[r], heap[l]) ? r : l;
      if (!less(heap[m], heap[j])) return;
      const t = heap[j];
      heap[j] = heap[m];
      heap[m] = t;
      j = m;
    }
  };
  // Every run's first block at once (their first ranges travel side by side).
  const started = await Promise.all(runs.map((run) => run.advance()));
  for (let i = 0; i < runs.length; i++) {
    if (!started[i]) continue;
    heap.push(i);
    for (let j = heap.length - 1; j > 0 && less(heap[j], heap[(j - 1) >> 1]); j = (j - 1) >> 1) {
      const p = (j - 1) >> 1;
      [heap[j], heap[p]] = [heap[p], heap[j]];
    }
  }
  while (heap.length > 0) {
    const first = runs[heap[0]];
    const key = first.keys[first.at];
    const values: V[] = [];
    do {
      const run = runs[heap[0]];
      values.push(run.values[run.at]);
      if (++run.at >= run.keys.length && !(await run.advance())) {
        const last = heap.pop()!;
        if (heap.length === 0) break;
        heap[0] = last;
      }
      down(0);
    } while (heap.length > 0 && runs[heap[0]].keys[runs[heap[0]].at] === key);
    const ret = onKey(key, values);
    if (ret) await ret;
  }
}

/** A run over arrays already in memory, cut into blocks of `blockRecords` (tests; runs of one block). */
export function arrayRun<V>(keys: string[], values: V[], blockRecords = Infinity): SortedRun<V> {
  let from = 0;
  const run: SortedRun<V> = {
    keys: [],
    values: [],
    plain: true,
    at: 0,
    advance() {
      if (from >= keys.length) return Promise.resolve(false);
      const to = Math.min(keys.length, from + blockRecords);
      run.keys = keys.slice(from, to);
      run.values = values.slice(from, to);
      run.plain = allBelowSurrogates(run.keys);
      run.at = 0;
      from = to;
      return Promise.resolve(true);
    },
  };
  return run;
}
