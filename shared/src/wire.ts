/** Shapes that cross the wire between the masters, the view service and their clients. */
import type { QueueName } from './keys.ts';
export type JobPhase = 'map' | 'reduce' | 'done' | 'failed' | 'cancelled';

export interface TaskCounts {
  total: number;
  pending: number;
  queued: number;
  running: number;
  committed: number;
}

export interface PhaseCounters {
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
  attempts: number;
  failures: number;
  speculative: number;
}

export interface JobStatus {
  id: string;
  type: string;
  dataset: string;
  datasetVersion: string;
  params: Record<string, unknown>;
  phase: JobPhase;
  round: number;
  maps: TaskCounts;
  reduces: TaskCounts;
  partitions: number;
  counters: { map: PhaseCounters; reduce: PhaseCounters };
  submittedAt: number;
  finishedAt: number | null;
  error: string | null;
  cleaned: boolean;
  running: number[];
  /** Problems that hold the job up, in plain words (e.g. Redis unreachable); empty when none. */
  alerts: string[];
  /** Change counter for long polls (`status(id, {after: version})`); part of the replicated state, so it never goes backwards. */
  version: number;
  /** The (clientId, requestId) of the submit that created the job. */
  submittedBy: { clientId: string; requestId: string };
  /** An iterative job's rounds (setup rounds, iteration limit, tolerance); null for a one-round job. */
  plan: { setup: number; iterations: number; tol: number } | null;
  /** Finished rounds of an iterative job with their summed statistics (e.g. L1 delta); empty otherwise. */
  rounds: { round: number; stats: Record<string, number>; finishedAt: number }[];
  /** An iterative job is in its output round (after the last iteration). */
  outputRound: boolean;
}

export const isFinishedPhase = (p: JobPhase) => p === 'done' || p === 'failed' || p === 'cancelled';

export interface SubmitSpec {
  type: string;
  dataset: string;
  params?: Record<string, string>;
  partitions?: number;
}

/** The view: which master is primary and which is backup (view service, GET /view and /status). */
export interface ViewInfo {
  viewnum: number;
  primary: string;
  backup: string;
}

/** A master as the view service sees it. */
export interface ServerStatus {
  name: string;
  role: 'primary' | 'backup' | 'idle';
  alive: boolean;
  lastPingAgoMs: number;
  viewnum: number;
  restarted: boolean;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
}

/** The view service's watch on the task queues. */
export interface QueueReport {
  queues: Record<QueueName, QueueCounts>;
  workersOnline: number;
  /** Stall events seen since the monitor started, and the tasks that stalled more than once. */
  stalled: number;
  repeatedlyStalled: { task: string; times: number }[];
  checkedAt: number;
  error: string | null;
}

/** The view service's GET /status. */
export interface ViewStatus {
  view: ViewInfo;
  acked: boolean;
  /** Since when the current view has waited for the primary's acknowledgement (null if acked). */
  waitingForAckMs: number | null;
  servers: ServerStatus[];
  queues: QueueReport | null;
  alerts: string[];
  /** GET /view requests served since start. */
  lookups: number;
}

/** Where an iterative job is; every client words it its own way. */
export interface RoundProgress {
  /** Iterations finished (set-up rounds not counted). */
  done: number;
  stage: 'setup' | 'iteration' | 'output' | 'finished';
  /** 1-based: the set-up round or the iteration running now (0 otherwise). */
  step: number;
  /** The latest iteration's L1 change, once there is one. */
  delta: number | null;
}

export function roundProgress(s: JobStatus): RoundProgress {
  const setup = s.plan?.setup ?? 0;
  const done = Math.max(0, s.rounds.length - setup);
  const delta = done > 0 ? (s.rounds[s.rounds.length - 1].stats.delta ?? null) : null;
  if (isFinishedPhase(s.phase)) return { done, stage: 'finished', step: 0, delta };
  if (s.outputRound) return { done, stage: 'output', step: 0, delta };
  if (s.round < setup) return { done, stage: 'setup', step: s.round + 1, delta };
  return { done, stage: 'iteration', step: s.round - setup + 1, delta };
}
