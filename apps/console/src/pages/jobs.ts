/** The jobs list, the new-job form and a page per job (live progress, timelines, output). */
import {
  GENERIC_STAGES, PARTITIONS, bytes, isFinishedPhase, outputLostText, partitionRuleText, roundName, roundProgress, shownPhase, verifyText,
  type DatasetMeta, type StageNames, type JobStatus, type JobTypeDescription, type ParamDescription, type PhaseCounters, type TimelineEntry,
} from '@tandem/shared';
import { html, raw, type Html } from '../html.ts';
import { attemptsFromEvents, convergenceCaption, convergenceSvg, taskTimelineSvg } from '../charts.ts';
import { bar, elapsed, errorBox, jobsTable, phaseBadge, when } from './layout.ts';
import { requestFields } from '../request-ids.ts';
import type { RequestIds } from '@tandem/shared';

export function jobsPage(jobs: JobStatus[]): Html {
  return html`<h1>Jobs</h1>
<p class="actions"><a class="button" href="/jobs/new">Start a job</a></p>
<div id="live" data-fragment="/jobs?fragment=1" data-every="3000">${jobsTable(jobs)}</div>`;
}

export interface JobForm {
  type?: string;
  dataset?: string;
  partitions?: string;
  /** Run every task twice and compare (docs/DESIGN.md §3.6). */
  verify?: boolean;
  /** The posted parameter fields, by field name (`p.<type>.<parameter>`). */
  fields?: Record<string, string>;
}

/** A parameter's field; named after its type too, so that the fields of the types not chosen are ignored. */
const fieldName = (type: string, param: string) => `p.${type}.${param}`;

/** The chosen type's parameters from a posted form: its non-empty fields, as strings for the schema to check. */
export function formParams(type: string, body: Record<string, unknown>): Record<string, string> {
  const prefix = fieldName(type, '');
  // fromEntries keeps a `__proto__` field as a parameter of that name, which the master refuses
  // by name; assigning it would have set the object's prototype and dropped it silently.
  return Object.fromEntries(
    Object.entries(body)
      .filter((e): e is [string, string] => e[0].startsWith(prefix) && typeof e[1] === 'string' && e[1].trim() !== '')
      .map(([name, value]) => [name.slice(prefix.length), value.trim()]),
  );
}

/** One input drawn from a parameter's declaration: its kind, default, bounds and description. */
function paramField(type: string, p: ParamDescription, posted: string | undefined): Html {
  const name = fieldName(type, p.name);
  const value = posted ?? (p.default === undefined ? '' : String(p.default));
  const label = html`${p.name} <span class="hint">${p.description}; ${p.allowed}${p.required ? '; required' : ''}</span>`;
  const required = p.required ? html` data-required` : '';
  if (p.type === 'enum' || p.type === 'boolean') {
    const choices = p.values ?? ['true', 'false'];
    // Without a default, the empty choice means "not given".
    const none = p.default === undefined ? html`<option value=""${value === '' ? html` selected` : ''}></option>` : '';
    return html`<label>${label} <select name="${name}"${required}>${none}${choices.map((c) => html`<option${c === value ? html` selected` : ''}>${c}</option>`)}</select></label>`;
  }
  const numeric = p.type === 'number' || p.type === 'integer';
  const min = p.min ?? p.exclusiveMin;
  const max = p.max ?? p.exclusiveMax;
  const attrs = numeric
    ? html` type="number" step="${p.type === 'integer' ? '1' : 'any'}"${min !== undefined ? html` min="${min}"` : ''}${max !== undefined ? html` max="${max}"` : ''}`
    : html`${p.pattern !== undefined ? html` pattern="${p.pattern}"` : ''}`;
  return html`<label>${label} <input name="${name}"${attrs} value="${value}"${required}></label>`;
}

/** A type's fieldset: what it does and reads, how it picks partitions, and a field per parameter. */
function typeFieldset(t: JobTypeDescription, chosen: boolean, form: JobForm): Html {
  return html`<fieldset class="params" data-for="${t.name}"${chosen ? '' : html` hidden`}>
    <legend>${t.name}</legend>
    <p class="hint">${t.description}. Reads ${t.formats.join(' or ')} datasets; partitions unless set: ${partitionRuleText(t.partitions)}.</p>
    ${t.params.length ? t.params.map((p) => paramField(t.name, p, form.fields?.[fieldName(t.name, p.name)])) : html`<p class="hint">No parameters.</p>`}
  </fieldset>`;
}

/**
 * The new-job form, drawn from the job types' declarations alone. The page's script shows the
 * chosen type's fieldset and offers only datasets it reads; without the script, the links under
 * the form draw it again for another type, and the server does the same.
 */
export function newJobPage(csrf: string, types: JobTypeDescription[], datasets: DatasetMeta[], form: JobForm, error?: string): Html {
  const given = datasets.find((d) => d.name === form.dataset);
  const chosen = types.find((t) => t.name === form.type) ?? types.find((t) => given && t.formats.includes(given.format)) ?? types[0];
  const reads = (d: DatasetMeta) => chosen?.formats.includes(d.format) ?? true;
  return html`<h1>Start a job</h1>
${errorBox(error)}
${datasets.length === 0 ? html`<p class="warn">There are no datasets yet: <a href="/datasets#upload">upload one</a> first.</p>` : ''}
<form method="post" action="/jobs" class="form" id="new-job">
  <input type="hidden" name="_csrf" value="${csrf}">${requestFields()}
  <label>Job type <select name="type" id="job-type">
    ${types.map((t) => html`<option value="${t.name}" data-formats="${t.formats.join(',')}"${t === chosen ? html` selected` : ''}>${t.name}: ${t.description}</option>`)}
  </select></label>
  <label>Dataset <select name="dataset" id="job-dataset">
    ${datasets.map((d) => html`<option value="${d.name}" data-format="${d.format}"${d === given ? html` selected` : ''}${reads(d) ? '' : html` disabled`}>${d.name} (${d.format}, ${bytes(d.bytes)})</option>`)}
  </select></label>
  <label>Partitions <input name="partitions" type="number" min="${PARTITIONS.min}" max="${PARTITIONS.max}" step="1" value="${form.partitions ?? ''}" placeholder="automatic: by the job type's rule"></label>
  ${types.map((t) => typeFieldset(t, t === chosen, form))}
  <label><input type="checkbox" name="verify" value="1"${form.verify ? html` checked` : ''}> Verify <span class="hint">run every task twice (on two workers where there are several, its input in another order) and fail the job, naming the task and key, if the outputs differ: checks that the job type is deterministic; key/value job types only</span></label>
  <button type="submit">Start</button>
</form>
<noscript><p class="hint">Another job type: ${types.map((t) => html`<a href="/jobs/new?${new URLSearchParams({ type: t.name, ...(form.dataset ? { dataset: form.dataset } : {}) }).toString()}">${t.name}</a> `)}</p></noscript>`;
}

/** A row per counter, a column per phase: three columns fit any screen. */
function countersTable(c: { map: PhaseCounters; reduce: PhaseCounters }): Html {
  const rows: [string, (x: PhaseCounters) => string | number][] = [
    ['Records in', (x) => x.recordsIn.toLocaleString('en')],
    ['Records out', (x) => x.recordsOut.toLocaleString('en')],
    ['Bytes in', (x) => bytes(x.bytesIn)],
    ['Bytes out', (x) => bytes(x.bytesOut)],
    ['Attempts', (x) => x.attempts],
    ['Failed attempts', (x) => x.failures],
    ['Backup attempts', (x) => x.speculative],
  ];
  return html`<table class="counters">
<thead><tr><th></th><th>map</th><th>reduce</th></tr></thead>
<tbody>${rows.map(([name, value]) => html`<tr><th>${name}</th><td>${value(c.map)}</td><td>${value(c.reduce)}</td></tr>`)}</tbody></table>`;
}

/** The convergence chart and its caption, which mentions the tolerance line only when there is one. */
function convergence(deltas: number[], tol: number): Html {
  return html`<h2>Convergence</h2><figure>${raw(convergenceSvg(deltas, tol))}<figcaption>${convergenceCaption(deltas, tol)}</figcaption></figure>`;
}

/** Event rows, numbered from `first` (1-based). */
function eventRows(entries: TimelineEntry[], first: number): Html[] {
  return entries.map((t, i) => html`<tr><td>${first + i}</td><td>${t.event.lamport}</td><td>${t.event.proc}</td><td>${t.event.what}</td><td>${t.event.task ?? ''}</td><td>${t.event.detail ?? ''}</td><td>${t.concurrentWith.length ? t.concurrentWith.map((j) => `#${j + 1}`).join(' ') : ''}</td></tr>`);
}

const EVENT_HEAD = html`<thead><tr><th>#</th><th>Lamport</th><th>Process</th><th>Event</th><th>Task</th><th>Detail</th><th>Concurrent with</th></tr></thead>`;

function progress(s: JobStatus, stages: StageNames): Html {
  if (s.plan) {
    const p = roundProgress(s);
    const last = s.rounds[s.rounds.length - 1];
    const where = p.stage === 'finished' ? s.phase : roundName(s, s.round, stages);
    return html`${bar(p.done, s.plan.iterations, `${p.done} of at most ${s.plan.iterations} iterations (${where})`)}
${p.stage === 'finished' ? '' : bar(s.reduces.committed, s.reduces.total, `${where}: ${s.maps.total ? `map ${s.maps.committed}/${s.maps.total}, ` : ''}reduce ${s.reduces.committed}/${s.reduces.total} tasks`)}
<p>L1 change in the last iteration: <b>${p.delta !== null ? p.delta.toExponential(3) : '–'}</b> (${s.plan.tol > 0 ? `stops below ${s.plan.tol}` : 'tol 0: runs every iteration'})${last?.stats.nodes !== undefined ? `; ${last.stats.nodes.toLocaleString('en')} nodes` : ''}</p>`;
  }
  return html`${bar(s.maps.committed, s.maps.total, `map: ${s.maps.committed}/${s.maps.total} tasks (${s.maps.running} running)`)}
${bar(s.reduces.committed, s.reduces.total, `reduce: ${s.reduces.committed}/${s.reduces.total} tasks (${s.reduces.running} running)`)}`;
}

/** Events listed open under the collapsed list, the latest ones. */
const LATEST_EVENTS = 5;

/**
 * The part of a job's page that changes: swapped in place by the page's script as the job moves.
 * `stages`: what the job's type calls its set-up and output rounds.
 */
export function jobLive(csrf: string, s: JobStatus, timeline: TimelineEntry[], output: string[] | null, now = Date.now(), stages: StageNames = GENERIC_STAGES): Html {
  const finished = isFinishedPhase(s.phase);
  const attempts = attemptsFromEvents(timeline.map((t) => t.event), finished, now);
  const shown = timeline.slice(-300);
  const latest = timeline.slice(-LATEST_EVENTS);
  return html`<section class="status">
  <p>${phaseBadge(shownPhase(s))} ${s.type} on <a href="/datasets/${encodeURIComponent(s.dataset)}">${s.dataset}</a>, ${s.partitions} partition${s.partitions === 1 ? '' : 's'}, submitted ${when(s.submittedAt)}, ${finished ? 'took' : 'running for'} <b>${elapsed(s, now)}</b>.</p>
  ${Object.keys(s.params).length ? html`<p class="params">Parameters: ${Object.entries(s.params).map(([k, v]) => html`<code>${k}=${String(v)}</code> `)}</p>` : ''}
  ${verifyText(s) ? html`<p class="verify">${verifyText(s)}</p>` : ''}
  ${errorBox(s.error)}
  ${errorBox(s.outputLost ? `Output lost: ${outputLostText(s)}` : null)}
  ${s.alerts.length ? html`<ul class="alerts">${s.alerts.map((a) => html`<li>${a}</li>`)}</ul>` : ''}
  ${progress(s, stages)}
  ${finished ? '' : html`<form method="post" action="/jobs/${encodeURIComponent(s.id)}/cancel" class="inline"><input type="hidden" name="_csrf" value="${csrf}">${requestFields()}<button class="danger">Cancel the job</button></form>`}
</section>
<h2>Counters</h2>
${countersTable(s.counters)}
${s.plan ? convergence(s.rounds.slice(s.plan.setup).map((r) => r.stats.delta ?? 0), s.plan.tol) : ''}
<h2>Tasks</h2>
<figure class="wide">${raw(taskTimelineSvg(attempts, s.submittedAt, s.finishedAt ?? now, undefined, (round) => roundName(s, round, stages)))}
<figcaption>One lane per worker, one bar per attempt: <span class="key map">map</span> <span class="key reduce">reduce</span> <span class="key failed">failed or lost</span> <span class="key discarded">output discarded</span>; a dashed outline is a backup attempt.</figcaption></figure>
${output !== null ? html`<h2>Output</h2>
<p><a class="button" href="/jobs/${encodeURIComponent(s.id)}/output" download>Download the whole output</a></p>
<pre class="head">${output.join('\n')}</pre>${output.length === 20 ? html`<p class="hint">The first 20 lines.</p>` : ''}` : ''}
<h2>Events</h2>
${timeline.length ? html`<p class="hint">The latest ${Math.min(LATEST_EVENTS, timeline.length)}:</p>
<div class="scroll"><table class="events latest">${EVENT_HEAD}<tbody>${eventRows(latest, timeline.length - latest.length + 1)}</tbody></table></div>` : html`<p class="empty">No events yet.</p>`}
<details id="events">
<summary>All ${timeline.length} event${timeline.length === 1 ? '' : 's'} from the master and the workers, in causal order</summary>
<p class="hint">Ordered by Lamport time; "concurrent with" lists earlier events that neither caused this one nor were caused by it.${timeline.length > shown.length ? ` Showing the last ${shown.length}; all are at /api/jobs/${s.id}/events.` : ''}</p>
<div class="scroll"><table class="events">${EVENT_HEAD}
<tbody>${eventRows(shown, timeline.length - shown.length + 1)}</tbody></table></div>
</details>`;
}

export function jobPage(s: JobStatus, body: Html): Html {
  return html`<h1>Job <code>${s.id}</code></h1>
<div id="live" data-job="${s.id}" data-version="${s.version}" data-finished="${isFinishedPhase(s.phase) ? '1' : ''}" data-fragment="/jobs/${encodeURIComponent(s.id)}?fragment=1">${body}</div>`;
}

/**
 * The question a cancel asks first (a page, so it works without JavaScript): the job page's cancel
 * form posts here without `confirm`, and only this page's form, with `confirm=yes`, cancels. It
 * carries on the ids the job page's form had, so a double click on either sends one cancel.
 */
export function cancelJobPage(s: JobStatus, csrf: string, ids?: RequestIds): Html {
  return html`<h1>Cancel job <code>${s.id}</code>?</h1>
<p>${phaseBadge(shownPhase(s))} ${s.type} on ${s.dataset}, running for ${elapsed(s)}: ${s.maps.committed}/${s.maps.total} map and ${s.reduces.committed}/${s.reduces.total} reduce tasks committed.
Cancelling stops it and deletes its data; it cannot be resumed.</p>
<div class="actions"><form method="post" action="/jobs/${encodeURIComponent(s.id)}/cancel" class="inline"><input type="hidden" name="_csrf" value="${csrf}">${requestFields(ids)}<input type="hidden" name="confirm" value="yes"><button class="danger">Yes, cancel the job</button></form>
<a class="button" href="/jobs/${encodeURIComponent(s.id)}">No, let it run</a></div>`;
}
