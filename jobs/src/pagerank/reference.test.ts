import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { buildGraph, powerIteration, ranksCsv } from './reference.ts';

const datasets = fileURLToPath(new URL('../../../datasets/', import.meta.url));

/** The definition written out naively (maps, no CSR), as an independent oracle for small graphs. */
function naive(pairs: [string, string][], d: number, iterations: number): Map<string, number> {
  const nodes = [...new Set(pairs.flat())];
  const edges = [...new Set(pairs.map(([s, t]) => `${s}\u0000${t}`))].map((e) => e.split('\u0000'));
  const out = new Map(nodes.map((v) => [v, edges.filter(([s]) => s === v).length]));
  const n = nodes.length;
  let r = new Map(nodes.map((v) => [v, 1 / n]));
  for (let i = 0; i < iterations; i++) {
    const D = nodes.filter((v) => out.get(v) === 0).reduce((a, v) => a + r.get(v)!, 0);
    const next = new Map<string, number>();
    for (const v of nodes) {
      const inflow = edges.filter(([, t]) => t === v).reduce((a, [s]) => a + r.get(s)! / out.get(s)!, 0);
      next.set(v, (1 - d) / n + d * (inflow + D / n));
    }
    r = next;
  }
  return r;
}

function compare(pairs: [string, string][], iterations = 30) {
  const g = buildGraph(pairs);
  const { ranks } = powerIteration(g, { iterations, tol: 0 });
  const want = naive(pairs, 0.85, iterations);
  g.ids.forEach((id, i) => assert.ok(Math.abs(ranks[i] - want.get(id)!) < 1e-12, `${id}: ${ranks[i]} vs ${want.get(id)}`));
  assert.ok(Math.abs(ranks.reduce((a, b) => a + b, 0) - 1) < 1e-9, 'ranks sum to 1');
  return { g, ranks };
}

test('equals the naive definition on small graphs: dangling nodes, self-loops, duplicate edges, one node, two parts', () => {
  compare([['a', 'b'], ['b', 'c'], ['c', 'a'], ['a', 'd']]); // d is dangling
  compare([['a', 'a'], ['a', 'b']]); // self-loop
  const dup = compare([['a', 'b'], ['a', 'b'], ['b', 'a'], ['a', 'c']]);
  assert.equal(dup.g.edges, 3, 'a duplicate edge counts once');
  const one = compare([['x', 'x']]);
  assert.equal(one.ranks[0], 1);
  compare([['a', 'b'], ['b', 'a'], ['p', 'q'], ['q', 'r'], ['r', 'p'], ['r', 'q']]); // two parts
});

test('equals the naive definition on random graphs', () => {
  const edge = fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'));
  fc.assert(fc.property(fc.array(edge, { minLength: 1, maxLength: 25 }), (pairs) => {
    compare(pairs as [string, string][], 15);
  }), { numRuns: 200 });
});

test("equals networkx's ranks of Debian's python3 dependency graph to 1e-6", () => {
  const rows = parse(readFileSync(`${datasets}debian-python3-deps.csv`), { from_line: 2 }) as [string, string][];
  const ref = JSON.parse(readFileSync(`${datasets}debian-python3-deps.pagerank.json`, 'utf8')) as { nodes: number; edges: number; ranks: Record<string, number> };
  const g = buildGraph(rows);
  assert.equal(g.ids.length, ref.nodes);
  assert.equal(g.edges, ref.edges);
  const r = powerIteration(g, { tol: 1e-10, iterations: 1000 });
  assert.ok(r.converged, `converged in ${r.iterations} iterations`);
  let worst = 0;
  g.ids.forEach((id, i) => (worst = Math.max(worst, Math.abs(r.ranks[i] - ref.ranks[id]))));
  assert.ok(worst < 1e-6, `max abs error ${worst}`);
});

test('ranks.csv: rank descending, ties by node id, ids with commas quoted', () => {
  const g = buildGraph([['b', 'a'], ['c', 'a'], ['x,y', 'a']]);
  const { ranks } = powerIteration(g, { iterations: 50 });
  const lines = ranksCsv(g, ranks).trim().split('\n');
  assert.equal(lines[0], 'node,rank');
  assert.match(lines[1], /^a,/);
  assert.deepEqual(lines.slice(2).map((l) => l.split(',')[0]), ['b', 'c', '"x']);
  assert.match(lines[4], /^"x,y",/);
});

test('an empty graph is refused with a message', () => {
  assert.throws(() => powerIteration(buildGraph([])), /empty graph/);
});
