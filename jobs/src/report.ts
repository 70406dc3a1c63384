/**
 * Which job types each process runs. Every master and worker writes what its registry loaded from
 * the jobs folder (each type's name and the content hash of its file) into its own Redis key with a
 * TTL, again every few seconds, so a process that stops drops out; the primary master reads them
 * all for `GET /job-types` and turns a type missing on, or different in, some process into an alert.
 */
import type { RedisConnection } from '@tandem/shared';
import type { JobTypesReport, Keys, ProcessMemory, TaskCounters } from '@tandem/shared';
import type { Registry } from './registry.ts';

/** How often a process re-reads its jobs folder and writes its report; the report lives three times as long. */
export const REPORT_EVERY_MS = 2000;

/**
 * Writes this process's report now and every `everyMs` (re-reading the jobs folder first); returns the
 * function that stops it. A worker adds its memory and its task counters (which it increments as
 * tasks finish), for the console's cluster page: the report is already per process and short-lived,
 * so one key per process says all of it.
 */
export function startJobTypesReport(
  redis: RedisConnection, keys: Keys, role: JobTypesReport['role'], name: string, registry: Registry,
  opts: { everyMs?: number; memory?: () => ProcessMemory; counters?: TaskCounters } = {},
): () => void {
  const everyMs = opts.everyMs ?? REPORT_EVERY_MS;
  const key = keys.jobTypesReport(role, name);
  const member = JSON.stringify([role, name]);
  const write = async () => {
    await registry.refresh();
    const report: JobTypesReport = { role, name, types: registry.hashes(), problem: registry.problem(), at: Date.now(), ...(opts.memory ? { memory: opts.memory() } : {}), ...(opts.counters ? { counters: { ...opts.counters } } : {}) };
    await redis.multi().set(key, JSON.stringify(report), 'PX', everyMs * 3).zadd(keys.jobTypesIndex(), report.at, member).exec();
  };
  const tick = () => void write().catch(() => undefined); // Redis down: the report lapses, and comes back with it.
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    void redis.multi().del(key).zrem(keys.jobTypesIndex(), member).exec().catch(() => undefined);
  };
}

/** Adds one finished task attempt, and the bytes it read and wrote, to a worker's counters. */
export function countTask(c: TaskCounters, done: { bytesIn: number; bytesOut: number }): void {
  c.tasks += 1;
  c.bytesIn += done.bytesIn;
  c.bytesOut += done.bytesOut;
}

/**
 * Every live process's report, masters first, then by name. The index names who has reported; a
 * member whose report key has expired (a process that stopped without saying so) is removed, so
 * no clock is compared across hosts; a reader that is not the primary (the console) passes
 * `prune: false` and leaves that to it.
 */
export async function readJobTypesReports(redis: RedisConnection, keys: Keys, opts: { prune?: boolean } = {}): Promise<JobTypesReport[]> {
  const index = keys.jobTypesIndex();
  const members = await redis.zrange(index, 0, -1);
  if (members.length === 0) return [];
  const values = await redis.mget(...members.map((m) => {
    const [role, name] = JSON.parse(m) as [string, string];
    return keys.jobTypesReport(role, name);
  }));
  const gone = members.filter((_, i) => values[i] === null);
  if (gone.length > 0 && opts.prune !== false) await redis.zrem(index, ...gone);
  const reports: JobTypesReport[] = [];
  for (const v of values) {
    if (!v) continue;
    try {
      reports.push(JSON.parse(v) as JobTypesReport);
    } catch {
      // Not ours to judge: a report is only ever written whole.
    }
  }
  return reports.sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name) : a.role === 'master' ? -1 : 1));
}

const who = (r: JobTypesReport) => `${r.role} ${r.name}`;

/**
 * The mismatches between processes, in words: a type that some process runs and another lacks, a
 * type whose file differs (by hash) between processes, a process whose jobs folder does not load.
 */
export function jobTypesAlerts(reports: JobTypesReport[]): string[] {
  const alerts: string[] = [];
  const names = [...new Set(reports.flatMap((r) => Object.keys(r.types)))].sort();
  for (const type of names) {
    const missing = reports.filter((r) => !(type in r.types));
    const byHash = new Map<string, JobTypesReport[]>();
    for (const r of reports) if (type in r.types) byHash.set(r.types[type], [...(byHash.get(r.types[type]) ?? []), r]);
    if (byHash.size > 1) {
      const versions = [...byHash].map(([hash, rs]) => `${hash} on ${rs.map(who).join(', ')}`).join('; ');
      alerts.push(`job type "${type}" differs between processes (its file's hash: ${versions}); give every master and worker the same jobs folder`);
    }
    if (missing.length) {
      alerts.push(`job type "${type}" is missing on ${missing.map(who).join(', ')} (loaded by ${reports.filter((r) => type in r.types).map(who).join(', ')}); its tasks fail there`);
    }
  }
  for (const r of reports) if (r.problem) alerts.push(`${who(r)} does not load all of its jobs folder: ${r.problem}`);
  return alerts;
}
