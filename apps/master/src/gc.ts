/**
 * Garbage collection: job data in Redis that no job in the table owns (a job lost with a master's
 * state, a clean-up cut short by a crash after its op) is found by scanning the job keys, and
 * deleted. The table is read through `confirmRead` both before the scan and again before the
 * deletion, and a job id is deleted only if the table lacks it at that second read: a job submitted
 * meanwhile is in the table before any task writes its keys, and a deposed primary deletes nothing.
 */
import type { RedisConnection } from '@tandem/shared';
import { GC_REPORT_JOBS, deleteJobKeys, jobKeyBytes, scanJobKeys, type GcReport, type Keys, type Logger } from '@tandem/shared';
import type { MasterState } from './state.ts';

export interface GcDeps {
  redis: RedisConnection;
  keys: Keys;
  log: Logger;
  state: () => MasterState;
  /** Resolves once the backup confirms this master is still primary. */
  confirmRead: () => Promise<void>;
}

export async function collectGarbage(d: GcDeps, dryRun: boolean): Promise<GcReport> {
  await d.confirmRead();
  const found = await scanJobKeys(d.redis, d.keys);
  if (!dryRun) await d.confirmRead();
  const orphans = [...found].filter(([id]) => !d.state().jobs[id]);
  const jobs: GcReport['jobs'] = [];
  for (const [jobId, names] of orphans) {
    const bytes = await jobKeyBytes(d.redis, names);
    if (!dryRun) await deleteJobKeys(d.redis, names);
    jobs.push({ jobId, keys: names.length, bytes });
  }
  jobs.sort((a, b) => b.bytes - a.bytes || a.jobId.localeCompare(b.jobId));
  const report: GcReport = {
    ok: true, dryRun, orphanJobs: jobs.length,
    keys: jobs.reduce((n, j) => n + j.keys, 0), bytes: jobs.reduce((n, j) => n + j.bytes, 0),
    jobs: jobs.slice(0, GC_REPORT_JOBS),
  };
  if (!dryRun && jobs.length > 0) d.log.info({ jobs: report.orphanJobs, keys: report.keys, bytes: report.bytes }, 'gc: deleted job data no job owns');
  return report;
}
