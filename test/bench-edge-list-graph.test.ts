// The PageRank baseline's fast graph (scripts/bench/edge-list-graph.ts) against the readable
// definition, jobs/src/pagerank/reference.ts's buildGraph fed the pairs the CSV stands for: the same
// Graph (node numbering, CSR, out-degrees, distinct edges) and the same ranks.csv to the byte, on
// graphs with duplicate edges, self-loops, dangling nodes, quoted ids, decimal ids that are and are
// not canonical numbers, CRLF and empty lines; the header rule and the errors of the dataset
// store's normaliser; a file read in small chunks. No timing is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildGraph, powerIteration, ranksCsv, type Graph } from '../jobs/src/pagerank/reference.ts';
import { csvField } from '../jobs/src/pagerank/ranks-csv.ts';
import { EdgeListGraphBuilder, edgeListGraphOfFile } from '../scripts/bench/edge-list-graph.ts';

type Pair = [string, string];

const graphOf = (text: string): Graph => {
  const b = new EdgeListGraphBuilder('g.csv');
  b.add(Buffer.from(text));
  return b.finish();
};

const csvOf = (pairs: Pair[], eol = '\n') => pairs.map(([s, d]) => `${csvField(s)},${csvField(d)}`).join(eol) + eol;

/** The graph of text equals buildGraph's of pairs, and so do their ranks written out. */
function same(text: string, pairs: Pair[]): Graph {
  const got = graphOf(text);
  const want = buildGraph(pairs);
  assert.deepEqual(got.ids, want.ids, 'node numbering');
  assert.equal(got.edges, want.edges, 'distinct edges');
  assert.deepEqual([...got.outDegree], [...want.outDegree], 'out-degrees');
  assert.deepEqual([...got.inStart], [...want.inStart], 'in-edge offsets');
  assert.deepEqual([...got.inSources], [...want.inSources], 'in-edge sources');
  const ranks = (g: Graph) => ranksCsv(g, powerIteration(g, { iterations: 20, tol: 0 }).ranks);
  assert.equal(ranks(got), ranks(want), 'ranks.csv');
  return got;
}

test('the same graph and ranks as buildGraph: duplicates, self-loops, dangling nodes, quoted ids, CRLF, empty lines', () => {
  const pairs: Pair[] = [['a', 'b'], ['a', 'b'], ['b', 'c'], ['c', 'a'], ['a', 'd'], ['e', 'e'], ['e', 'a'], ['c', 'a']];
  const g = same(`src,dst\n${csvOf(pairs)}`, pairs);
  assert.equal(g.edges, 6, 'two repeated edges dropped');
  assert.equal(g.outDegree[g.ids.indexOf('d')], 0, 'd dangles');
  const odd: Pair[] = [['x,y', 'a'], ['say "hi"', 'x,y'], ['a b', 'é'], ['a', 'x,y'], ['x,y', 'a'], ['é', 'a b']];
  same(`src,dst\r\n\r\n${csvOf(odd, '\r\n')}\n`, odd);
  // Quoted ids next to the same ids unquoted are the same nodes.
  same('src,dst\n"a",b\na,"b"\nb,"c"\n', [['a', 'b'], ['a', 'b'], ['b', 'c']]);
  same('src,dst\n1,2\n2,1\n3,1', [['1', '2'], ['2', '1'], ['3', '1']]); // no newline at the end
});

test('decimal ids are their text: 7, 07 and 007 are three nodes; large and long numbers, 0', () => {
  const pairs: Pair[] = [
    ['7', '07'], ['007', '7'], ['0', '7'], ['07', '0'], ['00', '0'],
    ['16777216', '16777215'], ['16777215', '7'], ['999999999999999', '1000000000000000'], ['12345678901234567890', '7'],
    ['1000000000000000', '999999999999999'], ['7', '12345678901234567891'], ['+7', '7'], ['7.0', '7'], ['7 ', ' 7'],
  ];
  const g = same(`src,dst\n${csvOf(pairs)}`, pairs);
  for (const id of ['7', '07', '007', '0', '00', '+7', '7.0', '7 ', ' 7']) assert.ok(g.ids.includes(id), `${JSON.stringify(id)} is a node`);
});

test('the header rule is the dataset store\'s: src,dst in any case; words over numbers; otherwise an edge', () => {
  same('SRC, DST\n1,2\n', [['1', '2']]);
  same('"src","dst"\n1,2\n', [['1', '2']]);
  same('source,target\n1,2\n2,3\n', [['1', '2'], ['2', '3']]);
  same('\n\nsource,target\r\n\r\n1,2\n', [['1', '2']]);
  same('a,b\nb,c\n', [['a', 'b'], ['b', 'c']]);
  same('1,2\n3,4\n', [['1', '2'], ['3', '4']]);
  same('src,dst\n1,2\nsrc,dst\n', [['1', '2'], ['src', 'dst']]);
});

test('bad lines: the normaliser\'s error, naming the line', () => {
  assert.throws(() => graphOf('src,dst\n1,2\n1,2,3\n'), /line 3 has 3 columns, expected 2/);
  assert.throws(() => graphOf('src,dst\n1,2\n\n3\n'), /line 4 has 1 column, expected 2/);
  assert.throws(() => graphOf('src,dst\n,2\n'), /line 2 has an empty src id/);
  assert.throws(() => graphOf('src,dst\n1,\n'), /line 2 has an empty dst id/);
  assert.throws(() => graphOf('src,dst\n1,2\n1\t2,3\n'), /line 3 contains a TAB/);
  assert.throws(() => graphOf('src,dst\n1,2\r3\n'), /line 2 contains a carriage return/);
  assert.throws(() => graphOf('src,dst\n"a,b\n'), /line 2 has a quoted id that is not closed/);
  assert.throws(() => powerIteration(graphOf('src,dst\n')), /empty graph/);
});

test('random graphs: the same graph and ranks as buildGraph', () => {
  const id = fc.constantFrom('a', 'b', 'é', 'x y', 'c,d', 'q"t', '0', '00', '1', '10', '010', '99', '123456789012345678');
  fc.assert(fc.property(fc.array(fc.tuple(id, id), { minLength: 1, maxLength: 40 }), fc.boolean(), (pairs, crlf) => {
    same(`src,dst\n${csvOf(pairs as Pair[], crlf ? '\r\n' : '\n')}`, pairs as Pair[]);
  }), { numRuns: 300 });
});

test('a file read in small chunks gives the graph of the whole text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-list-graph-'));
  try {
    const pairs: Pair[] = Array.from({ length: 500 }, (_, i) => [String((i * 7) % 97), i % 5 ? `n${(i * 13) % 61}` : `"q,${i % 3}"`]);
    const parsed: Pair[] = pairs.map(([s, d]) => [s, d.startsWith('"') ? d.slice(1, -1) : d]);
    const text = `src,dst\n${pairs.map(([s, d]) => `${s},${d}`).join('\n')}\n`;
    const file = join(dir, 'g.csv');
    writeFileSync(file, text);
    const whole = same(text, parsed);
    const chunked = edgeListGraphOfFile(file, 64);
    assert.deepEqual(chunked.ids, whole.ids);
    assert.deepEqual([...chunked.inSources], [...whole.inSources]);
    assert.deepEqual([...chunked.outDegree], [...whole.outDegree]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
