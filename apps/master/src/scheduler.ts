/**
 * What the primary should do next, decided from state alone (pure, so it is tested tick by tick).
 * The master turns each action into an op (replicated first) and then the side effect.
 */
import { isFinishedPhase } from '@tandem/shared';
import { currentTasks, type MasterState, type TaskKind } from './state.ts';

export interface SchedulerConfig {
  speculateFactor: number;
  speculateMinMs: number;
  /** A finished job's record and output are kept this long after it finished (TANDEM_JOB_RETENTION_S). */
  retentionMs: number;
}

export type Action =
  | { type: 'enqueue'; jobId: string; round: number; kind: TaskKind; indices: number[] }
  | { type: 'speculate'; jobId: string; round: number; kind: TaskKind; index: number }
  | { type: 'cleanup'; jobId: string }
  | { type: 'expire'; jobId: string };

export function plan(state: MasterState, now: number, cfg: SchedulerConfig): Action[] {
  const actions: Action[] = [];
  for (const job of Object.values(state.jobs)) {
    if (isFinishedPhase(job.phase)) {
      if (!job.cleaned) actions.push({ type: 'cleanup', jobId: job.id });
      else if (expired(job, now, cfg)) actions.push({ type: 'expire', jobId: job.id });
      continue;
    }
    const kind = job.phase as TaskKind;
    const tasks = currentTasks(job);
    const enqueue = enqueueAction(job);
    if (enqueue) actions.push(enqueue);
    // A verified job runs every task twice already; a backup attempt would only race its first run.
    for (const index of job.spec.verify ? [] : stragglers(tasks, now, cfg)) {
      actions.push({ type: 'speculate', jobId: job.id, round: job.round, kind, index });
    }
  }
  return actions;
}

type EnqueueAction = Extract<Action, { type: 'enqueue' }>;

/** The job's pending tasks of its current phase, to enqueue; null when there are none (or it is finished). */
function enqueueAction(job: MasterState['jobs'][string]): EnqueueAction | null {
  if (isFinishedPhase(job.phase)) return null;
  const pending = currentTasks(job).filter((t) => t.state === 'pending').map((t) => t.index);
  return pending.length > 0 ? { type: 'enqueue', jobId: job.id, round: job.round, kind: job.phase as TaskKind, indices: pending } : null;
}

/**
 * The enqueue actions of the jobs named, in the state an op batch leads to: the master adds their
 * `enqueued` ops to that batch (op-pipeline.ts follow-ups), so the tasks a commit makes ready (the
 * next phase's, the next round's) are recorded as queued in the same batch as the commit.
 */
export function readyToEnqueue(state: MasterState, jobIds: Iterable<string>): EnqueueAction[] {
  const out: EnqueueAction[] = [];
  for (const id of new Set(jobIds)) {
    const job = state.jobs[id];
    const a = job ? enqueueAction(job) : null;
    if (a) out.push(a);
  }
  return out;
}

/** Only a cleaned-up job expires, so its clean-up never races the deletion of everything it had. */
const expired = (job: MasterState['jobs'][string], now: number, cfg: SchedulerConfig): boolean =>
  job.finishedAt !== undefined && now - job.finishedAt >= cfg.retentionMs;

/**
 * Backup tasks (MapReduce paper, section 3.6): once at least half of a phase has committed, a task that
 * has run longer than `factor` × the median duration of its committed peers (and at least
 * `minMs`) gets one backup attempt. Whichever commits first wins.
 */
export function stragglers(
  tasks: { state: string; index: number; startedAt?: number; speculative: number; commit?: { ms: number } }[],
  now: number,
  cfg: Pick<SchedulerConfig, 'speculateFactor' | 'speculateMinMs'>,
): number[] {
  const done = tasks.filter((t) => t.state === 'committed' && t.commit).map((t) => t.commit!.ms).sort((a, b) => a - b);
  if (done.length === 0 || done.length * 2 < tasks.length) return [];
  const median = done[Math.floor(done.length / 2)];
  const limit = Math.max(cfg.speculateMinMs, cfg.speculateFactor * median);
  return tasks
    .filter((t) => t.state === 'running' && t.speculative === 0 && t.startedAt !== undefined && now - t.startedAt > limit)
    .map((t) => t.index);
}
