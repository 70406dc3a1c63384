// The pure parts of `npm run bench -- scale` (scripts/bench/scale.ts, single.ts, svg.ts): the charts'
// scales and ticks and what they draw, the option lists, the table cells and goal verdicts, the
// round-history arithmetic, and the baseline's one-process run of a job type (against the same counts
// computed directly). The PageRank baseline's graph is tested in bench-edge-list-graph.test.ts. No
// timing is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobType } from '@tandem/shared';
import { compareCodePoints } from '../shared/src/order.ts';
import { barChart, lineChart, niceTicks, scale } from '../scripts/bench/svg.ts';
import { countLabel, goalCell, maxRankDiff, median, parseList, ratioCell, report, roundTimes, secondsCell, sizeLabel, type ScaleOptions } from '../scripts/bench/scale.ts';
import { runInOneProcess } from '../scripts/bench/single.ts';

test('niceTicks: from 0 to a tick at or above the maximum, in steps of 1, 2 or 5 times a power of ten', () => {
  assert.deepEqual(niceTicks(7.04), [0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.3), [0, 0.1, 0.2, 0.3]);
  assert.deepEqual(niceTicks(0), [0, 1], 'an empty panel still has an axis');
  for (const max of [0.013, 1.7, 42, 999, 1234.5, 41_700]) {
    const t = niceTicks(max);
    const step = t[1] - t[0];
    assert.ok(t[t.length - 1] >= max && t[t.length - 2] < max, `${max}: the last tick ${t[t.length - 1]} is the first at or above it`);
    assert.ok(t.length >= 3 && t.length <= 12, `${max}: ${t.length} ticks`);
    const mantissa = step / 10 ** Math.floor(Math.log10(step));
    assert.ok([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9), `${max}: step ${step}`);
  }
});

test('scale: linear and logarithmic maps of the domain onto the range', () => {
  const lin = scale(0, 10, 100, 0);
  assert.equal(lin(0), 100);
  assert.equal(lin(10), 0);
  assert.equal(lin(2.5), 75);
  const log = scale(100, 1000, 0, 200, true);
  assert.equal(log(100), 0);
  assert.ok(Math.abs(log(1000) - 200) < 1e-9);
  assert.ok(Math.abs(log(Math.sqrt(100 * 1000)) - 100) < 1e-9, 'the geometric mean lands in the middle');
  assert.equal(scale(5, 5, 0, 50)(5), 25, 'a one-point domain maps to the middle');
});

test('lineChart draws a polyline and a labelled dot per point of each series, inside its panel', () => {
  const svg = lineChart('T', [
    { title: 'Time', unit: 's', xLabel: 'input', logX: true, xTicks: [{ value: 100, label: '100 MB' }, { value: 1000, label: '1 GB' }], series: [
      { name: 'Tandem', color: '#111111', points: [{ x: 1000, y: 7.04 }, { x: 100, y: 1.26 }] },
      { name: 'single <thread>', color: '#222222', dashed: true, points: [{ x: 100, y: 0.8 }, { x: 1000, y: 6.43 }] },
      { name: 'absent', color: '#333333', points: [] },
    ] },
    { title: 'Memory', unit: 'MiB', xLabel: 'input', xTicks: [{ value: 100, label: '100 MB' }], series: [{ name: 'RSS', color: '#444444', points: [{ x: 100, y: 1150 }] }] },
  ]);
  assert.match(svg, /^<svg [^>]*width="(\d+)"/);
  const width = Number(/width="(\d+)"/.exec(svg)![1]);
  const polylines = [...svg.matchAll(/<polyline points="([^"]+)"[^>]*stroke="(#\d+)"/g)];
  assert.deepEqual(polylines.map((m) => m[2]), ['#111111', '#222222', '#444444'], 'one line per series with points');
  for (const [, pts] of polylines) {
    for (const xy of pts.split(' ')) {
      const [x, y] = xy.split(',').map(Number);
      assert.ok(x > 0 && x < width && y > 0, `point ${xy} inside the chart`);
    }
  }
  // Drawn in x order: the first series' first point is its 100 MB one, left of its 1 GB one, and higher on the page (smaller y) for the larger value.
  const [p100, p1000] = polylines[0][1].split(' ').map((xy) => xy.split(',').map(Number));
  assert.ok(p100[0] < p1000[0] && p100[1] > p1000[1]);
  assert.ok(svg.includes('>7.04<') && svg.includes('>1.26<') && svg.includes('>1150<'), 'each point labelled with its value');
  assert.ok(svg.includes('single &lt;thread&gt;') && !svg.includes('>absent<'), 'names escaped; a series without points left out of the legend');
  assert.ok(svg.includes('stroke-dasharray'), 'a dashed series is dashed');
});

test('barChart (moved out of cluster.ts) still scales each panel to its largest bar', () => {
  const svg = barChart('B', [{ title: 'p', unit: 's', rows: [{ label: 'r', bars: [{ name: 'a', value: 2, color: '#1' }, { name: 'b', value: 1, color: '#2' }] }] }]);
  const widths = [...svg.matchAll(/<rect x="200" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 2);
  assert.ok(Math.abs(widths[0] - 2 * widths[1]) < 0.2);
});

test('parseList takes comma-separated whole numbers in range and names the flag otherwise', () => {
  assert.deepEqual(parseList('--wc-mb', '100,300, 1000', 1, 10_000), [100, 300, 1000]);
  assert.throws(() => parseList('--scales', '16,x', 4, 26), /--scales "16,x": "x" is not a whole number from 4 to 26/);
  assert.throws(() => parseList('--scales', '30', 4, 26), /--scales "30"/);
  assert.throws(() => parseList('--runs', '1.5', 1, 100), /--runs/);
  assert.throws(() => parseList('--runs', ',', 1, 100), /one or more whole numbers/);
});

test('table cells: median, ratio with each run\'s range, goal verdicts, seconds, sizes', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  const tandem = [1260, 1300, 1240];
  const single = [800, 820, 790];
  const each = tandem.map((t, i) => t / single[i]);
  assert.equal(ratioCell(tandem, single), `**${(median(tandem) / median(single)).toFixed(2)}×** (${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)})`);
  assert.equal(ratioCell([10], [5]), '**2.00×**', 'one run: no range');
  assert.equal(goalCell(0.69, 0.7), '≤ 0.7×: met');
  assert.equal(goalCell(0.71, 0.7), '≤ 0.7×: **not met**');
  assert.equal(goalCell(7.5, 3, 'ms'), '≤ 3 ms: **not met**');
  assert.equal(goalCell(1, undefined), '');
  assert.equal(secondsCell([1260, 1300, 1240]), '1.26 s (1.26, 1.30, 1.24)');
  assert.equal(secondsCell([500]), '0.50 s');
  assert.deepEqual([100, 300, 1000, 2000, 1500].map(sizeLabel), ['100 MB', '300 MB', '1 GB', '2 GB', '1500 MB']);
  assert.deepEqual([65_536, 1_048_576, 16_777_216, 500].map(countLabel), ['66k', '1.0M', '16.8M', '500']);
});

test('roundTimes: set-up, per iteration and output from a PageRank status', () => {
  const submittedAt = 1_000;
  // Two set-up rounds, then 10 iterations 150 ms apart, the output round 300 ms after the last.
  const rounds = [{ round: 0, stats: {}, finishedAt: 3_000 }, { round: 1, stats: {}, finishedAt: 6_000 }];
  for (let i = 0; i < 10; i++) rounds.push({ round: 2 + i, stats: {}, finishedAt: 6_200 + 150 * i });
  const last = rounds[rounds.length - 1].finishedAt;
  const t = roundTimes({ plan: { setup: 2, iterations: 10, tol: 0 }, rounds, submittedAt, finishedAt: last + 300 });
  assert.deepEqual(t, { setupMs: 6_000 - submittedAt, perIterationMs: 150, outputMs: 300, iterations: 10 });
  assert.throws(() => roundTimes({ plan: null, rounds: [], submittedAt, finishedAt: null }), /not an iterative job/);
  assert.throws(() => roundTimes({ plan: { setup: 2, iterations: 1, tol: 0 }, rounds: rounds.slice(0, 3), submittedAt, finishedAt: null }), /at least 2/);
});

test('maxRankDiff: the largest difference of a node\'s rank, Infinity when the nodes differ', () => {
  const a = 'node,rank\nx,0.5\n"a,b",0.25\ny,0.25\n';
  const b = 'node,rank\ny,0.2500001\nx,0.5\n"a,b",0.25\n';
  assert.ok(Math.abs(maxRankDiff(a, b) - 1e-7) < 1e-12);
  assert.equal(maxRankDiff(a, a), 0);
  assert.equal(maxRankDiff(a, 'node,rank\nx,0.5\n'), Infinity);
});

test('runInOneProcess runs a job type\'s map, combiner, reduce and format over the file, sorted by key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  try {
    const words = ['b', 'a', 'é', 'c', 'a', 'B', 'z'];
    const text = Array.from({ length: 500 }, (_, i) => `${words[i % words.length]} ${words[(i * 3) % words.length]}`).join('\n') + '\n';
    const input = join(dir, 'in.txt');
    writeFileSync(input, text);
    const want = new Map<string, number>();
    for (const w of text.split(/\s+/).filter(Boolean)) want.set(w, (want.get(w) ?? 0) + 1);
    const expected = [...want.keys()].sort(compareCodePoints).map((k) => `${k}=${want.get(k)}\n`).join('');
    const count = (combine: boolean): JobType<Record<string, never>, number, number> => ({
      name: 't', description: '', formats: ['text'], params: {},
      map(buf, ctx) {
        for (const w of buf.toString('utf8').split(/\s+/)) if (w) ctx.emit(w, 1);
      },
      ...(combine ? { combine: (x: number, y: number) => x + y } : {}),
      reduce: (_k, vs) => vs.reduce((x, y) => x + y, 0),
      format: (k, n) => `${k}=${n}`,
    });
    for (const combine of [true, false]) {
      const out = join(dir, `out-${combine}.txt`);
      // Small splits, so the map runs many times and the combiner folds across them.
      const r = await runInOneProcess(count(combine), input, out, 64);
      assert.equal(readFileSync(out, 'utf8'), expected, `with${combine ? '' : 'out'} a combiner`);
      assert.equal(r.keys, want.size);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("report: Dask's word count (--dask) gets its table and a goal row, Tandem's time over Dask's", () => {
  const o: ScaleOptions = { wcMb: [300], plainMb: [], scales: [], iterations: 10, fixed: 0, extra: 200, runs: 2, appendfsync: 'everysec', dask: true };
  const mem = { workers: [200, 190], workersBefore: [150, 150], redisPeak: 300 * 2 ** 20, redisBefore: 295 * 2 ** 20 };
  const row = (dask?: { ms: number[]; same: boolean; about: string }) => ({
    mb: 300, bytes: 300e6, uploadMs: 2000, same: true, sha: 'x', dask,
    single: [{ ms: 2400, peakMiB: 120 }, { ms: 2200, peakMiB: 121 }],
    tandem: [{ ms: 3000, mem }, { ms: 2800, mem }],
  });
  const load: [number, number] = [1, 2];
  const md = report(o, 'cmd', { wc: [row({ ms: [12000, 14000], same: true, about: 'dask 2022.12.1, distributed LocalCluster, 2 worker processes' })], plain: [], pr: [], fixed: [], load });
  assert.match(md, /### The peer: Dask's word count/);
  assert.match(md, /\(dask 2022\.12\.1, distributed LocalCluster, 2 worker processes\)/);
  // Tandem 2.90 s over Dask 13.00 s; each run's own ratio 0.25 and 0.20.
  assert.match(md, /\| 300 MB \| 13\.00 s \(12\.00, 14\.00\) \| 2\.90 s \(3\.00, 2\.80\) \| \*\*0\.22×\*\* \(0\.20–0\.25\) \| ≤ 1×: met \| yes \|/);
  assert.match(md, /\| word count against Dask, 300 MB \| 0\.22× \| ≤ 1×: met \|/);
  const differs = report(o, 'cmd', { wc: [row({ ms: [2000, 2000], same: false, about: 'dask' })], plain: [], pr: [], fixed: [], load });
  assert.match(differs, /\| \*\*1\.45×\*\* \(1\.40–1\.50\) \| ≤ 1×: \*\*not met\*\* \| \*\*NO\*\* \|/, 'slower than Dask, and outputs that differ, are said plainly');
  const without = report(o, 'cmd', { wc: [row()], plain: [], pr: [], fixed: [], load });
  assert.doesNotMatch(without, /Dask/, 'no Dask section when it did not run');
});
