/**
 * Running one task: read input, run the job type's code, write outputs to their deterministic keys,
 * then commit (shared/src/job-data.ts). Stateless: everything comes from the payload and Redis.
 */
import { hostname } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  LamportClock, appendEvent, commitTask, compareCodePoints, isIterative, vcTick, decodePairs, defaultPartition, encodePairs, getJobValues,
  isCommitted, missingJobData, roundOutput, setJobValues, shuffleBlob, type CommitRecord, type JobType, type MapContext, type TaskPayload,
} from '@tandem/shared';
import { runIterative } from './run-iterative.ts';
import { TaskError, missingSplit, readSplit, viaIoredis, withLargeValue, type IO, type Phases, type TaskDeps } from './task-io.ts';

export { TaskError, type Phases, type TaskDeps };

export interface AttemptInfo {
  attempt: string;
  failedAttempts: number;
  stalls: number;
}

export type TaskResult = { skipped: true } | ({ skipped: false; won: boolean; phases: Phases } & CommitRecord);

const WORKER = `${hostname()}:${process.pid}`;
const PROC = `worker:${WORKER}`;
/** This process's Lamport clock: every task payload carries the master's time, merged on receipt. */
const clock = new LamportClock();
/** Reduce loops yield to the event loop this often, so BullMQ can renew the task's lock. */
const YIELD_EVERY = 20_000;

export async function runTask(p: TaskPayload, deps: TaskDeps, a: AttemptInfo): Promise<TaskResult> {
  const addr = { jobId: p.jobId, round: p.round, kind: p.kind, index: p.index };
  // A speculative or re-delivered attempt of a task that already committed has nothing to do.
  if (await isCommitted(deps.redis, deps.keys, addr)) return { skipped: true };
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
    result = isIterative(type)
      ? await runIterative(p, type, params, deps)
      : p.kind === 'map' ? await runMap(p, type, params, deps) : await runReduce(p, type, params, deps);
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
  const won = await commitTask(deps.redis, deps.keys, addr, record, deps.intermediateTtlS);
  log(won ? 'task committed' : 'task output discarded (another attempt committed first)', lamport, a.attempt);
  return { skipped: false, won, phases, ...record };
}

function runMap(p: TaskPayload, type: JobType, params: unknown, deps: TaskDeps): Promise<IO> {
  return withLargeValue(deps, readSplit(deps, p), (input, readMs) => mapSplit(p, type, params, deps, input, readMs));
}

async function mapSplit(p: TaskPayload, type: JobType, params: unknown, deps: TaskDeps, input: Buffer | null, readMs: number): Promise<IO> {
  if (!input) throw missingSplit(p);
  const combine = type.combine;
  const table = new Map<string, unknown>();
  const ctx: MapContext<unknown, unknown> = {
    params,
    split: p.index,
    firstRecord: p.firstRecord ?? 1,
    record: p.firstRecord ?? 1,
    emit: combine
      ? (key, value) => {
          const prev = table.get(key);
          table.set(key, prev === undefined ? value : combine(prev, value));
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
  } catch (err) {
    throw new TaskError(
      `${p.type} map task ${p.index} failed on dataset "${p.dataset.name}" split ${p.index}, record (line) ${ctx.record}: ${(err as Error).message}`,
    );
  }
  const t2 = performance.now();
  const partition = type.partition ?? defaultPartition;
  const pk: string[][] = Array.from({ length: p.partitions }, () => []);
  const pv: unknown[][] = Array.from({ length: p.partitions }, () => []);
  for (const [key, value] of table) {
    const r = partition(key, p.partitions);
    if (!(r >= 0 && r < p.partitions && Number.isInteger(r))) {
      throw new TaskError(`${p.type}: partitioner returned ${r} for key ${JSON.stringify(key)}; expected 0..${p.partitions - 1}`);
    }
    pk[r].push(key);
    pv[r].push(value);
  }
  const blobs = pk.map((keys, r) => ({ at: shuffleBlob(p.round, r, p.index), value: encodePairs(keys, pv[r]) }));
  await setJobValues(viaIoredis(deps), p.jobId, blobs, deps.intermediateTtlS);
  const bytesOut = blobs.reduce((a, b) => a + b.value.length, 0);
  const phases = { readMs: readMs, computeMs: t2 - t1, writeMs: performance.now() - t2 };
  return { recordsIn: p.records ?? 0, recordsOut: table.size, bytesIn: input.length, bytesOut, phases };
}

async function runReduce(p: TaskPayload, type: JobType, params: unknown, deps: TaskDeps): Promise<IO> {
  const r = p.index;
  const t0 = performance.now();
  const blobs = await getJobValues(viaIoredis(deps), p.jobId, Array.from({ length: p.senders }, (_, i) => shuffleBlob(p.round, r, i)));
  const t1 = performance.now();
  const combine = type.combine;
  const table = new Map<string, unknown>();
  let bytesIn = 0;
  let recordsIn = 0;
  for (let i = 0; i < blobs.length; i++) {
    const blob = blobs[i];
    if (!blob) throw new TaskError(`reduce task ${r}: ${missingJobData(`the output of map task ${i}`)}`);
    bytesIn += blob.length;
    const { keys: ks, values } = decodePairs<unknown>(blob);
    recordsIn += ks.length;
    for (let j = 0; j < ks.length; j++) {
      const key = ks[j];
      const prev = table.get(key);
      if (combine) table.set(key, prev === undefined ? values[j] : combine(prev, values[j]));
      else if (prev) for (const v of values[j] as unknown[]) (prev as unknown[]).push(v);
      else table.set(key, values[j]);
    }
    if (i % 64 === 63) await yieldToLoop();
  }
  const sorted = [...table.keys()].sort(compareCodePoints);
  const lines: string[] = new Array(sorted.length);
  const ctx = { params, partition: r };
  for (let j = 0; j < sorted.length; j++) {
    const key = sorted[j];
    const v = table.get(key);
    try {
      lines[j] = type.format(key, await type.reduce(key, combine ? [v] : (v as unknown[]), ctx));
    } catch (err) {
      throw new TaskError(`${p.type} reduce task ${r} failed on key ${JSON.stringify(key)}: ${(err as Error).message}`);
    }
    if (j % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
  const t2 = performance.now();
  const blob = encodePairs(sorted, lines);
  await setJobValues(viaIoredis(deps), p.jobId, [{ at: roundOutput(p.round, r), value: blob }]);
  const phases = { readMs: t1 - t0, computeMs: t2 - t1, writeMs: performance.now() - t2 };
  return { recordsIn, recordsOut: sorted.length, bytesIn, bytesOut: blob.length, phases };
}
