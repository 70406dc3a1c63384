/**
 * What the console reads and changes, in one place, for the pages and the JSON API alike: datasets
 * straight from Redis (the same dataset store as `tandem dataset`), jobs through the replicated
 * masters (the same client as the CLI, so a failover is invisible here too), the cluster from the
 * view service and each master's /health, a job's events from the cluster event log.
 */
import type { Writable } from 'node:stream';
import type { RedisConnection } from '@tandem/shared';
import {
  DatasetNotFoundError, TandemError, causalTimeline, fetchJson, headDataset, headOutput, listDatasets, putDataset, readJobEvents, readRedisMemory,
  removeDataset, requireDataset, writeOutput, type ProcessMemory, type RedisMemory,
  type ClusterEvent, type DatasetFormat, type DatasetMeta, type GcReport, type JobStatus, type JobTypeDescription, type Keys, type MasterClient, type RequestIds,
  type MasterHealth, type SubmitSpec, type TimelineEntry, type ViewStatus,
} from '@tandem/shared';
import { readJobTypesReports, type Registry } from '@tandem/jobs';

/** A master as the console found it: its own /health, or why it did not answer. */
export type MasterProbe = { url: string; ok: boolean; error?: string } & Partial<Pick<MasterHealth, 'role' | 'jobs' | 'replication' | 'alerts'>>;

export interface ClusterStatus {
  viewUrl: string;
  /** Null when the view service does not answer; `error` says why. */
  view: ViewStatus | null;
  error: string | null;
  masters: MasterProbe[];
  alerts: string[];
  /** Redis's memory (INFO memory), or null when Redis does not answer. */
  redisMemory: RedisMemory | null;
  /** Each live worker's memory, from its report (jobs/src/report.ts). */
  workers: { name: string; memory: ProcessMemory }[];
}

export interface PlatformDeps {
  redis: RedisConnection;
  keys: Keys;
  client: MasterClient;
  registry: Registry;
  viewUrl: string;
  /** The cluster secret, for the console's own looks at the view service and the masters. */
  secret?: string;
}


export class Platform {
  constructor(private d: PlatformDeps) {}

  /** The job types with their parameters, as their schemas declare them. */
  types(): JobTypeDescription[] {
    return this.d.registry.describe();
  }

  datasets(): Promise<DatasetMeta[]> {
    return listDatasets(this.d.redis, this.d.keys);
  }

  /** A dataset's metadata and first lines; `not_found` (the message lists the datasets) when there is none. */
  async dataset(name: string, lines = 20): Promise<{ meta: DatasetMeta; head: string[] }> {
    const meta = await requireDataset(this.d.redis, this.d.keys, name);
    return { meta, head: await headDataset(this.d.redis, this.d.keys, meta, lines) };
  }

  /** Deletes a dataset and its splits (jobs reading it fail); `not_found` when there is none. */
  async removeDataset(name: string): Promise<void> {
    if (!(await removeDataset(this.d.redis, this.d.keys, name))) throw new DatasetNotFoundError(`dataset "${name}" does not exist`);
  }

  upload(name: string, format: DatasetFormat, replace: boolean, splitBytes: number, body: AsyncIterable<Buffer | Uint8Array>, onProgress?: (n: number) => void): Promise<DatasetMeta> {
    return putDataset(this.d.redis, this.d.keys, body, { name, format, replace, splitBytes, onProgress });
  }

  jobs(): Promise<JobStatus[]> {
    return this.d.client.list();
  }

  /** A job's status; with `after`, a long poll that answers once the job changed after that version. */
  job(id: string, after?: number): Promise<JobStatus> {
    return this.d.client.status(id, after === undefined ? undefined : { after, waitMs: 20_000 });
  }

  /** `ids`: the request's own (a form's, a script's); without, the shared client numbers it. */
  submit(spec: SubmitSpec, ids?: RequestIds): Promise<string> {
    return this.d.client.submit(spec, ids);
  }

  cancel(id: string, ids?: RequestIds): Promise<void> {
    return this.d.client.cancel(id, ids);
  }

  /** Deletes (or, with dryRun, lists) job data in Redis that no job owns (`tandem gc`). */
  gc(dryRun: boolean): Promise<GcReport> {
    return this.d.client.gc(dryRun);
  }

  events(job: JobStatus): Promise<ClusterEvent[]> {
    return readJobEvents(this.d.redis, this.d.keys, job.id, job.submittedAt);
  }

  async timeline(job: JobStatus): Promise<TimelineEntry[]> {
    return causalTimeline(await this.events(job));
  }

  outputHead(job: JobStatus, lines: number): Promise<string[]> {
    return headOutput(this.d.redis, this.d.keys, { jobId: job.id, round: job.round, partitions: job.partitions }, lines);
  }

  writeOutput(job: JobStatus, out: Writable): Promise<{ lines: number; bytes: number }> {
    return writeOutput(this.d.redis, this.d.keys, { jobId: job.id, round: job.round, partitions: job.partitions }, out);
  }

  /** The view, every master's own account of itself, the queues and the alerts; never throws. */
  async cluster(): Promise<ClusterStatus> {
    let view: ViewStatus | null = null;
    let error: string | null = null;
    try {
      view = await fetchJson<ViewStatus>(new URL('/status', this.d.viewUrl).href, { timeoutMs: 2000, secret: this.d.secret });
    } catch (err) {
      // A standby view service (another holds the lease), or one that cannot read Redis, answers with why it gives no view.
      error = err instanceof TandemError && err.code === 'unavailable'
        ? `the view service at ${this.d.viewUrl} gives no view: ${err.message}`
        : `the view service at ${this.d.viewUrl} does not answer (${(err as Error).message})`;
    }
    const urls = view ? view.servers.map((s) => s.name) : [];
    const masters = await Promise.all(urls.map(async (url): Promise<MasterProbe> => {
      try {
        const h = await fetchJson<MasterHealth>(new URL('/health', url).href, { timeoutMs: 1500, secret: this.d.secret });
        return { url, ok: true, role: h.role, jobs: h.jobs, replication: h.replication, alerts: h.alerts };
      } catch (err) {
        return { url, ok: false, error: (err as Error).message };
      }
    }));
    const redisMemory = await readRedisMemory(this.d.redis).catch(() => null);
    const reports = await readJobTypesReports(this.d.redis, this.d.keys, { prune: false }).catch(() => []);
    const workers = reports.flatMap((r) => (r.role === 'worker' && r.memory ? [{ name: r.name, memory: r.memory }] : []));
    // The masters' own alerts (Redis unreachable, Redis data lost), once each: both masters may raise the same.
    const alerts = [...new Set([...(error ? [error] : []), ...(view?.alerts ?? []), ...masters.flatMap((m) => m.alerts ?? [])])];
    return { viewUrl: this.d.viewUrl, view, error, masters, alerts, redisMemory, workers };
  }
}
