import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VERIFY_RUN_RECORDED, type ClusterEvent } from '@tandem/shared';
import { attemptsFromEvents, convergenceCaption, convergenceSvg, taskTimelineSvg, timeTicks } from './charts.ts';
import { html, raw } from './html.ts';

const ev = (at: number, proc: string, what: string, detail: string): ClusterEvent => ({ job: 'j1', proc, what, detail, at, lamport: at, vc: {} });

test('attempts: a start and its end make one bar per attempt, whatever became of it', () => {
  const events = [
    ev(1, 'master:m:1', 'tasks enqueued', ''),
    ev(2, 'worker:h:10', 'task started', 'j1.0.m.0'),
    ev(3, 'worker:h:11', 'task started', 'j1.0.m.1'),
    ev(5, 'worker:h:10', 'task committed', 'j1.0.m.0'),
    ev(6, 'worker:h:11', 'task attempt failed', 'j1.0.m.1: cannot digest "arsenic"'),
    ev(7, 'worker:h:11', 'task started', 'j1.0.m.1'),
    ev(8, 'worker:h:10', 'task started', 'j1.0.m.1.s1'),
    ev(9, 'worker:h:10', 'task committed', 'j1.0.m.1.s1'),
    ev(10, 'worker:h:11', 'task output discarded (another attempt committed first)', 'j1.0.m.1'),
    ev(11, 'worker:h:12', 'task started', 'j1.0.r.0'),
    ev(12, 'worker:h:12', 'task started', 'j1.0.r.0'),
  ];
  const running = attemptsFromEvents(events, false, 20);
  assert.deepEqual(running.map((a) => [a.worker, a.kind, a.index, a.speculative, a.start, a.end, a.outcome]), [
    ['h:10', 'map', 0, false, 2, 5, 'committed'],
    ['h:11', 'map', 1, false, 3, 6, 'failed'],
    ['h:11', 'map', 1, false, 7, 10, 'discarded'],
    ['h:10', 'map', 1, true, 8, 9, 'committed'],
    ['h:12', 'reduce', 0, false, 11, 12, 'lost'],
    ['h:12', 'reduce', 0, false, 12, 20, 'running'],
  ]);
  const over = attemptsFromEvents(events, true, 20);
  assert.equal(over[over.length - 1].outcome, 'lost', 'an attempt still open when the job is over lost its worker');
});

test("attempts: a verified task's two runs are two bars, one ended by its record, the other by the commit or by the mismatch", () => {
  const events = [
    ev(1, 'worker:h:10', 'task started', 'j1.0.m.0'),
    ev(2, 'worker:h:11', 'task started', 'j1.0.m.0.v'),
    ev(3, 'worker:h:10', VERIFY_RUN_RECORDED, 'j1.0.m.0'),
    ev(4, 'worker:h:11', 'task committed', 'j1.0.m.0.v'),
    ev(5, 'worker:h:10', 'task started', 'j1.0.r.0.v'),
    ev(6, 'worker:h:10', 'task attempt failed', 'j1.0.r.0.v: the two runs of reduce task 0 (--verify) differ at key "a"'),
  ];
  assert.deepEqual(attemptsFromEvents(events, true, 10).map((a) => [a.worker, a.kind, a.index, a.speculative, a.outcome]), [
    ['h:10', 'map', 0, false, 'committed'],
    ['h:11', 'map', 0, false, 'committed'],
    ['h:10', 'reduce', 0, false, 'failed'],
  ]);
});

test('the task timeline draws a lane per worker and a bar per attempt, with escaped labels', () => {
  const attempts = attemptsFromEvents([
    ev(0, 'worker:<b>:1', 'task started', 'j1.0.m.0'),
    ev(500, 'worker:<b>:1', 'task committed', 'j1.0.m.0'),
    ev(100, 'worker:w:2', 'task started', 'j1.0.m.1.s1'),
    ev(400, 'worker:w:2', 'task attempt failed', 'j1.0.m.1.s1: boom'),
  ], true, 1000);
  const svg = taskTimelineSvg(attempts, 0, 1000);
  assert.equal(svg.match(/<rect /g)?.length, 2);
  assert.match(svg, /class="attempt committed"/);
  assert.match(svg, /class="attempt failed speculative"[^>]*stroke-dasharray/);
  assert.match(svg, />&lt;b&gt;:1</, 'worker names are escaped');
  assert.doesNotMatch(svg, /<b>/);
  assert.match(taskTimelineSvg([], 0, 1), /no task has started yet/);
});

test('the convergence chart plots every iteration on a log scale, with the tolerance line', () => {
  const svg = convergenceSvg([0.5, 0.05, 0.005, 0], 1e-4);
  assert.equal(svg.match(/<circle /g)?.length, 4, 'a point per iteration, a zero change included');
  assert.match(svg, /class="tol"/);
  assert.match(svg, />1e-4</);
  assert.match(svg, />iteration \(1 to 4\)</);
  assert.doesNotMatch(convergenceSvg([1e-3], 0), /class="tol"/, 'tol 0 draws no line');
  assert.match(convergenceSvg([1e-3], 0), />iteration 1</);
});

test('before the first iteration the convergence chart is a note, with no axis and no tolerance line', () => {
  for (const tol of [0, 1e-8]) {
    const svg = convergenceSvg([], tol);
    assert.match(svg, />no iterations yet</);
    assert.doesNotMatch(svg, /1e-?\d|iteration \(|class="tol"|<line/, 'no axis, no range such as "1 to 0"');
    assert.doesNotMatch(convergenceCaption([], tol), /dashed/);
  }
});

test('the convergence caption mentions the dashed tolerance line exactly when the chart draws one', () => {
  for (const [deltas, tol] of [[[0.1, 0.01], 1e-3], [[0.1, 0.01], 0], [[], 1e-3], [[], 0], [[1e-20], 1e-30]] as [number[], number][]) {
    const drawn = /class="tol"/.test(convergenceSvg(deltas, tol));
    assert.equal(/dashed line/.test(convergenceCaption(deltas, tol)), drawn, `deltas ${deltas}, tol ${tol}`);
  }
});

/** A small seeded generator (mulberry32), so a failing case can be run again. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('time ticks: for any span, the labels are distinct and increase, from 0 to at most the span', () => {
  const next = random(13);
  const spans = [1, 2, 3, 7, 99, 100, 101, 250, 999, 1000, 1001, 4_321, 9_999, 10_000, 10_001, 86_400_000];
  for (let i = 0; i < 2000; i++) spans.push(Math.max(1, Math.round(10 ** (next() * 8))), 1 + next() * 1000);
  for (const span of spans) {
    for (const count of [4, 8]) {
      const ticks = timeTicks(span, count);
      const labels = ticks.map((t) => t.label);
      const shown = labels.map((l) => Number(l.replace(/ s$/, '')));
      assert.ok(ticks.length >= 2 && ticks.length <= 2 * count + 1, `span ${span}: ${labels.join(', ')}`);
      assert.equal(new Set(labels).size, labels.length, `span ${span}: labels repeat: ${labels.join(', ')}`);
      shown.forEach((v, j) => {
        assert.ok(j === 0 ? v === 0 : v > shown[j - 1], `span ${span}: labels do not increase: ${labels.join(', ')}`);
        assert.ok(Math.abs(v * 1000 - ticks[j].at) <= 1e-6 * Math.max(1, ticks[j].at), `span ${span}: "${labels[j]}" is not ${ticks[j].at} ms`);
      });
      assert.ok(ticks[ticks.length - 1].at <= span * (1 + 1e-9), `span ${span}: a tick past the end`);
    }
  }
  // The case seen on a job page: 0.2 s of job, ticks every 50 ms, used to read "0.0 s 0.1 s 0.1 s".
  assert.deepEqual(timeTicks(200, 8).map((t) => t.label).slice(0, 3), ['0.00 s', '0.05 s', '0.10 s']);
});

test('an attempt is labelled with its iteration or stage, never a round index', () => {
  const attempts = attemptsFromEvents([
    ev(0, 'worker:w:1', 'task started', 'j1.0.m.0'),
    ev(5, 'worker:w:1', 'task committed', 'j1.0.m.0'),
    ev(6, 'worker:w:1', 'task started', 'j1.42.r.3'),
    ev(9, 'worker:w:1', 'task committed', 'j1.42.r.3'),
  ], true, 10);
  const names: Record<number, string> = { 0: 'building the graph, step 1 of 2', 42: 'iteration 41' };
  const svg = taskTimelineSvg(attempts, 0, 10, 960, (r) => names[r]);
  assert.match(svg, /<title>map 0 \(building the graph, step 1 of 2\): committed, 5 ms<\/title>/);
  assert.match(svg, /<title>reduce 3 \(iteration 41\): committed, 3 ms<\/title>/);
  assert.doesNotMatch(svg, /round/);
  assert.doesNotMatch(taskTimelineSvg(attempts, 0, 10), /round|\(\)/, 'a one-round job names no round');
});

test('html templates escape every value except trusted fragments', () => {
  const name = `<img src=x onerror="alert('x')">&`;
  assert.equal(html`<p title="${name}">${name}</p>`.value, '<p title="&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;">&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;</p>');
  assert.equal(html`<ul>${['a<', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.value, '<ul><li>a&lt;</li><li>b</li></ul>');
  assert.equal(html`${raw('<svg/>')}${null}${undefined}${false}${0}`.value, '<svg/>0');
});
