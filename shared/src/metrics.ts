/**
 * Tandem's Prometheus metrics: every metric's name, type, help and labels, spelled here once, so the
 * processes, the README's table, the Grafana dashboard and the tests read the same names
 * (test/metrics-names.test.ts). Names follow Prometheus's rules: base units (seconds, bytes), `_total`
 * on counters, few labels with bounded values, never a job id as a label.
 *
 * `openMetrics(kind, enabled)` gives a process its registry with prom-client's default process
 * metrics and the instruments `kind` exports; with metrics off (TANDEM_METRICS=off) every instrument
 * is a no-op and GET /metrics answers 404, the baseline of the cost measurement.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isAuthorized } from './cluster-auth.ts';

export type ProcessKind = 'view-service' | 'master' | 'worker' | 'console';
export type MetricType = 'gauge' | 'counter' | 'histogram';

export interface MetricSpec {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
  /** The processes that export it. */
  on: readonly ProcessKind[];
  /** Histograms: bucket upper bounds, in the metric's unit. */
  buckets?: readonly number[];
}

const ALL: readonly ProcessKind[] = ['view-service', 'master', 'worker', 'console'];
/** Task durations: 1 ms to 10 minutes. */
const TASK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600];
/** An op's commit: 100 µs to 10 s (a Redis WAIT for a replica is bounded by TANDEM_LOG_REPLICA_WAIT_MS). */
const COMMIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** Every Tandem metric (the default process metrics come from prom-client and are not listed). */
export const METRICS = {
  jobs: { name: 'tandem_jobs', type: 'gauge', help: "Jobs in the primary master's state, by phase (map, reduce, done, failed, cancelled).", labels: ['phase'], on: ['master'] },
  tasks: { name: 'tandem_tasks', type: 'gauge', help: "BullMQ tasks by queue and state (waiting, prioritized, delayed, active), as the primary master reads them.", labels: ['queue', 'state'], on: ['master'] },
  tasksPending: { name: 'tandem_tasks_pending', type: 'gauge', help: 'Tasks a new worker could take now (waiting and prioritized, both queues): the autoscaling signal.', labels: [], on: ['master'] },
  taskDuration: { name: 'tandem_task_duration_seconds', type: 'histogram', help: 'One task attempt on a worker, from taking it to its result.', labels: ['queue', 'type'], on: ['worker'], buckets: TASK_BUCKETS },
  taskPart: { name: 'tandem_task_part_seconds', type: 'histogram', help: "The parts of a task attempt the worker times: reading its input, computing, writing its output.", labels: ['queue', 'type', 'part'], on: ['worker'], buckets: TASK_BUCKETS },
  taskAttempts: { name: 'tandem_task_attempts_total', type: 'counter', help: 'Task attempts a worker finished, by outcome (won: its output counts; lost: another attempt won; skipped; failed).', labels: ['queue', 'outcome'], on: ['worker'] },
  taskBytes: { name: 'tandem_task_bytes_total', type: 'counter', help: 'Bytes task attempts read from and wrote to Redis.', labels: ['direction'], on: ['worker'] },
  taskRecords: { name: 'tandem_task_records_total', type: 'counter', help: 'Records task attempts read (in) and emitted (out).', labels: ['direction'], on: ['worker'] },
  opCommit: { name: 'tandem_op_commit_seconds', type: 'histogram', help: "A batch of ops on the primary master, from proposed to applied (durable log, forward to the backup, apply).", labels: [], on: ['master'], buckets: COMMIT_BUCKETS },
  viewNumber: { name: 'tandem_view_number', type: 'gauge', help: 'The current view number, as this process knows it.', labels: [], on: ['view-service', 'master'] },
  viewChanges: { name: 'tandem_view_changes_total', type: 'counter', help: 'View changes this process has seen since it started.', labels: [], on: ['view-service', 'master'] },
  primary: { name: 'tandem_primary', type: 'gauge', help: 'Is this master the primary (1) or not (0); on the view service, the current view\'s primary.', labels: ['master'], on: ['view-service', 'master'] },
  redisRtt: { name: 'tandem_redis_rtt_seconds', type: 'gauge', help: "This process's last PING to Redis, round trip (taken at each scrape, at most 1 s; NaN when Redis did not answer).", labels: [], on: ALL },
  alerts: { name: 'tandem_alerts', type: 'gauge', help: 'Alerts the master raises now, by kind (the ones /health lists).', labels: ['kind'], on: ['master'] },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;

/** A process's metrics: its registry, and its instruments (no-ops when metrics are off). */
export class Metrics {
  readonly registry = new Registry();
  private readonly made = new Map<MetricKey, Gauge | Counter | Histogram>();

  constructor(readonly kind: ProcessKind, readonly enabled: boolean) {
    if (!enabled) return;
    this.registry.setDefaultLabels({ process: kind });
    collectDefaultMetrics({ register: this.registry, prefix: '' });
  }

  private make(key: MetricKey, collect?: () => void | Promise<void>) {
    const spec: MetricSpec = METRICS[key];
    if (!spec.on.includes(this.kind)) throw new Error(`metric ${spec.name} is not one a ${this.kind} exports (shared/src/metrics.ts)`);
    const existing = this.made.get(key);
    if (existing) return existing;
    const common = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: this.enabled ? [this.registry] : [] };
    const m = spec.type === 'gauge'
      ? new Gauge({ ...common, ...(collect ? { collect } : {}) })
      : spec.type === 'counter'
        ? new Counter(common)
        : new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] });
    this.made.set(key, m);
    return m;
  }

  /** The gauge `key`; `collect` runs at each scrape (not at all with metrics off). */
  gauge(key: MetricKey, collect?: (g: Gauge) => void | Promise<void>): Gauge {
    const g: Gauge = this.make(key, collect && (() => (this.enabled ? collect(g) : undefined))) as Gauge;
    return g;
  }

  counter(key: MetricKey): Counter {
    return this.make(key) as Counter;
  }

  histogram(key: MetricKey): Histogram {
    return this.make(key) as Histogram;
  }

  /** tandem_redis_rtt_seconds, taken by `ping` at each scrape, at most `timeoutMs`. */
  redisRtt(ping: () => Promise<unknown>, timeoutMs = 1000): void {
    this.gauge('redisRtt', async (g) => {
      const t0 = process.hrtime.bigint();
      const ok = await readWithin(async () => (await ping(), true), timeoutMs);
      g.set(ok ? Number(process.hrtime.bigint() - t0) / 1e9 : Number.NaN);
    });
  }

  /** The text a scrape gets. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * What `read` resolves to, or undefined when it fails or takes longer than `timeoutMs`: a scrape
 * reading Redis must not hang while Redis is away (a connection with an offline queue waits).
 */
export async function readWithin<T>(read: () => Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([read().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Answers GET /metrics for `metrics` (a plain Node handler; express takes it as a route): with a
 * cluster secret, only a request carrying it as a bearer token; 404 when metrics are off.
 */
export function metricsHandler(metrics: Metrics, secret: string | undefined) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const send = (status: number, type: string, body: string) => {
      res.statusCode = status;
      res.setHeader('content-type', type);
      res.end(body);
    };
    const json = (status: number, code: string, error: string) => send(status, 'application/json; charset=utf-8', JSON.stringify({ ok: false, code, error }));
    if (!metrics.enabled) return json(404, 'not_found', 'metrics are off in this process (TANDEM_METRICS=off)');
    if (!isAuthorized(req, secret)) {
      res.setHeader('www-authenticate', 'Bearer realm="tandem"');
      return json(401, 'unauthorized', '/metrics needs the cluster secret: Authorization: Bearer <TANDEM_SECRET> (Prometheus: authorization.credentials_file)');
    }
    metrics.scrape().then(
      (text) => send(200, metrics.registry.contentType, text),
      (err: Error) => json(503, 'unavailable', `metrics could not be collected: ${err.message}`),
    );
  };
}
