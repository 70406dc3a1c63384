/** Read-only views of master state, as the API returns them. */
import type { JobStatus, TaskCounts } from '@tandem/shared';
import { currentTasks, type JobRecord, type TaskRecord } from './state.ts';

const countTasks = (tasks: TaskRecord[]): TaskCounts => {
  const c: TaskCounts = { total: tasks.length, pending: 0, queued: 0, running: 0, committed: 0 };
  for (const t of tasks) c[t.state]++;
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
    maps: countTasks(job.maps),
    reduces: countTasks(job.reduces),
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
    running: currentTasks(job).filter((t) => t.state === 'running').map((t) => t.index),
  };
}

export function jobDetail(job: JobRecord) {
  return { ...jobSummary(job), tasks: { map: job.maps, reduce: job.reduces } };
}
