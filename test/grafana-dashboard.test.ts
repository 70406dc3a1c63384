// deploy/grafana/tandem.json, the Grafana dashboard, against shared/src/metrics.ts: every query is
// PromQL that Prometheus's own grammar parses; every metric it reads is one METRICS names (a
// histogram's _bucket, _sum or _count series counted as the histogram) or one of prom-client's
// default process metrics, which a real registry is scraped for; every label it matches or groups
// by is one those metrics carry; and every METRICS entry is on some panel, so the dashboard covers
// them all. Every panel and query takes its datasource from the ${DS_PROMETHEUS} variable.
// (That every METRICS entry exists on a live cluster is the live metrics test's part.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { METRICS, Metrics, type MetricSpec } from '../shared/src/metrics.ts';

interface Target { refId: string; expr: string; datasource?: { type?: string; uid?: string } }
interface Panel { id: number; type: string; title: string; datasource?: { type?: string; uid?: string }; targets?: Target[]; panels?: Panel[]; gridPos?: object }

const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/tandem.json'), 'utf8')) as { title: string; uid: string; panels: Panel[]; templating: { list: { name: string; type: string; query: string }[] } };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, target: t })));

/** prom-client's default metrics the dashboard may read (collectDefaultMetrics, no prefix). */
const DEFAULTS = ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes'];
/** Labels every series has: the registry's default label, and Prometheus's target labels; `le` of histogram buckets. */
const COMMON_LABELS = ['process', 'instance', 'job', 'le'];

const specs: MetricSpec[] = Object.values(METRICS);
const byName = new Map(specs.map((s) => [s.name, s]));

/** A series' metric: a histogram's _bucket, _sum and _count are the histogram. */
function metricOf(series: string): string {
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  return m && byName.get(m[1])?.type === 'histogram' ? m[1] : series;
}

/** Grafana's interval variables, as durations Prometheus's grammar takes. */
const withDurations = (expr: string) => expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m');

/** What an expression reads: its series' names, the labels its selectors match and it groups by, its syntax errors. */
function read(expr: string): { series: string[]; matched: string[]; grouped: string[]; errors: string[] } {
  const text = withDurations(expr);
  const out = { series: [] as string[], matched: [] as string[], grouped: [] as string[], errors: [] as string[] };
  const tree = parser.parse(text);
  tree.iterate({
    enter: (n) => {
      const slice = text.slice(n.from, n.to);
      if (n.type.isError) out.errors.push(`at ${n.from}: "${text.slice(Math.max(0, n.from - 10), n.to + 10)}"`);
      else if (n.name === 'Identifier' && n.node.parent?.name === 'VectorSelector') out.series.push(slice);
      else if (n.name === 'LabelName' && n.node.parent?.name === 'GroupingLabels') out.grouped.push(slice);
      else if (n.name === 'LabelName') out.matched.push(slice);
    },
  });
  return out;
}

test('the dashboard takes its Prometheus from the DS_PROMETHEUS variable, on every panel and query', () => {
  assert.equal(dashboard.uid, 'tandem');
  const ds = dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
  assert.deepEqual(ds && { type: ds.type, query: ds.query }, { type: 'datasource', query: 'prometheus' });
  assert.ok(queries.length >= 20, `only ${queries.length} queries`);
  for (const p of panels) {
    assert.ok(p.gridPos, `panel "${p.title}" has a place on the grid`);
    if (p.type === 'row') continue;
    assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, `panel "${p.title}"`);
    assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has queries`);
  }
  for (const { panel, target } of queries) assert.deepEqual(target.datasource, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, `panel "${panel.title}" query ${target.refId}`);
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
});

test("every query parses as PromQL and reads only METRICS' names (or prom-client's defaults), with their labels", () => {
  const bad: string[] = [];
  for (const { panel, target } of queries) {
    const where = `panel "${panel.title}" query ${target.refId} (${target.expr})`;
    const r = read(target.expr);
    for (const e of r.errors) bad.push(`${where}: PromQL syntax error ${e}`);
    if (r.series.length === 0) bad.push(`${where}: reads no metric`);
    const metrics = r.series.map(metricOf);
    const labels = new Set([...COMMON_LABELS, ...metrics.flatMap((m) => byName.get(m)?.labels ?? [])]);
    for (const m of metrics) if (!byName.has(m) && !DEFAULTS.includes(m)) bad.push(`${where}: ${m} is not in METRICS (shared/src/metrics.ts) nor a prom-client default`);
    for (const l of [...r.matched, ...r.grouped]) if (!labels.has(l)) bad.push(`${where}: label "${l}" is not one of ${metrics.join(', ')}'s (${[...labels].join(', ')})`);
  }
  assert.deepEqual(bad, []);
});

test('the parse catches what it must: a syntax error, a histogram suffix, a grouping label', () => {
  assert.notDeepEqual(read('sum by (le (rate(x[5m]))').errors, [], 'an unclosed parenthesis is an error');
  const r = read('histogram_quantile(0.9, sum by (le, queue) (rate(tandem_task_duration_seconds_bucket{type="wordcount"}[$__rate_interval])))');
  assert.deepEqual(r, { series: ['tandem_task_duration_seconds_bucket'], matched: ['type'], grouped: ['le', 'queue'], errors: [] });
  assert.equal(metricOf('tandem_task_duration_seconds_bucket'), 'tandem_task_duration_seconds');
  assert.equal(metricOf('tandem_tasks_count'), 'tandem_tasks_count', 'only a histogram loses its suffix');
});

test('every METRICS entry is on some panel', () => {
  const read_ = new Set(queries.flatMap(({ target }) => read(target.expr).series.map(metricOf)));
  const missing = specs.filter((s) => !read_.has(s.name)).map((s) => s.name);
  assert.deepEqual(missing, [], 'metrics no panel of deploy/grafana/tandem.json shows');
});

test("the prom-client defaults it reads are what a Tandem process's registry exports", async () => {
  const m = new Metrics('worker', true);
  const names = new Set((await m.scrape()).split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]));
  for (const d of DEFAULTS) assert.ok(names.has(d), `${d} is not in a registry's scrape (${[...names].filter((n) => !n.startsWith('tandem_')).join(', ')})`);
});
