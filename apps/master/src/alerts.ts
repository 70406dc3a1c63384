/**
 * A master's alerts (what /health lists) with the kind of problem each one is, named by the code
 * that raises it: the text is for people, the kind is a bounded label for tandem_alerts (never a
 * job id or a URL), so a dashboard can count and alert on them.
 */

/** Every kind of alert a master raises, and who raises it. */
export const ALERT_KINDS = [
  /** main.ts: this master cannot reach Redis. */
  'redis_unreachable',
  /** main.ts: masters and workers disagree about the job types (jobs/src/report.ts). */
  'job_types',
  /** replication.ts: the view service gives this master no view. */
  'view_service',
  /** replication.ts: a newer view claimed the durable op log: this master stepped down. */
  'fenced',
  /** replication.ts: named primary, it cannot bring its state up to the durable log. */
  'log_restore',
  /** master.ts: Redis lost acknowledged data lately (data-loss.ts). */
  'data_loss',
  /** master.ts, primary: the Redis in use cannot promise to keep acknowledged ops (its fsync policy). */
  'durability',
  /** master.ts, primary: op-log batches reached fewer Redis replicas than TANDEM_LOG_REPLICAS in time. */
  'replica_wait',
] as const;

export type AlertKind = (typeof ALERT_KINDS)[number];

export interface Alert {
  kind: AlertKind;
  text: string;
}

/** The alerts of one kind, from their texts. */
export const alertsOf = (kind: AlertKind, texts: readonly string[]): Alert[] => texts.map((text) => ({ kind, text }));

/** What /health and a job's status show: the texts. */
export const alertTexts = (alerts: readonly Alert[]): string[] => alerts.map((a) => a.text);

/** How many alerts of each kind there are, every kind present (0 when none): a series never vanishes. */
export function alertCounts(alerts: readonly Alert[]): Record<AlertKind, number> {
  const counts = Object.fromEntries(ALERT_KINDS.map((k) => [k, 0])) as Record<AlertKind, number>;
  for (const a of alerts) counts[a.kind]++;
  return counts;
}
