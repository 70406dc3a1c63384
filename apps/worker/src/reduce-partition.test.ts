import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sortCodePoints, type JobType } from '@tandem/shared';
import { PartitionReducer, valuesFor, type ReduceOptions } from './reduce-partition.ts';
import { TaskError } from './task-io.ts';

const base = { name: 't', description: 'd', formats: ['text' as const], params: {}, map() {} };
const opts = (o: Partial<ReduceOptions> = {}): ReduceOptions => ({ params: { min: 2 }, partition: 3, label: 't reduce task 3', ...o });

/** Each key of the table in code point order, its value list (or, `combined`, its one value) reduced: what the merge does (run-merge.ts). */
async function reducePartition(type: JobType, table: Map<string, unknown>, o: ReduceOptions, combined = false) {
  const r = new PartitionReducer(type, o);
  for (const k of sortCodePoints([...table.keys()])) await r.reduceKey(k, combined ? [table.get(k)] : (table.get(k) as unknown[]));
  return { keys: r.keys, lines: r.lines };
}
/** A table of value lists, inserted in an order other than the keys' code point order. */
const table = () => new Map<string, unknown>([['b', [2, 1]], ['a', [1]], ['é', [5, 5, 5]], ['c', []]]);

test('a returned value is one record per key, sorted by key; format gets the parameters and the partition', async () => {
  const seen: unknown[] = [];
  const type: JobType = {
    ...base,
    reduce: (_k, vs: number[]) => vs.reduce((a, b) => a + b, 0),
    format: (k, v, ctx) => (seen.push(ctx), `${k}=${v}`),
  };
  assert.deepEqual(await reducePartition(type, table(), opts()), { keys: ['a', 'b', 'c', 'é'], lines: ['a=1', 'b=3', 'c=0', 'é=15'] });
  assert.deepEqual(seen[0], { params: { min: 2 }, partition: 3 });
});

test('returning undefined without emitting leaves the key out (a filter such as a minimum count)', async () => {
  const type: JobType = {
    ...base,
    reduce: (_k, vs: number[], ctx) => (vs.length >= (ctx.params as { min: number }).min ? vs.length : undefined),
    format: (k, v) => `${k}\t${v}`,
  };
  assert.deepEqual(await reducePartition(type, table(), opts()), { keys: ['b', 'é'], lines: ['b\t2', 'é\t3'] });
  assert.deepEqual(await reducePartition(type, new Map(), opts()), { keys: [], lines: [] });
});

test('ctx.emit: zero or more records per key in emit order, keys sorted; the same output when each key\'s values come backwards (--verify)', async () => {
  const type: JobType = {
    ...base,
    async reduce(_k, vs: number[], ctx) {
      const sorted = [...vs].sort((x, y) => x - y);
      for (const v of sorted) {
        await Promise.resolve(); // an async reduce may emit after an await
        ctx.emit(v);
      }
    },
    format: (k, v) => `${k}:${v}`,
  };
  const want = { keys: ['a', 'b', 'b', 'é', 'é', 'é'], lines: ['a:1', 'b:1', 'b:2', 'é:5', 'é:5', 'é:5'] };
  assert.deepEqual(await reducePartition(type, table(), opts()), want);
  const backwards = new Map([...table()].map(([k, vs]) => [k, valuesFor([vs], undefined, true)]));
  assert.deepEqual([...backwards.values()][0], [1, 2], 'the values backwards');
  assert.deepEqual(await reducePartition(type, backwards, opts()), want);
});

test('a combined table gives reduce one value per key', async () => {
  const type: JobType = { ...base, reduce: (_k, vs: number[]) => vs.length, format: (k, v) => `${k}${v}` };
  const t = new Map<string, unknown>([['x', 7], ['w', 9]]);
  assert.deepEqual(await reducePartition(type, t, opts(), true), { keys: ['w', 'x'], lines: ['w1', 'x1'] });
});

test('a reduce that emits and also returns a value is an error naming the task and the key', async () => {
  const type: JobType = {
    ...base,
    reduce(k, vs: number[], ctx) {
      ctx.emit(vs.length);
      return k === 'b' ? 42 : undefined;
    },
    format: (k, v) => `${k}${v}`,
  };
  await assert.rejects(reducePartition(type, table(), opts()), (err: Error) => {
    assert.ok(err instanceof TaskError);
    assert.equal(err.message, 't reduce task 3 failed on key "b": reduce emitted 1 record with ctx.emit and also returned 42; a reduce that emits must return nothing (undefined)');
    return true;
  });
});

test('emit after the reduce returned, a format that returns no string, and a throwing reduce: errors naming the key', async () => {
  let kept: ((v: unknown) => void) | undefined;
  const late: JobType = {
    ...base,
    reduce(k, _vs, ctx) {
      kept = ctx.emit;
      return k;
    },
    format: (k) => k,
  };
  await reducePartition(late, table(), opts());
  assert.throws(() => kept!(1), /^Error: ctx\.emit called outside a reduce call \(after the reduce of key "é" returned\)$/);
  const objects: JobType = { ...base, reduce: () => ({ n: 1 }), format: (_k, v) => v };
  await assert.rejects(reducePartition(objects, table(), opts()), /failed on key "a": format returned object, not a string/);
  const numbers: JobType = { ...base, reduce: (_k, vs: unknown[]) => vs.length, format: (_k, v) => v };
  assert.deepEqual((await reducePartition(numbers, table(), opts())).lines, ['1', '2', '0', '3'], 'a number is its digits, as before');
  const throws: JobType = { ...base, reduce: (k) => { if (k === 'c') throw new Error('boom'); return 1; }, format: () => '' };
  await assert.rejects(reducePartition(throws, table(), opts()), /failed on key "c": boom$/);
});

test('valuesFor: a combiner folds the senders\' parts left to right into one value; lists are joined, backwards for a varied run', () => {
  const calls: string[] = [];
  const concat = (a: unknown, b: unknown) => (calls.push(`${a}+${b}`), `${a}${b}`);
  assert.deepEqual(valuesFor(['a', 'b', 'c'], concat, false), ['abc']);
  assert.deepEqual(calls, ['a+b', 'ab+c']);
  assert.deepEqual(valuesFor([7], concat, true), [7], 'one part: itself');
  assert.deepEqual(valuesFor([[1, 2], [3], []], undefined, false), [1, 2, 3]);
  assert.deepEqual(valuesFor([[3], [1, 2]], undefined, true), [3, 2, 1], 'a varied run gets the senders backwards (the merge) and each list backwards (here)');
  const one = [1, 2];
  assert.equal(valuesFor([one], undefined, false), one, 'one sender\'s list is passed as it is');
});

test('a reduce that yields: reduceKey returns a promise only for an async reduce', async () => {
  const sync = new PartitionReducer({ ...base, reduce: (_k, vs: unknown[]) => vs.length, format: (k, v) => `${k}${v}` }, opts());
  assert.equal(sync.reduceKey('a', [1]), undefined);
  const asyncType = new PartitionReducer({ ...base, reduce: async (_k, vs: unknown[]) => vs.length, format: (k, v) => `${k}${v}` }, opts());
  const p = asyncType.reduceKey('a', [1, 2]);
  assert.ok(p instanceof Promise);
  await p;
  assert.deepEqual(asyncType.lines, ['a2']);
});
