import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterEvent } from '@tandem/shared';
import { attemptsFromEvents, convergenceSvg, taskTimelineSvg } from './charts.ts';
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
  assert.match(convergenceSvg([], 1e-8), /no iteration has finished yet/);
  assert.doesNotMatch(convergenceSvg([1e-3], 0), /class="tol"/, 'tol 0 draws no line');
});

test('html templates escape every value except trusted fragments', () => {
  const name = `<img src=x onerror="alert('x')">&`;
  assert.equal(html`<p title="${name}">${name}</p>`.value, '<p title="&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;">&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;</p>');
  assert.equal(html`<ul>${['a<', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.value, '<ul><li>a&lt;</li><li>b</li></ul>');
  assert.equal(html`${raw('<svg/>')}${null}${undefined}${false}${0}`.value, '<svg/>0');
});
