/** The frame every console page shares, and small pieces pages have in common. */
import { duration, roundProgress, shownPhase, type JobPhase, type JobStatus } from '@tandem/shared';
import { html, type Html } from '../html.ts';

export interface PageContext {
  csrf: string;
  /** A token is set: show the log-out button. */
  locked: boolean;
  path: string;
}

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/datasets', 'Datasets'],
  ['/jobs', 'Jobs'],
  ['/jobs/new', 'New job'],
  ['/cluster', 'Cluster'],
];

export function layout(ctx: PageContext, title: string, body: Html): Html {
  const current = (href: string) => (href === '/' ? ctx.path === '/' : ctx.path === href || (href !== '/jobs' && ctx.path.startsWith(`${href}/`)));
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${ctx.csrf}">
<title>${title} · Tandem</title>
<link rel="icon" href="/static/logo.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/">Tandem</a>
  <nav>
    ${NAV.map(([href, label]) => html`<a href="${href}"${current(href) ? html` aria-current="page"` : ''}>${label}</a>`)}
    <a href="/queues/" class="ext">Queues (bull-board)</a>
  </nav>
  ${ctx.locked ? html`<form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button>Log out</button></form>` : ''}
</header>
<main>
${body}
</main>
</body>
</html>`;
}

export const phaseBadge = (phase: JobPhase | string): Html => html`<span class="badge ${phase}">${phase}</span>`;

export const elapsed = (s: JobStatus, now = Date.now()): string => duration((s.finishedAt ?? now) - s.submittedAt);

export const when = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

export const alertList = (alerts: string[]): Html =>
  alerts.length ? html`<ul class="alerts" role="alert">${alerts.map((a) => html`<li>${a}</li>`)}</ul>` : html``;

export const errorBox = (message: string | null | undefined): Html => (message ? html`<p class="error" role="alert">${message}</p>` : html``);

/** A progress bar with its figures. */
export const bar = (done: number, total: number, label: string): Html =>
  html`<div class="bar"><progress max="${Math.max(total, 1)}" value="${done}"></progress><span>${label}</span></div>`;

export function jobProgress(s: JobStatus): string {
  if (s.plan) return `${roundProgress(s).done}/${s.plan.iterations} iterations`;
  return `map ${s.maps.committed}/${s.maps.total}, reduce ${s.reduces.committed}/${s.reduces.total}`;
}

export function jobsTable(jobs: JobStatus[]): Html {
  if (jobs.length === 0) return html`<p class="empty">No jobs yet. <a href="/jobs/new">Start one</a>.</p>`;
  return html`<div class="scroll"><table class="jobs">
<thead><tr><th>Job</th><th>Type</th><th>Dataset</th><th>Phase</th><th>Progress</th><th>Submitted</th><th>Elapsed</th></tr></thead>
<tbody>${jobs.map((j) => html`<tr>
  <td><a href="/jobs/${encodeURIComponent(j.id)}">${j.id}</a></td><td>${j.type}</td>
  <td><a href="/datasets/${encodeURIComponent(j.dataset)}">${j.dataset}</a></td><td>${phaseBadge(shownPhase(j))}</td>
  <td>${jobProgress(j)}</td><td>${when(j.submittedAt)}</td><td>${elapsed(j)}</td></tr>`)}</tbody>
</table></div>`;
}
