/**
 * Running one task: read input, run the job type's code, write outputs to their deterministic keys,
 * then commit (shared/src/job-data.ts). Stateless: everything comes from the payload and Redis.
 */
import { hostname } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { UnrecoverableError } from 'bullmq';
import {
  CodecError, LamportClock, VERIFY_RUN_RECORDED, appendEvent, commitTask, isIterative, vcTick, defaultPartition, encodeOutput, encodeShuffle, getJobValueRange, getJobValueSizes, getJobValues, decodeShuffle,
  isCommitted, roundOutput, shuffleBlob, sortCodePoints, type CommitRecord, type JobType, type JobValue, type MapContext, type TaskPayload, type JobDataIO,
} from '@tandem/shared';
import { runIterative } from './run-iterative.ts';
import { REDUCE_MEMORY_BYTES, REDUCE_RANGE_BYTES, TaskError, lostOutput, missingSplit, readSplit, shuffleBlockBytes, viaIoredis, withLargeValue, type IO, type Phases, type TaskDeps } from './task-io.ts';
import { PartitionReducer, valuesFor } from './reduce-partition.ts';
import { mergeRuns } from './run-merge.ts';
import { MissingRunError, ShuffleRunReader, type HeldBytes } from './shuffle-run.ts';
import { indices, pairedCombiner } from './verify-order.ts';
import { VerifiedRun, plainOutput, type TaskOutput } from './verify-run.ts';

export { TaskError, type Phases, type TaskDeps };

export interface AttemptInfo {
  attempt: string;
  failedAttempts: number;
  stalls: number;
}

/**
 * `deferMs`: a verified task's run this worker should not take now (it ran the other): put it back
 * for that long. `won` null: a verified task's run recorded, waiting for its other run to compare.
 */
export type TaskResult = { skipped: true; deferMs?: number } | ({ skipped: false; won: boolean | null; phases: Phases } & CommitRecord);

const WORKER = `${hostname()}:${process.pid}`;
const PROC = `worker:${WORKER}`;
/** This process's Lamport clock: every task payload carries the master's time, merged on receipt. */
const clock = new LamportClock();

export async function runTask(p: TaskPayload, deps: TaskDeps, a: AttemptInfo): Promise<TaskResult> {
  const addr = { jobId: p.jobId, round: p.round, kind: p.kind, index: p.index };
  // A speculative or re-delivered attempt of a task that already committed has nothing to do.
  if (await isCommitted(deps.redis, deps.keys, addr)) return { skipped: true };
  const verified = p.verify ? new VerifiedRun(p, deps, WORKER) : null;
  if (verified) {
    const start = await verified.start();
    if ('deferMs' in start) return { skipped: true, deferMs: start.deferMs };
    // A rerun of a run that recorded itself before its worker died: only the comparison is left.
    if ('recorded' in start) return (await verified.settle(), { skipped: true });
  }
  let type = await deps.registry.lookup(p.type);
  if (p.typeHash && deps.registry.hashes()[p.type] !== p.typeHash) {
    // The file may have changed since this worker last read its folder; if not, this worker has another version.
    await deps.registry.refresh();
    const have = deps.registry.hashes()[p.type];
    if (have !== p.typeHash) {
      throw new Error(`this worker runs job type "${p.type}" at hash ${have ?? '(none: not in its jobs folder)'}, and job ${p.jobId} was submitted with ${p.typeHash} (the file changed since, or this worker's jobs folder differs: tandem job types shows which)`);
    }
    type = deps.registry.require(p.type);
  }
  const params = deps.registry.parseParams(type, p.params);
  const startedAt = Date.now();
  const task = `${p.kind} ${p.index}`;
  let vc = vcTick(p.clock?.vc ?? {}, PROC);
  // Event-log appends do not hold the task up: they queue on the connection and any error is dropped
  // (the log is an observation; commits and outputs are the truth).
  const log = (what: string, lamport: number, detail?: string) =>
    void appendEvent(deps.redis, deps.keys, { job: p.jobId, proc: PROC, what, task, detail, lamport, vc, at: Date.now() }).catch(() => {});
  log('task started', clock.receive(p.clock?.lamport ?? 0), a.attempt);
  let result: IO;
  try {
    const out = verified ?? plainOutput(p, deps);
    const varied = verified?.varied ?? false;
    result = isIterative(type)
      ? await runIterative(p, type, params, deps)
      : p.kind === 'map' ? await runMap(p, type, params, deps, out, varied) : await runReduce(p, type, params, deps, out, varied);
  } catch (err) {
    // The attempt's end, for the event log and the console's task timeline; BullMQ retries it.
    vc = vcTick(vc, PROC);
    log('task attempt failed', clock.tick(), `${a.attempt}: ${(err as Error).message.slice(0, 300)}`);
    throw err;
  }
  const { phases, ...io } = result;
  vc = vcTick(vc, PROC);
  const lamport = clock.tick();
  const record: CommitRecord = {
    attempt: a.attempt, worker: WORKER, startedAt, ms: Date.now() - startedAt,
    failedAttempts: a.failedAttempts, stalls: a.stalls, ...io, clock: { lamport, vc },
  };
  let won: boolean | null;
  try {
    won = verified ? await verified.finish(record) : await commitTask(deps.redis, deps.keys, addr, record, deps.intermediateTtlS);
  } catch (err) {
    // Above all a verified task whose two runs differ: the attempt ends failed, naming the key.
    log('task attempt failed', clock.tick(), `${a.attempt}: ${(err as Error).message.slice(0, 300)}`);
    throw err;
  }
  log(won === null ? VERIFY_RUN_RECORDED : won ? 'task committed' : 'task output discarded (another attempt committed first)', lamport, a.attempt);
  return { skipped: false, won, phases, ...record };
}

/** `varied`: a verified task's second run, which folds with another grouping (verify-order.ts). */
function runMap(p: TaskPayload, type: JobType, params: unknown, deps: TaskDeps, out: TaskOutput, varied: boolean): Promise<IO> {
  return withLargeValue(deps, readSplit(deps, p), (input, readMs) => mapSplit(p, type, params, deps, out, varied, input, readMs));
}

async function mapSplit(p: TaskPayload, type: JobType, params: unknown, deps: TaskDeps, out: TaskOutput, varied: boolean, input: Buffer | null, readMs: number): Promise<IO> {
  if (!input) throw missingSplit(p);
  const combine = type.combine;
  const table = new Map<string, unknown>();
  const paired = varied && combine ? pairedCombiner(table, combine) : null;
  // With a combiner, each key's running value sits in a box: a repeated key costs one Map lookup
  // (not a get and a set), which was most of a plain job's map-side cost (a combine per record).
  const boxes = combine && !paired ? new Map<string, { v: unknown }>() : null;
  const ctx: MapContext<unknown, unknown> = {
    params,
    split: p.index,
    firstRecord: p.firstRecord ?? 1,
    record: p.firstRecord ?? 1,
    emit: paired
      ? paired.emit
      : boxes
      ? (key, value) => {
          const box = boxes.get(key);
          if (box === undefined) boxes.set(key, { v: value });
          else box.v = combine!(box.v, value);
        }
      : (key, value) => {
          const list = table.get(key) as unknown[] | undefined;
          if (list) list.push(value);
          else table.set(key, [value]);
        },
  };
  const t1 = performance.now();
  try {
    await type.map(input, ctx);
    paired?.finish();
  } catch (err) {
    throw new TaskError(
      `${p.type} map task ${p.index} failed on dataset "${p.dataset.name}" split ${p.index}, record (line) ${ctx.record}: ${(err as Error).message}`,
    );
  }
  const t2 = performance.now();
  const partition = type.partition ?? defaultPartition;
  const pk: string[][] = Array.from({ length: p.partitions }, () => []);
  for (const key of (boxes ?? table).keys()) {
    const r = partition(key, p.partitions);
    if (!(r >= 0 && r < p.partitions && Number.isInteger(r))) {
      throw new TaskError(`${p.type}: partitioner returned ${r} for key ${JSON.stringify(key)}; expected 0..${p.partitions - 1}`);
    }
    pk[r].push(key);
  }
  // Each blob a sorted run (code point order), so its reduce task merges runs instead of sorting a table.
  const valueOf = boxes ? (k: string) => boxes.get(k)!.v : (k: string) => table.get(k);
  let blobs: { at: JobValue; value: Buffer }[];
  try {
    blobs = pk.map((keys, r) => ({ at: shuffleBlob(p.round, r, p.index), value: shuffleRun(keys, valueOf, deps) }));
  } catch (err) {
    if (err instanceof CodecError) throw new TaskError(`${p.type} map task ${p.index} emitted what cannot be sent to reduce: ${err.message}`);
    throw err;
  }
  await out.write(blobs, deps.intermediateTtlS);
  const bytesOut = blobs.reduce((a, b) => a + b.value.length, 0);
  const phases = { readMs: readMs, computeMs: t2 - t1, writeMs: performance.now() - t2 };
  return { recordsIn: p.records ?? 0, recordsOut: (boxes ?? table).size, bytesIn: input.length, bytesOut, phases };
}

/**
 * A partition's shuffle blob. One no larger than a reduce range stays in the table's order, one
 * block flagged unsorted: a reduce reads it whole (in memory, or as one range when it streams) and
 * sorts it itself, so ordinary jobs' map tasks skip the sort. A larger one is a sorted run in blocks.
 */
function shuffleRun(keys: string[], valueOf: (k: string) => unknown, deps: TaskDeps): Buffer {
  const small = deps.reduceRangeBytes ?? REDUCE_RANGE_BYTES;
  // The keys' UTF-16 lengths are at most their encoded bytes: past the limit, no need to try.
  let least = 0;
  for (let i = 0; i < keys.length && least <= small; i++) least += keys[i].length;
  if (least <= small) {
    const whole = encodeShuffle(keys, keys.map(valueOf), Infinity, true);
    if (whole.length <= small) return whole;
  }
  sortCodePoints(keys);
  return encodeShuffle(keys, keys.map(valueOf), shuffleBlockBytes(deps));
}

/**
 * A key/value reduce task (docs/DESIGN.md §3.5). Its senders' blobs are sized first (one round
 * trip); when they add up to at most the memory budget (TANDEM_REDUCE_MEMORY_MB) they are read
 * whole and folded into a table in memory (`reduceInMemory`), else merged k ways as sorted runs read
 * in ranges (`reduceStreamed`). Either way reduce is called once per key in code point order, so
 * the output's bytes are the same. `varied`: a verified task's second run, which takes the senders,
 * and so each key's values, backwards (verify-order.ts).
 */
async function runReduce(p: TaskPayload, type: JobType, params: unknown, deps: TaskDeps, out: TaskOutput, varied: boolean): Promise<IO> {
  const r = p.index;
  const t0 = performance.now();
  const io = viaIoredis(deps);
  const at = Array.from({ length: p.senders }, (_, i) => shuffleBlob(p.round, r, i));
  const sizes = await getJobValueSizes(io, p.jobId, at);
  const total = sizes.reduce((a, n) => a + n, 0);
  const reducer = new PartitionReducer(type, { params, partition: r, label: `${p.type} reduce task ${r}` });
  const got = total <= (deps.reduceMemoryBytes ?? REDUCE_MEMORY_BYTES)
    ? await reduceInMemory(p, type, io, at, reducer, varied)
    : await reduceStreamed(p, type, io, at, deps.reduceRangeBytes ?? REDUCE_RANGE_BYTES, reducer, varied);
  const { keys, lines } = reducer;
  const t2 = performance.now();
  const blob = encodeOutput(keys, lines);
  await out.write([{ at: roundOutput(p.round, r), value: blob }]);
  const phases = { readMs: got.t1 - t0, computeMs: t2 - got.t1, writeMs: performance.now() - t2 };
  return { recordsIn: got.recordsIn, recordsOut: lines.length, bytesIn: got.bytesIn, bytesOut: blob.length, heldBytes: got.heldBytes, phases };
}

interface ReduceInput {
  recordsIn: number;
  bytesIn: number;
  /** Bytes of input held at once: all of it in memory, about senders x two ranges streamed. */
  heldBytes: number;
  /** When reading ended (streamed: reading and merging interleave, so it is the start). */
  t1: number;
}

/** Every sender's blob read whole (one MGET, or the worker's own cache), folded into a table in sender order, its keys sorted, reduced. */
async function reduceInMemory(p: TaskPayload, type: JobType, io: JobDataIO, at: JobValue[], reducer: PartitionReducer, varied: boolean): Promise<ReduceInput> {
  const blobs = await getJobValues(io, p.jobId, at);
  const t1 = performance.now();
  const combine = type.combine;
  const table = new Map<string, unknown>();
  let bytesIn = 0;
  let recordsIn = 0;
  let done = 0;
  for (const i of indices(blobs.length, varied)) {
    const blob = blobs[i];
    if (!blob) throw lostOutput(p, i, `the output of map task ${i}`);
    bytesIn += blob.length;
    let ks: string[];
    let values: ArrayLike<unknown>;
    try {
      ({ keys: ks, values } = decodeShuffle<unknown>(blob));
    } catch (err) {
      // A blob that does not read (another Tandem version's) fails the task for good, naming the sender.
      if (!(err instanceof CodecError)) throw err;
      throw new UnrecoverableError(`${p.type} reduce task ${p.index}: the input from map task ${i} cannot be read: ${err.message}`);
    }
    recordsIn += ks.length;
    for (let j = 0; j < ks.length; j++) {
      const key = ks[j];
      const prev = table.get(key);
      if (combine) table.set(key, prev === undefined ? values[j] : combine(prev, values[j]));
      else if (!varied && prev) for (const v of values[j] as unknown[]) (prev as unknown[]).push(v);
      else if (!varied) table.set(key, values[j]);
      else {
        const list = (prev ?? table.set(key, []).get(key)) as unknown[];
        const vs = values[j] as unknown[];
        for (let x = vs.length - 1; x >= 0; x--) list.push(vs[x]);
      }
    }
    if (++done % 64 === 0) await yieldToLoop();
  }
  const sorted = sortCodePoints([...table.keys()]);
  for (const key of sorted) {
    const v = table.get(key);
    const ret = reducer.reduceKey(key, combine ? [v] : (v as unknown[]));
    if (ret) await ret;
  }
  return { recordsIn, bytesIn, heldBytes: bytesIn, t1 };
}

/** The senders' blobs, sorted runs, merged k ways as they are read in ranges of `rangeBytes` (run-merge.ts, shuffle-run.ts). */
async function reduceStreamed(p: TaskPayload, type: JobType, io: JobDataIO, at: JobValue[], rangeBytes: number, reducer: PartitionReducer, varied: boolean): Promise<ReduceInput> {
  const t1 = performance.now();
  const held: HeldBytes = { now: 0, peak: 0 };
  const runs = at.map((v, i) =>
    new ShuffleRunReader<unknown>((from, to) => getJobValueRange(io, p.jobId, v, from, to), rangeBytes, held, `the input from map task ${i}`));
  const rank = [...indices(p.senders, varied)].reduce((a, sender, place) => ((a[sender] = place), a), new Array<number>(p.senders));
  const combine = type.combine as ((a: unknown, b: unknown) => unknown) | undefined;
  try {
    await mergeRuns(runs, rank, (key, parts) => reducer.reduceKey(key, valuesFor(parts, combine, varied)));
  } catch (err) {
    if (err instanceof MissingRunError) {
      const sender = runs.indexOf(err.run as ShuffleRunReader<unknown>);
      throw lostOutput(p, sender, `the output of map task ${sender}`);
    }
    // A blob that does not read (another Tandem version's) fails the task for good, naming the sender.
    if (err instanceof CodecError) throw new UnrecoverableError(`${p.type} reduce task ${p.index}: ${err.message}`);
    throw err;
  }
  return { recordsIn: runs.reduce((a, x) => a + x.records, 0), bytesIn: runs.reduce((a, x) => a + x.fetchedBytes, 0), heldBytes: held.peak, t1 };
}
