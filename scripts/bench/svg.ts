/**
 * The benchmarks' charts, as plain SVG text (no library): barChart, horizontal bars one panel per
 * measure (`bench -- cluster`), and lineChart, curves of a measure against input size, panels side
 * by side (`bench -- scale`). The scales and ticks are exported for the unit test.
 */

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A short label for a value: 2 decimals below 10, 1 below 100, none above. */
export const shortNumber = (v: number) => (Math.abs(v) < 10 ? v.toFixed(2) : Math.abs(v) < 100 ? v.toFixed(1) : v.toFixed(0));

interface Bar { name: string; value: number; color: string }
interface Panel { title: string; unit: string; rows: { label: string; bars: Bar[] }[] }

/** A horizontal bar chart, one panel per measure, each panel scaled to its own largest bar. */
export function barChart(title: string, panels: Panel[]): string {
  const W = 720;
  const LABEL = 200;
  const BAR = 16;
  const plot = W - LABEL - 110;
  const out: string[] = [];
  let y = 34;
  out.push(`<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (const p of panels) {
    y += 14;
    out.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
    y += 8;
    const max = Math.max(...p.rows.flatMap((r) => r.bars.map((b) => b.value)), 1e-9);
    for (const r of p.rows) {
      out.push(`<text x="10" y="${y + BAR * r.bars.length / 2 + 4}" font-size="12">${esc(r.label)}</text>`);
      for (const b of r.bars) {
        const w = Math.max(1, (b.value / max) * plot);
        out.push(`<rect x="${LABEL}" y="${y}" width="${w.toFixed(1)}" height="${BAR - 3}" fill="${b.color}"><title>${esc(b.name)}</title></rect>`);
        out.push(`<text x="${LABEL + w + 5}" y="${y + BAR - 6}" font-size="11">${esc(`${b.value < 10 ? b.value.toFixed(2) : b.value.toFixed(1)} ${p.unit}`)}</text>`);
        y += BAR;
      }
      y += 6;
    }
  }
  // The legend: every bar name once, in its colour.
  const legend = [...new Map(panels.flatMap((p) => p.rows.flatMap((r) => r.bars)).map((b) => [b.name, b.color]))];
  y += 8;
  let x = 10;
  for (const [name, color] of legend) {
    out.push(`<rect x="${x}" y="${y}" width="12" height="12" fill="${color}"/><text x="${x + 16}" y="${y + 10}" font-size="12">${esc(name)}</text>`);
    x += 24 + name.length * 7;
  }
  y += 24;
  return svgDocument(W, y, out);
}

function svgDocument(width: number, height: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${body.join('\n')}\n</svg>\n`;
}

/**
 * Ticks for an axis from 0 to at least `max`: 0 and multiples of a step of 1, 2 or 5 times a power
 * of ten, about `count` of them, the last one at or above max (so the axis ends on a tick).
 */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const rough = max / count;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= rough)!;
  const ticks: number[] = [];
  // Rounded, so 0.1 + 0.2 does not print as 0.30000000000000004.
  for (let i = 0; ; i++) {
    const t = Number((i * step).toPrecision(12));
    ticks.push(t);
    if (t >= max) return ticks;
  }
}

/** Maps [d0, d1] onto [r0, r1], linearly or (log) on a logarithmic scale; a one-point domain maps to the middle. */
export function scale(d0: number, d1: number, r0: number, r1: number, log = false): (v: number) => number {
  const f = log ? Math.log : (v: number) => v;
  const [a, b] = [f(d0), f(d1)];
  if (a === b) return () => (r0 + r1) / 2;
  return (v) => r0 + ((f(v) - a) / (b - a)) * (r1 - r0);
}

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  color: string;
  /** Drawn in x order; a series without points is left out of the panel (and of the legend, if of every panel). */
  points: Point[];
  dashed?: boolean;
}

export interface LinePanel {
  title: string;
  /** The unit of y, printed after each point's value and on the axis. */
  unit: string;
  /** The x axis's ticks: at these values, with these labels (the inputs' sizes). */
  xTicks: { value: number; label: string }[];
  xLabel: string;
  /** Logarithmic x (sizes that grow by factors). */
  logX?: boolean;
  series: Series[];
}

/**
 * A line chart: panels side by side, each with its own axes (y from 0), a polyline and a dot per
 * point with the point's value beside it, and one legend under them for every series name.
 */
export function lineChart(title: string, panels: LinePanel[], note?: string): string {
  const PW = 430; // one panel's width
  const PH = 260; // one panel's plot height
  const M = { left: 58, right: 30, top: 76, bottom: 52 };
  const W = panels.length * PW;
  const out: string[] = [`<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`];
  if (note) out.push(`<text x="10" y="40" font-size="11" fill="#555">${esc(note)}</text>`);
  panels.forEach((p, k) => {
    const x0 = k * PW + M.left;
    const x1 = (k + 1) * PW - M.right;
    const y0 = M.top + PH; // the plot's bottom
    const y1 = M.top;
    const drawn = p.series.filter((s) => s.points.length > 0);
    const xs = [...p.xTicks.map((t) => t.value), ...drawn.flatMap((s) => s.points.map((q) => q.x))];
    const ticks = niceTicks(Math.max(0, ...drawn.flatMap((s) => s.points.map((q) => q.y))));
    const sx = scale(Math.min(...xs), Math.max(...xs), x0 + 30, x1 - 30, p.logX);
    const sy = scale(0, ticks[ticks.length - 1], y0, y1);
    out.push(`<text x="${x0}" y="${y1 - 8}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
    for (const t of ticks) {
      const y = sy(t).toFixed(1);
      out.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#e3e3e3"/>`);
      out.push(`<text x="${x0 - 6}" y="${Number(y) + 4}" font-size="11" text-anchor="end">${esc(String(t))}</text>`);
    }
    out.push(`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#333"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#333"/>`);
    for (const t of p.xTicks) {
      const x = sx(t.value).toFixed(1);
      out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 5}" stroke="#333"/><text x="${x}" y="${y0 + 18}" font-size="11" text-anchor="middle">${esc(t.label)}</text>`);
    }
    out.push(`<text x="${(x0 + x1) / 2}" y="${y0 + 38}" font-size="12" text-anchor="middle">${esc(p.xLabel)}</text>`);
    out.push(`<text x="${x0 - 44}" y="${(y0 + y1) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 ${x0 - 44} ${(y0 + y1) / 2})">${esc(p.unit)}</text>`);
    for (const s of drawn) {
      const pts = [...s.points].sort((a, b) => a.x - b.x);
      const coords = pts.map((q) => `${sx(q.x).toFixed(1)},${sy(q.y).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${coords}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}><title>${esc(s.name)}</title></polyline>`);
      for (const q of pts) {
        const [cx, cy] = [sx(q.x), sy(q.y)];
        out.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="3.5" fill="${s.color}"/>`);
        // A dashed series' values below its points, a solid one's above, so two close curves' labels do not overlap as often.
        out.push(`<text x="${(cx + 6).toFixed(1)}" y="${(s.dashed ? cy + 14 : cy - 5).toFixed(1)}" font-size="10" fill="${s.color}">${esc(shortNumber(q.y))}</text>`);
      }
    }
  });
  // The legend, wrapped to the chart's width.
  const legend = [...new Map(panels.flatMap((p) => p.series.filter((s) => s.points.length > 0)).map((s) => [s.name, s]))].map(([, s]) => s);
  let x = 10;
  let y = M.top + PH + M.bottom + 10;
  for (const s of legend) {
    const w = 34 + s.name.length * 6.5;
    if (x + w > W && x > 10) {
      x = 10;
      y += 18;
    }
    out.push(`<line x1="${x}" y1="${y + 6}" x2="${x + 22}" y2="${y + 6}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${x + 27}" y="${y + 10}" font-size="12">${esc(s.name)}</text>`);
    x += w;
  }
  return svgDocument(W, y + 24, out);
}
