import { z } from 'zod';
import type { QueueName } from './keys.ts';

/** A task descriptor as it travels through BullMQ: everything a stateless worker needs, no data. */
export const taskPayloadSchema = z.object({
  jobId: z.string(),
  round: z.number().int().min(0),
  kind: z.enum(['map', 'reduce']),
  index: z.number().int().min(0),
  type: z.string(),
  /** A jobs-folder type: the hash of the file the job was submitted with (a worker runs only that version). */
  typeHash: z.string().optional(),
  params: z.record(z.string(), z.unknown()),
  dataset: z.object({ name: z.string(), version: z.string() }),
  /** For map tasks: 1-based record number of the split's first line. */
  firstRecord: z.number().int().min(1).optional(),
  /** For map tasks: records (lines) in the split, from the dataset's metadata. */
  records: z.number().int().min(0).optional(),
  /** The master's Lamport time and the job's vector clock when it enqueued the task (docs/DESIGN.md §6). */
  clock: z.object({ lamport: z.number(), vc: z.record(z.string(), z.number()) }).optional(),
  /**
   * The master that added the task and the view it was primary in: evidence, read by the
   * multi-host test and by anyone inspecting a queue, that a deposed primary enqueued nothing.
   * Workers ignore it.
   */
  enqueuedBy: z.object({ master: z.string(), viewnum: z.number().int().min(0) }).optional(),
  /** Senders of this round's shuffle: map tasks, or the previous round's reduce tasks after a chained round; 0 in an output round. */
  senders: z.number().int().min(0),
  partitions: z.number().int().min(1),
  /** Iterative jobs: the previous round's summed statistics. */
  previousStats: z.record(z.string(), z.number()).optional(),
  /** Iterative jobs: this reduce task belongs to the output round. */
  output: z.boolean().optional(),
  /** Iterative jobs: this reduce task's round chains into the next; it also writes the next round's shuffle. */
  chained: z.boolean().optional(),
  /**
   * A verified job's task runs twice (docs/DESIGN.md §3.6): `first` writes the task's outputs,
   * `check` (its own queue entry, `<task id>.v`) writes copies, its input in another order.
   */
  verify: z.enum(['first', 'check']).optional(),
}).refine((t) => t.kind === 'reduce' || t.round > 0 || (t.firstRecord !== undefined && t.records !== undefined), {
  message: 'a map task of round 0 needs firstRecord and records',
  path: ['records'],
});

export type TaskPayload = z.infer<typeof taskPayloadSchema>;

/**
 * BullMQ job id of a task attempt (BullMQ ids may not contain ':'). Deterministic, so re-adding is
 * harmless. `rerun` > 0: the task's n-th rerun after Redis lost its committed output (or, for a
 * reduce task, after it failed on that loss; docs/DESIGN.md §3.4): a new id, since the old one is
 * still in its queue as completed or failed.
 */
export function taskJobId(jobId: string, round: number, kind: QueueName, index: number, speculative = 0, rerun = 0): string {
  const base = `${jobId}.${round}.${kind === 'map' ? 'm' : 'r'}.${index}${rerun > 0 ? `.a${rerun}` : ''}`;
  return speculative > 0 ? `${base}.s${speculative}` : base;
}

/** BullMQ job id of a verified task's second run (docs/DESIGN.md §3.6). */
export const checkTaskJobId = (jobId: string, round: number, kind: QueueName, index: number, rerun = 0): string => `${taskJobId(jobId, round, kind, index, 0, rerun)}.v`;

/** Parses a task id made by taskJobId or checkTaskJobId (`<jobId>.<round>.<m|r>.<index>[.a<n>][.s<n>|.v]`). */
export function parseTaskJobId(id: string): { jobId: string; round: number; kind: 'map' | 'reduce'; index: number; speculative: number; check: boolean; rerun: number } | null {
  const m = /^([A-Za-z0-9_-]+)\.(\d+)\.([mr])\.(\d+)(?:\.a(\d+))?(?:\.s(\d+)|\.(v))?$/.exec(id);
  if (!m) return null;
  return {
    jobId: m[1], round: Number(m[2]), kind: m[3] === 'm' ? 'map' : 'reduce', index: Number(m[4]),
    speculative: m[6] ? Number(m[6]) : 0, check: m[7] === 'v', rerun: m[5] ? Number(m[5]) : 0,
  };
}

/**
 * A shuffle blob a reduce task needed is gone although its sender committed (Redis lost it): which
 * round, which sender (task number) and which partition. The worker fails the reduce task at once
 * with this in its reason (`lostOutputText`), and the master reads it back (`parseLostOutput`) to
 * rerun the sender when its input is still there (docs/DESIGN.md §3.4).
 */
export interface LostOutput {
  round: number;
  sender: number;
  partition: number;
}

/** The machine-readable end of a lost-output failure's reason. */
export const lostOutputText = (l: LostOutput): string => `[lost output: round ${l.round} sender ${l.sender} partition ${l.partition}]`;

export function parseLostOutput(reason: string): LostOutput | null {
  const m = /\[lost output: round (\d+) sender (\d+) partition (\d+)\]/.exec(reason);
  return m ? { round: Number(m[1]), sender: Number(m[2]), partition: Number(m[3]) } : null;
}
