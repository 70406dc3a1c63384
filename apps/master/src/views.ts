/** Read-only views of master state, as the API returns them. */
import { isFinishedPhase, type JobStatus, type TaskCounts } from '@tandem/shared';
import { currentTasks, type JobRecord, type TaskRecord } from './state.ts';

/** A finished job runs nothing: its tasks that were queued or running when it failed or was cancelled count as pending (never to run). */
const countTasks = (tasks: TaskRecord[], finished: boolean): TaskCounts => {
  const c: TaskCounts = { total: tasks.length, pending: 0, queued: 0, running: 0, committed: 0 };
  for (const t of tasks) c[finished && t.state !== 'committed' ? 'pending' : t.state]++;
  return c;
};

export function jobSummary(job: JobRecord): Omit<JobStatus, 'alerts'> {
  return {
    id: job.id,
    type: job.spec.type,
    dataset: job.spec.dataset.name,
    datasetVersion: job.spec.dataset.version,
    params: job.spec.params,
    phase: job.phase,
    round: job.round,
    maps: countTasks(job.maps, isFinishedPhase(job.phase)),
    reduces: countTasks(job.reduces, isFinishedPhase(job.phase)),
    partitions: job.spec.partitions,
    counters: job.counters,
    submittedAt: job.submittedAt,
    finishedAt: job.finishedAt ?? null,
    error: job.error ?? null,
    cleaned: job.cleaned,
    version: job.version,
    submittedBy: job.submittedBy,
    plan: job.spec.rounds ?? null,
    rounds: job.rounds,
    outputRound: job.outputRound,
    outputLost: job.outputLost ?? null,
    lost: job.lost ?? null,
    reruns: job.reruns ?? [],
    running: currentTasks(job).filter((t) => t.state === 'running').map((t) => t.index),
    verify: job.spec.verify ? verified([...job.maps, ...job.reduces]) : null,
  };
}

/** A verified job's tasks whose runs agreed (their commit records say so), and how many ran both times on one worker. */
function verified(tasks: TaskRecord[]): { tasks: number; sameWorker: number } {
  let n = 0;
  let same = 0;
  for (const t of tasks) {
    if (!t.commit?.verify) continue;
    n++;
    if (t.commit.verify.worker === t.commit.worker) same++;
  }
  return { tasks: n, sameWorker: same };
}

export function jobDetail(job: JobRecord) {
  return { ...jobSummary(job), tasks: { map: job.maps, reduce: job.reduces } };
}
