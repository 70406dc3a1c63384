/**
 * Running one task of an iterative job type (shared/src/job-type.ts, IterativeJobType): the job
 * type works on raw blobs, and this module does the I/O around it.
 *
 * - map, round 0: the split; round k > 0: partition `index` of round k-1's reduce output. It returns
 *   R blobs, written to the round's map-output keys (with the intermediate TTL).
 * - reduce: the round's M map blobs for its partition, and its partition's output of the previous
 *   round, in one MGET (they share the hash tag `{id:r}`). Its output is the next round's map input;
 *   in a chained round it also returns the next round's shuffle blobs, written as if map task r of
 *   the next round had sent them.
 * - output round (reduce tasks only): the job type's sorted lines for the partition, written as an
 *   ordinary job output (no TTL), which `job output` merges like any other.
 *
 * A reduce or output task of round k also deletes, for its partition, what no task reads again
 * (docs/DESIGN.md §3.5): round k-1's shuffle blobs (its reduce task committed before round k began)
 * and, from the second iteration on, iteration k-2's output (round k-1 read it). Set-up rounds'
 * outputs stay: later rounds may read them (RoundContext.readOutput).
 */
import {
  compareCodePoints, dropJobValues, encodeOutput, getJobValueHead, getJobValues, getLargeJobValue, missingJobData, roundOutput, setJobValues, shuffleBlob,
  type IterativeJobType, type IterativeMapContext, type IterativeReduceContext, type JobValue, type RoundContext, type TaskPayload,
} from '@tandem/shared';
import { TaskError, lostOutput, missingSplit, readSplit, viaIoredis, withLargeValue, type IO, type TaskDeps } from './task-io.ts';

export function runIterative(p: TaskPayload, type: IterativeJobType, params: unknown, deps: TaskDeps): Promise<IO> {
  if (p.kind === 'map') {
    const read = p.round === 0 ? readSplit(deps, p) : (into?: Buffer) => getLargeJobValue(deps, p.jobId, roundOutput(p.round - 1, p.index), into);
    return withLargeValue(deps, read, (input, readMs) => map(p, type, params, deps, input, readMs));
  }
  return p.output ? output(p, type, params, deps) : reduce(p, type, params, deps);
}

function roundContext(p: TaskPayload, params: unknown, deps: TaskDeps): RoundContext<unknown> {
  return {
    job: p.jobId, params, round: p.round, partitions: p.partitions, previousStats: p.previousStats ?? {}, cache: deps.cache,
    async readOutput(round, partition) {
      return (await getLargeJobValue(deps, p.jobId, roundOutput(round, partition)))?.data ?? null;
    },
    readOutputHead: (round, partition, bytes) => getJobValueHead(deps, p.jobId, roundOutput(round, partition), bytes),
  };
}

/** Runs the job type's code; an error names the job type, round and task (and the record, in round 0). */
async function guarded<T>(p: TaskPayload, what: string, record: () => number | null, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TaskError) throw err;
    const at = record();
    const where = p.round === 0 && p.kind === 'map' ? ` on dataset "${p.dataset.name}" split ${p.index}${at ? `, record (line) ${at}` : ''}` : '';
    throw new TaskError(`${p.type} round ${p.round} ${what}${where} failed: ${(err as Error).message}`);
  }
}

async function map(p: TaskPayload, type: IterativeJobType, params: unknown, deps: TaskDeps, input: Buffer | null, readMs: number): Promise<IO> {
  if (!input) {
    if (p.round === 0) throw missingSplit(p);
    throw new TaskError(`map task ${p.index} of round ${p.round}: ${missingJobData(`round ${p.round - 1}'s output of partition ${p.index}`)}`);
  }
  const first = p.firstRecord ?? 1;
  const ctx: IterativeMapContext<unknown> = { ...roundContext(p, params, deps), index: p.index, firstRecord: first, record: first };
  const t1 = performance.now();
  const res = await guarded(p, `map task ${p.index}`, () => (p.round === 0 ? ctx.record : null), () => type.map(input, ctx));
  const t2 = performance.now();
  if (!Array.isArray(res?.outputs) || res.outputs.length !== p.partitions || !res.outputs.every(Buffer.isBuffer)) {
    throw new TaskError(`${p.type} round ${p.round} map task ${p.index} returned ${Array.isArray(res?.outputs) ? res.outputs.length : 'no'} output blobs; expected ${p.partitions} Buffers, one per partition`);
  }
  await setJobValues(deps, p.jobId, res.outputs.map((value, r) => ({ at: shuffleBlob(p.round, r, p.index), value })), deps.intermediateTtlS);
  const bytesOut = res.outputs.reduce((a, b) => a + b.length, 0);
  return {
    recordsIn: p.round === 0 ? (p.records ?? 0) : 0, recordsOut: res.records ?? 0, bytesIn: input.length, bytesOut, stats: res.stats,
    phases: { readMs, computeMs: t2 - t1, writeMs: performance.now() - t2 },
  };
}

/** Partition r's values that no task of round `p.round` or later reads: see the header. */
function consumed(p: TaskPayload, type: IterativeJobType, params: unknown): JobValue[] {
  const at: JobValue[] = [];
  if (p.round >= 2) for (let i = 0; i < p.partitions; i++) at.push(shuffleBlob(p.round - 1, p.index, i));
  if (p.round - 2 >= type.rounds(params).setup) at.push(roundOutput(p.round - 2, p.index));
  return at;
}

/** The reduce task's inputs and its partition's previous output, fetched together. */
async function reduceInputs(p: TaskPayload, deps: TaskDeps): Promise<{ inputs: Buffer[]; previousOutput: Buffer | null }> {
  const at: JobValue[] = Array.from({ length: p.senders }, (_, i) => shuffleBlob(p.round, p.index, i));
  if (p.round > 0) at.push(roundOutput(p.round - 1, p.index));
  const blobs = await getJobValues(deps, p.jobId, at);
  const previousOutput = p.round > 0 ? (blobs.pop() ?? null) : null;
  const inputs = blobs.map((b, i) => {
    if (!b) throw lostOutput(p, i, `what task ${i} sent it`);
    return b;
  });
  return { inputs, previousOutput };
}

async function reduce(p: TaskPayload, type: IterativeJobType, params: unknown, deps: TaskDeps): Promise<IO> {
  const r = p.index;
  const t0 = performance.now();
  const { inputs, previousOutput } = await reduceInputs(p, deps);
  // Not waited for until the writes are: one round trip less on the barrier's path (its error, if any, still fails the task).
  const dropped = dropJobValues(deps, p.jobId, consumed(p, type, params)).then(() => null, (err: Error) => err);
  const t1 = performance.now();
  const chained = p.chained === true;
  const ctx: IterativeReduceContext<unknown> = { ...roundContext(p, params, deps), partition: r, previousOutput, chained };
  const res = await guarded(p, `reduce task ${r}`, () => null, () => type.reduce(inputs, ctx));
  if (!Buffer.isBuffer(res?.output)) throw new TaskError(`${p.type} round ${p.round} reduce task ${r} returned no output Buffer`);
  if (chained && !(Array.isArray(res.next) && res.next.length === p.partitions && res.next.every(Buffer.isBuffer))) {
    throw new TaskError(`${p.type} round ${p.round} reduce task ${r} chains into the next round but returned ${Array.isArray(res.next) ? res.next.length : 'no'} next blobs; expected ${p.partitions}, one per partition`);
  }
  const t2 = performance.now();
  // All intermediate: the next round reads them; the master deletes them when the job is done.
  const writes = [{ at: roundOutput(p.round, r), value: res.output }];
  if (chained) res.next!.forEach((value, q) => writes.push({ at: shuffleBlob(p.round + 1, q, r), value }));
  await setJobValues(deps, p.jobId, writes, deps.intermediateTtlS);
  const dropError = await dropped;
  if (dropError) throw dropError;
  const bytesOut = writes.reduce((a, w) => a + w.value.length, 0);
  return {
    recordsIn: 0, recordsOut: res.records ?? 0, bytesIn: inputs.reduce((a, b) => a + b.length, previousOutput?.length ?? 0), bytesOut, stats: res.stats,
    phases: { readMs: t1 - t0, computeMs: t2 - t1, writeMs: performance.now() - t2 },
  };
}

async function output(p: TaskPayload, type: IterativeJobType, params: unknown, deps: TaskDeps): Promise<IO> {
  const r = p.index;
  const t0 = performance.now();
  const { previousOutput } = await reduceInputs(p, deps);
  await dropJobValues(deps, p.jobId, consumed(p, type, params));
  const t1 = performance.now();
  const ctx = { ...roundContext(p, params, deps), partition: r, previousOutput, chained: false, lastRound: p.round - 1 };
  const { keys, lines } = await guarded(p, `output task ${r}`, () => null, () => type.output(ctx));
  if (!Array.isArray(keys) || !Array.isArray(lines) || keys.length !== lines.length) {
    throw new TaskError(`${p.type} output task ${r} returned ${keys?.length} keys and ${lines?.length} lines; they must pair up`);
  }
  for (let i = 1; i < keys.length; i++) {
    if (compareCodePoints(keys[i - 1], keys[i]) > 0) {
      throw new TaskError(`${p.type} output task ${r}: keys are not sorted in code point order (${JSON.stringify(keys[i - 1])} before ${JSON.stringify(keys[i])})`);
    }
  }
  const t2 = performance.now();
  const blob = encodeOutput(keys, lines);
  // The job's output: no expiry, and not kept in `written`, since no task reads it.
  await setJobValues(viaIoredis(deps), p.jobId, [{ at: roundOutput(p.round, r), value: blob }]);
  return {
    recordsIn: 0, recordsOut: keys.length, bytesIn: previousOutput?.length ?? 0, bytesOut: blob.length,
    phases: { readMs: t1 - t0, computeMs: t2 - t1, writeMs: performance.now() - t2 },
  };
}
