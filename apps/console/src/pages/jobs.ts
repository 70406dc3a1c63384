/** The jobs list, the new-job form and a page per job (live progress, timelines, output). */
import { bytes, isFinishedPhase, roundProgress, type DatasetMeta, type JobStatus, type PhaseCounters, type TimelineEntry } from '@tandem/shared';
import { html, raw, type Html } from '../html.ts';
import { attemptsFromEvents, convergenceSvg, taskTimelineSvg } from '../charts.ts';
import { ConsoleError } from '../errors.ts';
import type { JobTypeInfo } from '../platform.ts';
import { bar, elapsed, errorBox, jobsTable, phaseBadge, when } from './layout.ts';

export function jobsPage(jobs: JobStatus[]): Html {
  return html`<h1>Jobs</h1>
<p class="actions"><a class="button" href="/jobs/new">Start a job</a></p>
<div id="live" data-fragment="/jobs?fragment=1" data-every="3000">${jobsTable(jobs)}</div>`;
}

/** Parameter fields the form offers for the built-in types that take any; other types use the free-form box. */
export const PARAM_FIELDS: Record<string, { key: string; label: string; placeholder?: string; required?: boolean }[]> = {
  grep: [
    { key: 'pattern', label: 'Pattern (a regular expression)', required: true },
    { key: 'flags', label: 'Flags (any of i, m, s, u)' },
  ],
  pagerank: [
    { key: 'iterations', label: 'Iterations at most', placeholder: '20' },
    { key: 'damping', label: 'Damping factor, between 0 and 1', placeholder: '0.85' },
    { key: 'tol', label: 'Stop when the L1 change between iterations is below', placeholder: '1e-8' },
  ],
};

export interface JobForm {
  type?: string;
  dataset?: string;
  partitions?: string;
  fields?: Record<string, string>;
  params?: string;
}

/**
 * A job's parameters from the form: the chosen type's own fields (named `p.<type>.<key>`, so the
 * fields of the types not chosen are ignored) and `key=value` lines of the free-form box.
 */
export function formParams(type: string, body: Record<string, unknown>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    const prefix = `p.${type}.`;
    if (name.startsWith(prefix) && typeof value === 'string' && value.trim() !== '') params[name.slice(prefix.length)] = value.trim();
  }
  const lines = typeof body.params === 'string' ? body.params.split(/\r?\n/) : [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConsoleError(400, `other parameters, line ${i + 1}: expected key=value, got ${JSON.stringify(line.trim())}`);
    params[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  });
  return params;
}

export function newJobPage(csrf: string, types: JobTypeInfo[], datasets: DatasetMeta[], form: JobForm, error?: string): Html {
  const chosen = form.type ?? types.find((t) => t.name === 'wordcount')?.name ?? types[0]?.name;
  return html`<h1>Start a job</h1>
${errorBox(error)}
${datasets.length === 0 ? html`<p class="warn">There are no datasets yet: <a href="/datasets#upload">upload one</a> first.</p>` : ''}
<form method="post" action="/jobs" class="form" id="new-job">
  <input type="hidden" name="_csrf" value="${csrf}">
  <label>Job type <select name="type" id="job-type">
    ${types.map((t) => html`<option value="${t.name}" data-formats="${t.formats.join(',')}"${t.name === chosen ? html` selected` : ''}>${t.name}: ${t.description}</option>`)}
  </select></label>
  <label>Dataset <select name="dataset" id="job-dataset">
    ${datasets.map((d) => html`<option value="${d.name}" data-format="${d.format}"${d.name === form.dataset ? html` selected` : ''}>${d.name} (${d.format}, ${bytes(d.bytes)})</option>`)}
  </select></label>
  <label>Partitions <input name="partitions" type="number" min="1" max="1024" value="${form.partitions ?? ''}" placeholder="automatic: by input size; for iterative jobs one per worker"></label>
  ${Object.entries(PARAM_FIELDS).map(([type, fields]) => html`<fieldset class="params" data-for="${type}"${type === chosen ? '' : html` hidden`}>
    <legend>${type} parameters</legend>
    ${fields.map((f) => html`<label>${f.label} <input name="p.${type}.${f.key}" value="${form.fields?.[`p.${type}.${f.key}`] ?? ''}" placeholder="${f.placeholder ?? ''}"${f.required ? html` data-required` : ''}></label>`)}
  </fieldset>`)}
  <label>Other parameters <textarea name="params" rows="3" placeholder="key=value, one per line (for job types from TANDEM_JOBS_DIR)">${form.params ?? ''}</textarea></label>
  <button type="submit">Start</button>
</form>`;
}

function countersTable(c: { map: PhaseCounters; reduce: PhaseCounters }): Html {
  const row = (name: string, x: PhaseCounters) => html`<tr><th>${name}</th><td>${x.recordsIn.toLocaleString('en')}</td><td>${x.recordsOut.toLocaleString('en')}</td>
    <td>${bytes(x.bytesIn)}</td><td>${bytes(x.bytesOut)}</td><td>${x.attempts}</td><td>${x.failures}</td><td>${x.speculative}</td></tr>`;
  return html`<table class="counters">
<thead><tr><th></th><th>Records in</th><th>Records out</th><th>Bytes in</th><th>Bytes out</th><th>Attempts</th><th>Failed attempts</th><th>Backup attempts</th></tr></thead>
<tbody>${row('map', c.map)}${row('reduce', c.reduce)}</tbody></table>`;
}

function progress(s: JobStatus): Html {
  if (s.plan) {
    const p = roundProgress(s);
    const last = s.rounds[s.rounds.length - 1];
    const where = { finished: s.phase, output: 'writing the output', setup: `set-up round ${p.step} of ${s.plan.setup}`, iteration: `iteration ${p.step}` }[p.stage];
    return html`${bar(p.done, s.plan.iterations, `${p.done} of at most ${s.plan.iterations} iterations (${where})`)}
${bar(s.reduces.committed, s.reduces.total, `round ${s.round}: ${s.maps.total ? `map ${s.maps.committed}/${s.maps.total}, ` : ''}reduce ${s.reduces.committed}/${s.reduces.total} tasks`)}
<p>L1 change in the last iteration: <b>${p.delta !== null ? p.delta.toExponential(3) : '–'}</b> (stops below ${s.plan.tol})${last?.stats.nodes !== undefined ? `; ${last.stats.nodes.toLocaleString('en')} nodes` : ''}</p>`;
  }
  return html`${bar(s.maps.committed, s.maps.total, `map: ${s.maps.committed}/${s.maps.total} tasks (${s.maps.running} running)`)}
${bar(s.reduces.committed, s.reduces.total, `reduce: ${s.reduces.committed}/${s.reduces.total} tasks (${s.reduces.running} running)`)}`;
}

/** The part of a job's page that changes: swapped in place by the page's script as the job moves. */
export function jobLive(csrf: string, s: JobStatus, timeline: TimelineEntry[], output: string[] | null, now = Date.now()): Html {
  const finished = isFinishedPhase(s.phase);
  const attempts = attemptsFromEvents(timeline.map((t) => t.event), finished, now);
  const shown = timeline.slice(-300);
  return html`<section class="status">
  <p>${phaseBadge(s.phase)} ${s.type} on <a href="/datasets/${encodeURIComponent(s.dataset)}">${s.dataset}</a>, ${s.partitions} reducer${s.partitions === 1 ? '' : 's'}, submitted ${when(s.submittedAt)}, ${finished ? 'took' : 'running for'} <b>${elapsed(s, now)}</b>.</p>
  ${Object.keys(s.params).length ? html`<p class="params">Parameters: ${Object.entries(s.params).map(([k, v]) => html`<code>${k}=${String(v)}</code> `)}</p>` : ''}
  ${errorBox(s.error)}
  ${s.alerts.length ? html`<ul class="alerts">${s.alerts.map((a) => html`<li>${a}</li>`)}</ul>` : ''}
  ${progress(s)}
  ${finished ? '' : html`<form method="post" action="/jobs/${encodeURIComponent(s.id)}/cancel" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><button class="danger">Cancel the job</button></form>`}
</section>
<h2>Counters</h2>
${countersTable(s.counters)}
${s.plan ? html`<h2>Convergence</h2><figure>${raw(convergenceSvg(s.rounds.slice(s.plan.setup).map((r) => r.stats.delta ?? 0), s.plan.tol))}<figcaption>L1 change between consecutive rank vectors, per iteration (log scale); the dashed line is the tolerance.</figcaption></figure>` : ''}
<h2>Tasks</h2>
<figure class="wide">${raw(taskTimelineSvg(attempts, s.submittedAt, s.finishedAt ?? now))}
<figcaption>One lane per worker, one bar per attempt: <span class="key map">map</span> <span class="key reduce">reduce</span> <span class="key failed">failed or lost</span> <span class="key discarded">output discarded</span>; a dashed outline is a backup attempt.</figcaption></figure>
${output !== null ? html`<h2>Output</h2>
<p><a class="button" href="/jobs/${encodeURIComponent(s.id)}/output" download>Download the whole output</a></p>
<pre class="head">${output.join('\n')}</pre>${output.length === 20 ? html`<p class="hint">The first 20 lines.</p>` : ''}` : ''}
<h2>Events</h2>
<details id="events"${timeline.length <= 40 ? html` open` : ''}>
<summary>${timeline.length} event${timeline.length === 1 ? '' : 's'} from the master and the workers, in causal order</summary>
<p class="hint">Ordered by Lamport time; "concurrent with" lists earlier events that neither caused this one nor were caused by it.${timeline.length > shown.length ? ` Showing the last ${shown.length}; all are at /api/jobs/${s.id}/events.` : ''}</p>
<table class="events"><thead><tr><th>#</th><th>Lamport</th><th>Process</th><th>Event</th><th>Task</th><th>Detail</th><th>Concurrent with</th></tr></thead>
<tbody>${shown.map((t, i) => {
    const n = timeline.length - shown.length + i + 1;
    return html`<tr><td>${n}</td><td>${t.event.lamport}</td><td>${t.event.proc}</td><td>${t.event.what}</td><td>${t.event.task ?? ''}</td><td>${t.event.detail ?? ''}</td><td>${t.concurrentWith.length ? t.concurrentWith.map((j) => `#${j + 1}`).join(' ') : ''}</td></tr>`;
  })}</tbody></table>
</details>`;
}

export function jobPage(s: JobStatus, body: Html): Html {
  return html`<h1>Job <code>${s.id}</code></h1>
<div id="live" data-job="${s.id}" data-version="${s.version}" data-finished="${isFinishedPhase(s.phase) ? '1' : ''}" data-fragment="/jobs/${encodeURIComponent(s.id)}?fragment=1">${body}</div>`;
}
