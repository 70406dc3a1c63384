import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { ContentCache } from '@tandem/shared';
import { checkParams, parseParams } from '../params.ts';
import { runLocally } from '../run-locally.ts';
import { pagerank, type PageRankParams } from './pagerank.ts';
import { buildGraph, powerIteration } from './reference.ts';

const datasets = fileURLToPath(new URL('../../../datasets/', import.meta.url));

/** Edges as the dataset store keeps them, cut into `splits` pieces. */
function splitsOf(pairs: [string, string][], splits = 1): Buffer[] {
  const per = Math.ceil(pairs.length / splits);
  return Array.from({ length: splits }, (_, s) => Buffer.from(pairs.slice(s * per, (s + 1) * per).map(([a, b]) => `${a}\t${b}\n`).join('')))
    .filter((b) => b.length > 0);
}

/** Parses `node,rank` output lines (after the header) into a map. */
function ranksOf(lines: string[]): Map<string, number> {
  assert.equal(lines[0], 'node,rank');
  const rows = parse(lines.slice(1).join('\n')) as [string, string][];
  return new Map(rows.map(([id, r]) => [id, Number(r)]));
}

async function compare(pairs: [string, string][], partitions: number, params: Record<string, string> = {}, splits = 1) {
  const p = parseParams(pagerank, params) as PageRankParams;
  const g = buildGraph(pairs);
  const want = powerIteration(g, { iterations: p.iterations, tol: p.tol, damping: p.damping });
  const run = await runLocally(pagerank, params, splitsOf(pairs, splits), partitions);
  const got = ranksOf(run.lines);
  assert.equal(got.size, g.ids.length, 'one line per node');
  let worst = 0;
  g.ids.forEach((id, i) => (worst = Math.max(worst, Math.abs(got.get(id)! - want.ranks[i]))));
  assert.ok(worst < 1e-12, `max abs error ${worst} (P=${partitions})`);
  const iterations = run.rounds.filter((r) => r.round >= 2);
  assert.equal(iterations.length, want.iterations, 'as many iterations as the reference');
  iterations.forEach((r, i) => assert.ok(Math.abs(r.stats.delta - want.deltas[i]) < 1e-12, `delta of iteration ${i}`));
  assert.ok(run.rounds.every((r) => r.stats.nodes === g.ids.length), 'every round reports N');
  return { run, g, want };
}

const shapes: Record<string, [string, string][]> = {
  'dangling nodes': [['a', 'b'], ['b', 'c'], ['c', 'a'], ['a', 'd'], ['e', 'd']],
  'self-loops': [['a', 'a'], ['a', 'b'], ['b', 'b'], ['c', 'a']],
  'duplicate edges': [['a', 'b'], ['a', 'b'], ['b', 'a'], ['a', 'c'], ['a', 'b']],
  'a single node': [['x', 'x']],
  'two disconnected parts': [['a', 'b'], ['b', 'a'], ['p', 'q'], ['q', 'r'], ['r', 'p'], ['r', 'q']],
  'ids with commas, quotes and non-ASCII letters': [['x,y', 'a'], ['"q"', 'a'], ['ü', 'x,y'], ['a', '😀']],
};

describe('PageRank job type, run round by round in one process', () => {
  for (const [name, pairs] of Object.entries(shapes)) {
    test(`equals the reference power iteration: ${name}, with 1, 2, 3 and 7 partitions`, async () => {
      for (const P of [1, 2, 3, 7]) await compare(pairs, P, { iterations: '40', tol: '0' });
    });
  }

  test('a duplicate edge counts once and the graph is reported as N nodes, E distinct edges', async () => {
    const { run } = await compare(shapes['duplicate edges'], 2);
    assert.deepEqual([run.rounds[1].stats.nodes, run.rounds[1].stats.edges], [3, 3]);
  });

  test('a single node with a self-loop has rank 1', async () => {
    const { run } = await compare([['x', 'x']], 3);
    assert.deepEqual(run.lines, ['node,rank', 'x,1']);
  });

  test('stops at the tolerance like the reference, and reports the dangling mass of each iteration', async () => {
    const { run, want } = await compare(shapes['dangling nodes'], 2, { tol: '1e-6', iterations: '500' });
    assert.ok(want.converged && want.iterations < 500);
    // d is the only node without out-edges; the first iteration starts from rank 1/5 everywhere.
    assert.ok(Math.abs(run.rounds[2].stats.dangling - 1 / 5) < 1e-15, `dangling mass ${run.rounds[2].stats.dangling}`);
  });

  test('equals the reference on random graphs, split and partitioned every which way', async () => {
    const id = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h,i', 'é');
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(id, id), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }),
      async (pairs, P, splits) => {
        await compare(pairs as [string, string][], P, { iterations: '25', tol: '0' }, splits);
      },
    ), { numRuns: 150 });
  });

  test("equals networkx's ranks of Debian's python3 dependency graph to 1e-6 at tol 1e-10", async () => {
    const rows = parse(readFileSync(`${datasets}debian-python3-deps.csv`), { from_line: 2 }) as [string, string][];
    const ref = JSON.parse(readFileSync(`${datasets}debian-python3-deps.pagerank.json`, 'utf8')) as { ranks: Record<string, number> };
    const run = await runLocally(pagerank, { tol: '1e-10', iterations: '1000' }, splitsOf(rows, 3), 4);
    const got = ranksOf(run.lines);
    assert.equal(got.size, Object.keys(ref.ranks).length);
    let worst = 0;
    for (const [id, r] of Object.entries(ref.ranks)) worst = Math.max(worst, Math.abs(got.get(id)! - r));
    assert.ok(worst < 1e-6, `max abs error ${worst}`);
    // Output order: rank descending, ties by id.
    const order = [...got];
    for (let i = 1; i < order.length; i++) {
      const [a, ra] = order[i - 1];
      const [b, rb] = order[i];
      assert.ok(ra > rb || (ra === rb && a < b), `line ${i + 1}: ${a} ${ra} before ${b} ${rb}`);
    }
  });

  test('a cold cache and a warm one give the same bytes (workers stay stateless)', async () => {
    const pairs = shapes['two disconnected parts'];
    const warm = new ContentCache(1 << 20);
    const a = await runLocally(pagerank, { iterations: '10' }, splitsOf(pairs), 2, warm);
    assert.ok(warm.hits > 0, 'iterations reuse the cached adjacency');
    const b = await runLocally(pagerank, { iterations: '10' }, splitsOf(pairs), 2, new ContentCache(0));
    assert.deepEqual(a.lines, b.lines);
  });
});

describe('PageRank parameters', () => {
  const problems = (p: Record<string, unknown>) => checkParams(pagerank.params, p).problems.map((i) => `${i.param} ${i.problem}`);
  test('defaults: 20 iterations, damping 0.85, tol 1e-8', () => {
    assert.deepEqual(parseParams(pagerank, {}), { iterations: 20, damping: 0.85, tol: 1e-8 });
  });
  test('damping outside (0,1), iterations ≤ 0 or fractional, a negative tol or a non-number are refused, each by name', () => {
    assert.deepEqual(problems({ damping: '1' }), ['damping must be between 0 and 1 (exclusive) (got "1")']);
    assert.deepEqual(problems({ damping: '0' }), ['damping must be between 0 and 1 (exclusive) (got "0")']);
    assert.deepEqual(problems({ damping: '-0.5' }), ['damping must be between 0 and 1 (exclusive) (got "-0.5")']);
    assert.deepEqual(problems({ iterations: '0' }), ['iterations must be a whole number from 1 to 10000 (got "0")']);
    assert.deepEqual(problems({ iterations: '-3' }), ['iterations must be a whole number from 1 to 10000 (got "-3")']);
    assert.deepEqual(problems({ iterations: '2.5' }), ['iterations must be a whole number from 1 to 10000 (got "2.5")']);
    assert.deepEqual(problems({ tol: '-1' }), ['tol must be a number ≥ 0 (got "-1")']);
    assert.deepEqual(problems({ damping: 'high' }), ['damping must be between 0 and 1 (exclusive) (got "high")']);
    assert.deepEqual(checkParams(pagerank.params, { alpha: '0.5' }).unknown, ['alpha'], 'unknown parameters are refused');
  });
});
