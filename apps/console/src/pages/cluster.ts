/** The overview (home) and cluster pages: the view, the masters, the queues, the alerts. */
import { bytes, type DatasetMeta, type GcReport, type JobStatus, type QueueCounts } from '@tandem/shared';
import { timeChartSvg } from '../charts.ts';
import { html, raw, type Html } from '../html.ts';
import type { ClusterStatus } from '../platform.ts';
import type { ThroughputPoint } from '../throughput.ts';
import { alertList, jobsTable } from './layout.ts';

function queueTotals(c: ClusterStatus): { waiting: number; active: number; failed: number } {
  const q: QueueCounts[] = Object.values(c.view?.queues?.queues ?? {});
  const sum = (k: 'waiting' | 'active' | 'failed') => q.reduce((n, x) => n + (x[k] ?? 0), 0);
  return { waiting: sum('waiting'), active: sum('active'), failed: sum('failed') };
}

/** A master's or service's URL: wrapped to fit its card or cell, and whole in its title. */
const address = (url: string): Html => (url ? html`<code class="url" title="${url}">${url}</code>` : html`<code>none</code>`);

/** The live part of the overview: swapped in place every few seconds by the page's script. */
export function overview(c: ClusterStatus, jobs: JobStatus[], datasets: DatasetMeta[]): Html {
  const v = c.view;
  const t = queueTotals(c);
  const running = jobs.filter((j) => j.phase === 'map' || j.phase === 'reduce').length;
  return html`<section class="cards">
  <div class="card"><h2>Masters</h2>
    ${v ? html`<p>view <b>${v.view.viewnum}</b>${v.acked ? '' : html` <span class="warn">(not yet acknowledged)</span>`}</p>
    <p>primary ${address(v.view.primary)}<br>backup ${address(v.view.backup)}</p>` : html`<p class="warn">${c.error ?? 'view service unreachable'}</p>`}
  </div>
  <div class="card"><h2>Workers</h2><p class="big">${v?.queues?.workersOnline ?? '?'}</p><p>online</p></div>
  <div class="card"><h2>Tasks</h2><p class="big">${t.active}</p><p>running, ${t.waiting} waiting, ${t.failed} failed</p></div>
  <div class="card"><h2>Jobs</h2><p class="big">${running}</p><p>running of ${jobs.length}</p></div>
  <div class="card"><h2>Datasets</h2><p class="big">${datasets.length}</p><p><a href="/datasets">upload or browse</a></p></div>
</section>
${alertList(c.alerts)}
<h2>Recent jobs</h2>
${jobsTable(jobs.slice(0, 10))}
${jobs.length > 10 ? html`<p><a href="/jobs">All ${jobs.length} jobs</a></p>` : ''}`;
}

export function overviewPage(body: Html): Html {
  return html`<h1>Overview</h1>
<p class="actions"><a class="button" href="/datasets#upload">Upload a dataset</a> <a class="button" href="/jobs/new">Start a job</a></p>
<div id="live" data-fragment="/?fragment=1" data-every="3000">${body}</div>`;
}

const ago = (ms: number) => (ms < 1000 ? `${ms} ms ago` : `${(ms / 1000).toFixed(1)} s ago`);

/** A number per second with a sensible precision: 12, 3.4, 0.25. */
const perS = (v: number) => (v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v === 0 ? '0' : v.toFixed(2));

/**
 * The last minutes as three charts: task attempts finished per second, megabytes (10^6 bytes) per
 * second read and written by them, and the queues' waiting and running tasks; each caption says now and the peak.
 */
export function throughputCharts(points: ThroughputPoint[], now: number, windowMs: number, everyMs: number): Html {
  const times = points.map((p) => p.at);
  const col = (f: (p: ThroughputPoint) => number) => points.map(f);
  const last = points.at(-1);
  const peak = (f: (p: ThroughputPoint) => number) => Math.max(0, ...points.map(f));
  const rate = (v: number) => `${Number((v / 1e6).toPrecision(3))} MB/s`;
  const minutes = Math.round(windowMs / 60_000);
  const chart = (id: string, title: string, svg: string, caption: string) =>
    html`<figure id="${id}"><figcaption><b>${title}</b>: ${caption}</figcaption>${raw(svg)}</figure>`;
  return html`<h2>Throughput</h2>
<p class="hint">The last ${minutes} minutes, a sample every ${everyMs / 1000} s, from the workers' reports and the queues.</p>
<div class="charts">
${chart('chart-tasks', 'Tasks per second', timeChartSvg('task attempts finished per second', times, [{ name: 'finished', color: '#4e79a7', values: col((p) => p.tasksPerS) }], now, windowMs, perS),
  last ? `now ${perS(last.tasksPerS)}, peak ${perS(peak((p) => p.tasksPerS))}` : 'no sample yet')}
${chart('chart-bytes', 'MB per second', timeChartSvg('bytes per second read and written by tasks', times, [
    { name: 'read', color: '#59a14f', values: col((p) => p.bytesInPerS) },
    { name: 'written', color: '#f28e2b', values: col((p) => p.bytesOutPerS) },
  ], now, windowMs, rate),
  last ? `now ${rate(last.bytesInPerS)} read, ${rate(last.bytesOutPerS)} written; peak ${rate(peak((p) => p.bytesInPerS + p.bytesOutPerS))} in all` : 'no sample yet')}
${chart('chart-queues', 'Queue depth', timeChartSvg('tasks waiting and running', times, [
    { name: 'waiting', color: '#e15759', values: col((p) => p.waiting) },
    { name: 'running', color: '#4e79a7', values: col((p) => p.running) },
  ], now, windowMs, (v) => String(Math.round(v * 10) / 10)),
  last ? `now ${last.waiting} waiting, ${last.running} running; peak ${peak((p) => p.waiting)} waiting` : 'no sample yet')}
</div>`;
}

/** The live part of the cluster page. */
export function cluster(c: ClusterStatus, charts?: Html): Html {
  const v = c.view;
  const health = new Map(c.masters.map((m) => [m.url, m]));
  const queues = v?.queues;
  return html`${alertList(c.alerts)}
<h2>View</h2>
${v ? html`<table class="kv">
  <tr><th>View number</th><td>${v.view.viewnum}</td></tr>
  <tr><th>Primary</th><td>${address(v.view.primary)}</td></tr>
  <tr><th>Backup</th><td>${address(v.view.backup)}</td></tr>
  <tr><th>Acknowledged by the primary</th><td>${v.acked ? 'yes' : html`<span class="warn">no${v.waitingForAckMs !== null ? `, for ${ago(v.waitingForAckMs)}` : ''}</span>`}</td></tr>
  <tr><th>View service</th><td>${address(c.viewUrl)}</td></tr>
</table>` : html`<p class="error">${c.error}</p>`}
<h2>Masters</h2>
${v && v.servers.length ? html`<div class="scroll"><table>
<thead><tr><th>Master</th><th>Role in the view</th><th>Pinging</th><th>Last ping</th><th>Says it is</th><th>Jobs held</th><th>Forwarding to the backup</th></tr></thead>
<tbody>${v.servers.map((s) => {
    const h = health.get(s.name);
    return html`<tr><td>${address(s.name)}</td><td>${s.role}</td><td>${s.alive ? 'yes' : html`<span class="warn">no</span>`}${s.restarted ? ' (restarted)' : ''}</td>
  <td>${ago(s.lastPingAgoMs)}</td><td>${h?.ok ? h.role : html`<span class="warn">${h?.error ?? 'unreachable'}</span>`}</td><td>${h?.jobs ?? ''}</td>
  <td>${h?.replication?.meanMs != null ? `${h.replication.batches} batches, ${h.replication.meanMs.toFixed(2)} ms each` : ''}</td></tr>`;
  })}</tbody></table></div>` : html`<p class="empty">No master has pinged the view service.</p>`}
<h2>Queues</h2>
${queues ? html`<p>${queues.workersOnline} worker${queues.workersOnline === 1 ? '' : 's'} online; ${queues.stalled} stall${queues.stalled === 1 ? '' : 's'} seen since the view service started.${queues.error ? html` <span class="warn">${queues.error}</span>` : ''}</p>
<div class="scroll"><table>
<thead><tr><th>Queue</th><th>Waiting</th><th>Running</th><th>Delayed</th><th>Completed</th><th>Failed</th></tr></thead>
<tbody>${Object.entries(queues.queues).map(([name, q]) => html`<tr><td>${name}</td><td>${q.waiting}</td><td>${q.active}</td><td>${q.delayed}</td><td>${q.completed}</td><td>${q.failed}</td></tr>`)}</tbody>
</table></div>
<p><a href="/queues/">Every task in bull-board</a></p>` : html`<p class="empty">No queue report yet.</p>`}
${charts ?? ''}
${memory(c)}`;
}

/** Redis's memory and each worker's: where a job's data and a worker's caches show up. */
function memory(c: ClusterStatus): Html {
  const m = c.redisMemory;
  return html`<h2>Memory</h2>
${m ? html`<table class="kv" id="redis-memory">
  <tr><th>Redis used</th><td>${bytes(m.used)}</td></tr>
  <tr><th>Redis maxmemory</th><td>${m.maxmemory > 0 ? bytes(m.maxmemory) : html`none set${m.system > 0 ? ` (machine: ${bytes(m.system)})` : ''}`}</td></tr>
  <tr><th>Redis peak</th><td>${bytes(m.peak)}</td></tr>
</table>` : html`<p class="warn">Redis does not answer.</p>`}
${c.workers.length ? html`<div class="scroll"><table id="worker-memory">
<thead><tr><th>Worker</th><th>RSS</th><th>Heap used</th><th>Outside the heap</th><th>Caches (of their budget)</th></tr></thead>
<tbody>${c.workers.map((w) => html`<tr><td><code>${w.name}</code></td><td>${bytes(w.memory.rss)}</td><td>${bytes(w.memory.heapUsed)}</td><td>${bytes(w.memory.external)}</td><td>${bytes(w.memory.cacheBytes)} of ${bytes(w.memory.cacheLimit)}</td></tr>`)}</tbody>
</table></div>` : html`<p class="empty">No worker has reported its memory.</p>`}`;
}

/** What a gc did (or, dry, would do), in a sentence and its largest jobs. */
function gcResult(r: GcReport): Html {
  return html`<div class="gc-report" role="status"><p>${r.dryRun ? 'Would free' : 'Freed'} <b>${r.keys}</b> keys (<b>${bytes(r.bytes)}</b>) of ${r.orphanJobs} job${r.orphanJobs === 1 ? '' : 's'} that no job in the table owns.</p>
${r.jobs.length ? html`<table><thead><tr><th>Job</th><th>Keys</th><th>Bytes</th></tr></thead><tbody>${r.jobs.map((j) => html`<tr><td><code>${j.jobId}</code></td><td>${j.keys}</td><td>${bytes(j.bytes)}</td></tr>`)}</tbody></table>` : ''}</div>`;
}

export function clusterPage(body: Html, csrf: string, gc?: GcReport): Html {
  return html`<h1>Cluster</h1>
<div id="live" data-fragment="/cluster?fragment=1" data-every="2000">${body}</div>
<h2>Garbage collection</h2>
<p class="hint">Job data in Redis that no job in the master's table owns: jobs lost with a master, clean-ups cut short. The same as <code>tandem gc</code>.</p>
<form method="post" action="/cluster/gc" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="dryRun" value="1"><button>List what gc would free</button></form>
<form method="post" action="/cluster/gc" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><button class="danger">Free it</button></form>
${gc ? gcResult(gc) : ''}`;
}
