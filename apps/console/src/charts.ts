/**
 * The console's pictures, as SVG built from plain data (pure, so tests check them without a
 * browser): the job page's task timeline, one lane per worker and one bar per attempt, read from
 * the cluster event log, and an iterative job's convergence, the L1 change per iteration on a log
 * scale; the cluster page's time charts of the last minutes (throughput, queue depth).
 * Colours are presentation attributes, not styles, so the page's Content-Security-Policy holds.
 */
import { VERIFY_RUN_RECORDED, parseTaskJobId, type ClusterEvent } from '@tandem/shared';
import { escapeHtml } from './html.ts';

export type Outcome = 'committed' | 'discarded' | 'failed' | 'lost' | 'running';

export interface Attempt {
  /** BullMQ id of the attempt (`<job>.<round>.<m|r>.<index>[.s1]`). */
  id: string;
  worker: string;
  kind: 'map' | 'reduce';
  round: number;
  index: number;
  speculative: boolean;
  start: number;
  end: number;
  outcome: Outcome;
}

const ENDS: Record<string, Outcome> = {
  'task committed': 'committed',
  'task output discarded (another attempt committed first)': 'discarded',
  'task attempt failed': 'failed',
  // A verified task's run that finished before its other run (docs/DESIGN.md §3.6): its work is done.
  [VERIFY_RUN_RECORDED]: 'committed',
};

/**
 * Attempts from a job's events: a worker's "task started" opens one, its commit, discarded output
 * or failure closes it. One left open is still running, or, once the job is over (or the same
 * attempt started again), lost with its worker.
 */
export function attemptsFromEvents(events: ClusterEvent[], jobOver: boolean, now: number): Attempt[] {
  const open = new Map<string, Attempt>();
  const out: Attempt[] = [];
  const sorted = [...events].filter((e) => e.proc.startsWith('worker:')).sort((a, b) => a.at - b.at || a.lamport - b.lamport);
  let last = 0;
  for (const e of sorted) {
    last = Math.max(last, e.at);
    const id = (e.detail ?? '').split(':')[0];
    const t = parseTaskJobId(id);
    if (!t) continue;
    const key = `${e.proc} ${id}`;
    if (e.what === 'task started') {
      const was = open.get(key);
      if (was) out.push({ ...was, end: e.at, outcome: 'lost' });
      open.set(key, { id, worker: e.proc.slice('worker:'.length), kind: t.kind, round: t.round, index: t.index, speculative: t.speculative > 0, start: e.at, end: e.at, outcome: 'running' });
      continue;
    }
    const outcome = ENDS[e.what];
    const was = open.get(key);
    if (outcome && was) {
      out.push({ ...was, end: e.at, outcome });
      open.delete(key);
    }
  }
  for (const a of open.values()) out.push(jobOver ? { ...a, end: Math.max(a.start, last), outcome: 'lost' } : { ...a, end: now, outcome: 'running' });
  return out.sort((a, b) => a.start - b.start);
}

const FILL: Record<string, string> = { map: '#4e79a7', reduce: '#59a14f' };
const BAD: Partial<Record<Outcome, string>> = { failed: '#e15759', lost: '#e15759', discarded: '#bab0ac' };

/** `v` (above 0) rounded up to m·10^exp with m 1, 2 or 5. */
function roundUp(v: number): { m: number; exp: number } {
  let exp = Math.floor(Math.log10(v));
  let m = [1, 2, 5, 10].find((k) => k * 10 ** exp >= v * (1 - 1e-12)) ?? 10;
  if (m === 10) {
    m = 1;
    exp += 1;
  }
  return { m, exp };
}

/**
 * Ticks across [0, span] ms at a round step (1, 2 or 5 times a power of ten), labelled in seconds
 * with as many decimals as the step needs: the labels are distinct and increase.
 */
export function timeTicks(span: number, count = 8): { at: number; label: string }[] {
  const { m, exp } = roundUp(Math.max(span, 1e-9) / count);
  const step = m * 10 ** exp;
  // The step in seconds is m·10^(exp-3): that many decimals show each multiple of it exactly.
  const decimals = Math.max(0, 3 - exp);
  const out: { at: number; label: string }[] = [];
  for (let i = 0; i * step <= span * (1 + 1e-12); i++) out.push({ at: i * step, label: `${((i * step) / 1000).toFixed(decimals)} s` });
  return out;
}

/**
 * One lane per worker, one bar per attempt, time from `from` to `to` (ms). `roundName` says what
 * users call an attempt's round (an iterative job's iteration or stage; '' for a one-round job).
 */
export function taskTimelineSvg(attempts: Attempt[], from: number, to: number, width = 960, roundName: (round: number) => string = () => ''): string {
  const workers = [...new Set(attempts.map((a) => a.worker))].sort();
  const left = 150;
  const lane = 24;
  const top = 8;
  const height = top + Math.max(1, workers.length) * lane + 34;
  const span = Math.max(1, to - from);
  const x = (t: number) => left + ((t - from) / span) * (width - left - 10);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="task timeline: ${attempts.length} attempts on ${workers.length} workers">`);
  if (attempts.length === 0) {
    parts.push(`<text x="10" y="${top + 16}" fill="#666" font-size="13">no task has started yet</text>`);
  }
  workers.forEach((w, i) => {
    const y = top + i * lane;
    parts.push(`<text x="4" y="${y + 15}" font-size="12" fill="#333">${escapeHtml(w)}</text>`);
    parts.push(`<line x1="${left}" y1="${y + lane - 2}" x2="${width - 10}" y2="${y + lane - 2}" stroke="#eee"/>`);
  });
  for (const a of attempts) {
    const y = top + workers.indexOf(a.worker) * lane + 3;
    const x0 = x(a.start);
    const w = Math.max(2, x(a.end) - x0);
    const fill = BAD[a.outcome] ?? FILL[a.kind];
    const dash = a.speculative ? ' stroke="#222" stroke-width="1.5" stroke-dasharray="3 2"' : '';
    const stage = roundName(a.round);
    const label = `${a.kind} ${a.index}${stage ? ` (${stage})` : ''}${a.speculative ? ', backup attempt' : ''}: ${a.outcome}, ${a.end - a.start} ms`;
    parts.push(`<rect class="attempt ${a.outcome}${a.speculative ? ' speculative' : ''}" x="${x0.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${lane - 8}" fill="${fill}"${dash}><title>${escapeHtml(label)}</title></rect>`);
  }
  const axisY = top + Math.max(1, workers.length) * lane + 6;
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${width - 10}" y2="${axisY}" stroke="#999"/>`);
  for (const t of timeTicks(span, 8)) {
    parts.push(`<line x1="${x(from + t.at).toFixed(1)}" y1="${axisY}" x2="${x(from + t.at).toFixed(1)}" y2="${axisY + 4}" stroke="#999"/>`);
    parts.push(`<text x="${x(from + t.at).toFixed(1)}" y="${axisY + 16}" font-size="11" fill="#555" text-anchor="middle">${t.label}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/**
 * An iterative job's L1 change per iteration, log scale, with the tolerance as a dashed line when
 * it is above 0. Before the first iteration there is nothing to scale an axis to: a note instead.
 */
export function convergenceSvg(deltas: number[], tol: number, width = 640, height = 240): string {
  if (deltas.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" class="convergence empty" viewBox="0 0 ${width} 48" width="${width}" height="48" role="img" aria-label="L1 change per iteration: no iterations yet"><text x="10" y="28" fill="#666" font-size="13">no iterations yet</text></svg>`;
  }
  const left = 56;
  const bottom = 28;
  const plotW = width - left - 12;
  const plotH = height - bottom - 10;
  const positive = deltas.filter((d) => d > 0);
  const floor = Math.min(...positive, tol > 0 ? tol : Infinity);
  const lo = Math.floor(Math.log10(Number.isFinite(floor) ? floor : 1e-16));
  const hi = Math.ceil(Math.log10(Math.max(...positive, tol, 10 ** lo)));
  const top = hi === lo ? lo + 1 : hi;
  const y = (d: number) => 10 + ((top - Math.log10(Math.max(d, 10 ** lo))) / (top - lo)) * plotH;
  const x = (i: number) => left + (deltas.length <= 1 ? plotW / 2 : (i / (deltas.length - 1)) * plotW);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="convergence" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="L1 change per iteration: ${deltas.length} iteration${deltas.length === 1 ? '' : 's'}">`);
  const step = Math.max(1, Math.ceil((top - lo) / 6));
  for (let e = lo; e <= top; e += step) {
    parts.push(`<line x1="${left}" y1="${y(10 ** e).toFixed(1)}" x2="${width - 12}" y2="${y(10 ** e).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${(y(10 ** e) + 4).toFixed(1)}" font-size="11" fill="#555" text-anchor="end">1e${e}</text>`);
  }
  if (tol > 0) {
    parts.push(`<line class="tol" x1="${left}" y1="${y(tol).toFixed(1)}" x2="${width - 12}" y2="${y(tol).toFixed(1)}" stroke="#e15759" stroke-dasharray="5 3"><title>tol ${tol}</title></line>`);
  }
  const points = deltas.map((d, i) => `${x(i).toFixed(1)},${y(d).toFixed(1)}`).join(' ');
  parts.push(`<polyline points="${points}" fill="none" stroke="#4e79a7" stroke-width="2"/>`);
  deltas.forEach((d, i) => parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(d).toFixed(1)}" r="3" fill="#4e79a7"><title>iteration ${i + 1}: ${d}</title></circle>`));
  parts.push(`<text x="${left + plotW / 2}" y="${height - 6}" font-size="11" fill="#555" text-anchor="middle">${deltas.length === 1 ? 'iteration 1' : `iteration (1 to ${deltas.length})`}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/** The convergence chart's caption: the dashed line is mentioned only when the chart draws it. */
export function convergenceCaption(deltas: number[], tol: number): string {
  if (deltas.length === 0) return 'The L1 change between consecutive rank vectors appears here, per iteration, once the first iteration has finished.';
  return `L1 change between consecutive rank vectors, per iteration (log scale)${tol > 0 ? `; the dashed line is the tolerance (${tol})` : '; no tolerance line: tol is 0, so the job runs every iteration'}.`;
}

/** One line of a time chart: its name (the legend), colour, and a value per time. */
export interface Line {
  name: string;
  color: string;
  values: number[];
}

/** The smallest 1, 2 or 5 times a power of ten at or above `v` (1 for 0): a round top for an axis. */
export function niceTop(v: number): number {
  if (!(v > 0)) return 1;
  const { m, exp } = roundUp(v);
  return m * 10 ** exp;
}

/**
 * Lines over the last `windowMs` before `to` (ms), each value at its time in `times`; the y axis
 * from 0 to a round top, its labels by `format`; the x axis in minutes before `to`. With
 * no time yet, a note instead; a lone point is drawn as a dot.
 */
export function timeChartSvg(label: string, times: number[], lines: Line[], to: number, windowMs: number, format: (v: number) => string, width = 480, height = 180): string {
  const open = `<svg xmlns="http://www.w3.org/2000/svg" class="time-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(label)}">`;
  if (times.length === 0) {
    return `${open}<text x="10" y="${height / 2}" fill="#666" font-size="13">collecting: the first point appears after two samples</text></svg>`;
  }
  const left = 64;
  const right = 10;
  const top = 10;
  const bottom = 38;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const from = to - windowMs;
  const max = niceTop(Math.max(0, ...lines.flatMap((l) => l.values.filter(Number.isFinite))));
  const x = (t: number) => left + ((Math.max(from, t) - from) / windowMs) * plotW;
  const y = (v: number) => top + plotH - (Math.max(0, v) / max) * plotH;
  const parts = [open];
  for (const v of [0, max / 2, max]) {
    parts.push(`<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${width - right}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" fill="#555" text-anchor="end">${escapeHtml(format(v))}</text>`);
  }
  const minutes = windowMs / 60_000;
  const step = Math.max(1, Math.round(minutes / 5));
  for (let m = 0; m <= minutes; m += step) {
    const tx = x(to - m * 60_000).toFixed(1);
    parts.push(`<text x="${tx}" y="${top + plotH + 14}" font-size="11" fill="#555" text-anchor="middle">${m === 0 ? 'now' : `−${m} min`}</text>`);
  }
  lines.forEach((l, i) => {
    const points = times.map((t, j) => `${x(t).toFixed(1)},${y(l.values[j] ?? 0).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="line" points="${points}" fill="none" stroke="${l.color}" stroke-width="2"><title>${escapeHtml(l.name)}</title></polyline>`);
    if (times.length === 1) parts.push(`<circle cx="${x(times[0]).toFixed(1)}" cy="${y(l.values[0] ?? 0).toFixed(1)}" r="3" fill="${l.color}"/>`);
    const lx = left + i * 150;
    parts.push(`<rect x="${lx}" y="${height - 12}" width="10" height="10" fill="${l.color}"/><text x="${lx + 14}" y="${height - 3}" font-size="11" fill="#333">${escapeHtml(l.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
