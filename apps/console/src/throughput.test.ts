// The cluster page's throughput (pure): rates from the workers' cumulative counters across
// samples, a restarted worker (counters down, or a new start time) counted from 0, a new worker
// counted only if it started within the interval, forgotten workers dropped; the ring keeps the
// latest samples only; the charts show the rates, and a note before two samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeChartSvg, niceTop } from './charts.ts';
import { throughputCharts } from './pages/cluster.ts';
import { FORGET_AFTER_MS, Ring, Throughput, advance, type Seen, type ThroughputSample } from './throughput.ts';

const w = (name: string, since: number, tasks: number, bytesIn = tasks * 100, bytesOut = tasks * 10) => ({ name, counters: { since, tasks, bytesIn, bytesOut } });

test('advance: the increase of each worker since the last sample, summed', () => {
  const first = advance(new Map(), [w('a', 0, 5), w('b', 0, 2)], null, 1000);
  assert.deepEqual(first.delta, { tasks: 0, bytesIn: 0, bytesOut: 0 }, 'the first sample only sets the baselines');
  const second = advance(first.seen, [w('a', 0, 8), w('b', 0, 2)], 1000, 6000);
  assert.deepEqual(second.delta, { tasks: 3, bytesIn: 300, bytesOut: 30 });
  assert.equal(second.seen.get('a')?.counters.tasks, 8);
});

test('advance: a restarted worker counts from 0 (a counter went down, or its start time changed)', () => {
  const seen = new Map<string, Seen>([['a', { counters: w('a', 0, 10).counters, at: 1000 }], ['b', { counters: w('b', 0, 10).counters, at: 1000 }]]);
  // a: restarted and already did 4; b: same pid in a container (name unchanged), new start time, did 12 since.
  const { delta } = advance(seen, [w('a', 0, 4), w('b', 3000, 12)], 1000, 6000);
  assert.deepEqual(delta, { tasks: 16, bytesIn: 1600, bytesOut: 160 });
  // Bytes down alone (tasks equal) is a restart too.
  const bytesDown = advance(seen, [w('a', 0, 10, 50, 5)], 1000, 6000);
  assert.deepEqual(bytesDown.delta, { tasks: 10, bytesIn: 50, bytesOut: 5 });
});

test('advance: a worker not seen before counts whole only if it started after the previous sample', () => {
  const { delta } = advance(new Map(), [w('old', 500, 100), w('new', 2000, 3)], 1000, 6000);
  assert.deepEqual(delta, { tasks: 3, bytesIn: 300, bytesOut: 30 }, 'old ran before the interval: only its baseline');
});

test('advance: a lapsed report is bridged, and a worker unseen for a minute is forgotten', () => {
  const s1 = advance(new Map(), [w('a', 0, 5)], null, 1000).seen;
  const s2 = advance(s1, [], 1000, 6000);
  assert.deepEqual(s2.delta, { tasks: 0, bytesIn: 0, bytesOut: 0 });
  assert.ok(s2.seen.has('a'), 'remembered over a missed report');
  assert.deepEqual(advance(s2.seen, [w('a', 0, 7)], 6000, 11_000).delta.tasks, 2, 'its work during the gap is counted once');
  const gone = advance(s2.seen, [], 6000, 1000 + FORGET_AFTER_MS + 1);
  assert.equal(gone.seen.size, 0, 'memory holds only the workers of the last minute');
});

test('the ring keeps the latest items, oldest first, never more than its capacity', () => {
  const r = new Ring<number>(3);
  assert.deepEqual(r.toArray(), []);
  for (let i = 1; i <= 7; i++) r.push(i);
  assert.deepEqual(r.toArray(), [5, 6, 7]);
  assert.equal(r.size, 3);
  assert.throws(() => new Ring(0), /at least 1 item/);
});

test('Throughput: rates per second between samples, bounded to its window; a failed read is skipped', async () => {
  let next: ThroughputSample | Error = { workers: [w('a', 0, 0)], waiting: 4, running: 1 };
  const t = new Throughput(async () => {
    if (next instanceof Error) throw next;
    return next;
  }, 5000, 20_000);
  await t.tick(0);
  assert.deepEqual(t.points(), [], 'no rate from one sample');
  next = { workers: [w('a', 0, 10)], waiting: 2, running: 2 };
  await t.tick(5000);
  assert.deepEqual(t.points(), [{ at: 5000, tasksPerS: 2, bytesInPerS: 200, bytesOutPerS: 20, waiting: 2, running: 2 }]);
  next = new Error('Redis down');
  await t.tick(10_000);
  next = { workers: [w('a', 0, 30)], waiting: 0, running: 0 };
  await t.tick(15_000);
  assert.equal(t.points().at(-1)?.tasksPerS, 2, 'the rate spans the failed read: 20 tasks over 10 s');
  for (let i = 4; i < 20; i++) await t.tick(i * 5000);
  assert.equal(t.points().length, 4, '20 s of samples 5 s apart');
});

test('the charts: a note before the first rate, a dot for one, lines, axis labels and captions after', () => {
  assert.equal(niceTop(0), 1);
  assert.equal(niceTop(3.2), 5);
  assert.equal(niceTop(1200), 2000);
  const empty = throughputCharts([], 600_000, 600_000, 5000).value;
  assert.match(empty, /collecting: the first point appears after two samples/);
  assert.match(empty, /<b>Tasks per second<\/b>: no sample yet/);
  const points = [1, 2, 3].map((i) => ({ at: 590_000 + i * 5000, tasksPerS: i, bytesInPerS: i * 1e6, bytesOutPerS: 31_800, waiting: 10 - i, running: 2 }));
  const page = throughputCharts(points, 605_000, 600_000, 5000).value;
  assert.match(page, /<b>Tasks per second<\/b>: now 3\.0, peak 3\.0/);
  assert.match(page, /<b>MB per second<\/b>: now 3 MB\/s read, 0\.0318 MB\/s written; peak 3\.03 MB\/s in all/);
  assert.match(page, />0 MB\/s<\/text>[\s\S]*>2\.5 MB\/s<\/text>[\s\S]*>5 MB\/s<\/text>/, 'the axis from 0 to a round top, in MB/s');
  assert.match(page, /<b>Queue depth<\/b>: now 7 waiting, 2 running; peak 9 waiting/);
  assert.equal((page.match(/<polyline class="line"/g) ?? []).length, 5);
  assert.match(page, />now<\/text>/);
  assert.match(page, />−10 min<\/text>/);
  const one = throughputCharts(points.slice(0, 1), 605_000, 600_000, 5000).value;
  assert.equal((one.match(/<circle /g) ?? []).length, 5, 'a lone sample is a dot on each line');
  const escaped = timeChartSvg('a <b> & "c"', [0, 1], [{ name: '<i>', color: '#000', values: [1, 2] }], 1, 1, String);
  assert.ok(escaped.includes('aria-label="a &lt;b&gt; &amp; &quot;c&quot;"') && escaped.includes('&lt;i&gt;') && !escaped.includes('<i>'), 'labels are escaped');
});
