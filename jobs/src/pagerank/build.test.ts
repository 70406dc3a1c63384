import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ContentCache, compareCodePoints, hashKey, type IterativeMapContext } from '@tandem/shared';
import { BlobError, TILE, decodeAdjacency, encodeAdjacency, tileByDestination } from './blobs.ts';
import { Turns, buildAdjacency, idHash, numberNodes, partitionEdges, type IdHasher } from './build.ts';
import {
  SETUP_VERSION, decodeNumberedNodes, decodeSentEdges, decodeSplitEdges, newNumberedNodes, newSentEdges, newSplitEdges,
} from './setup-blobs.ts';

function mapContext(partitions: number, firstRecord = 1): IterativeMapContext<unknown> {
  return {
    job: 'j', params: {}, round: 0, partitions, previousStats: {}, cache: new ContentCache(0), index: 0, firstRecord, record: firstRecord,
    readOutput: async () => null, readOutputHead: async () => null,
  };
}

const lines = (pairs: [string, string][]) => Buffer.from(pairs.map(([a, b]) => `${a}\t${b}\n`).join(''));

/** The same bytes at an odd offset, as a blob read from Redis may be. */
function unaligned(b: Buffer): Buffer {
  const big = Buffer.alloc(b.length + 1);
  b.copy(big, 1);
  return big.subarray(1);
}

/** Both set-up rounds in memory: the adjacency of every partition. */
async function setup(splits: Buffer[], P: number, hasher?: IdHasher) {
  const maps = splits.map((s) => partitionEdges(s, mapContext(P), hasher).outputs);
  const numbered = await Promise.all(Array.from({ length: P }, (_, r) => numberNodes(maps.map((m) => m[r]), P, `reduce ${r}`)));
  return Promise.all(Array.from({ length: P }, (_, q) => buildAdjacency(numbered.map((x) => x.next![q]), numbered[q].output, P, `reduce ${q}`)));
}

describe('PageRank set-up blobs', () => {
  test('each format round-trips, from aligned and unaligned memory', () => {
    const e = newSplitEdges(2, 3, 5);
    e.parts.idLo.set([1, 2]);
    e.parts.idHi.set([3, 4]);
    e.parts.idEnd.set([2, 5]);
    e.parts.idBytes.write('abcde');
    e.parts.srcLo.set([7, 8, 9]);
    e.parts.srcHi.set([10, 11, 12]);
    e.parts.dst.set([0, 1, 1]);
    for (const blob of [e.blob, unaligned(e.blob)]) {
      const d = decodeSplitEdges(blob, 'split edges');
      assert.deepEqual([d.ids, d.edges], [2, 3]);
      assert.deepEqual([...d.idLo, ...d.idHi, ...d.idEnd], [1, 2, 3, 4, 2, 5]);
      assert.deepEqual([...d.srcLo, ...d.srcHi, ...d.dst], [7, 8, 9, 10, 11, 12, 0, 1, 1]);
      assert.equal(d.idBytes.toString(), 'abcde');
    }
    const n = newNumberedNodes(2, 3);
    n.parts.lo.set([5, 6]);
    n.parts.hi.set([7, 8]);
    n.parts.idBytes.write('a\nb');
    for (const blob of [n.blob, unaligned(n.blob)]) {
      const d = decodeNumberedNodes(blob, 'numbered nodes');
      assert.deepEqual([d.n, ...d.lo, ...d.hi, d.idBytes.toString()], [2, 5, 6, 7, 8, 'a\nb']);
    }
    const s = newSentEdges(2, 4);
    s.parts.srcLo.set([1, 2]);
    s.parts.srcHi.set([3, 4]);
    s.parts.dst.set([3, 0]);
    for (const blob of [s.blob, unaligned(s.blob)]) {
      const d = decodeSentEdges(blob, 'sent edges');
      assert.deepEqual([d.edges, d.width, ...d.srcLo, ...d.srcHi, ...d.dst], [2, 4, 1, 2, 3, 4, 3, 0]);
    }
  });

  test('a foreign blob, an old text blob, another version or a truncated blob is refused by name', () => {
    const good = newSentEdges(1, 1).blob;
    const other = Buffer.from(good);
    other.writeUInt32LE(SETUP_VERSION + 1, 4);
    assert.throws(() => decodeSentEdges(other, 'blob X'), (e) => e instanceof BlobError && e.message === `blob X has sent edges format version ${SETUP_VERSION + 1}, expected ${SETUP_VERSION}`);
    // The text formats these replaced: one `src<TAB>dst` line per edge.
    for (const decode of [decodeSplitEdges, decodeNumberedNodes, decodeSentEdges]) {
      assert.throws(() => decode(Buffer.from('a\tb\nb\tc\n'), 'blob Y'), (e) => e instanceof BlobError && /^blob Y is not a PageRank .* blob$/.test(e.message));
      assert.throws(() => decode(Buffer.alloc(3), 'blob Y'), BlobError);
    }
    assert.throws(() => decodeSplitEdges(good, 'blob Z'), /blob Z is not a PageRank split edges blob/);
    assert.throws(() => decodeSentEdges(good.subarray(0, good.length - 4), 'blob W'), (e) => e instanceof BlobError && /blob W: .* shorter than its header says/.test(e.message));
    const bad = newSentEdges(1, 1);
    bad.parts.dst[0] = 1;
    assert.throws(() => decodeSentEdges(bad.blob, 'blob V'), /blob V: sent edges blob has an edge into node 1 of 1/);
  });

  test('round 0 map sends each distinct id once per partition, with the edges into that partition', () => {
    const pairs: [string, string][] = [['a', 'b'], ['a', 'c'], ['b', 'c'], ['a', 'b'], ['c', 'a'], ['d', 'a']];
    const P = 2;
    const { outputs, records } = partitionEdges(lines(pairs), mapContext(P));
    assert.equal(records, pairs.length);
    const seen: string[] = [];
    let edges = 0;
    outputs.forEach((blob, r) => {
      const d = decodeSplitEdges(blob, `to ${r}`);
      const ids = Array.from({ length: d.ids }, (_, i) => d.idBytes.toString('utf8', i ? d.idEnd[i - 1] : 0, d.idEnd[i]));
      for (const id of ids) assert.equal(hashKey(id) % P, r, `${id} goes to its partition`);
      seen.push(...ids);
      edges += d.edges;
      for (let e = 0; e < d.edges; e++) assert.ok(d.dst[e] < d.ids);
    });
    assert.deepEqual(seen.sort(), ['a', 'b', 'c', 'd']);
    assert.equal(edges, pairs.length, 'every edge, duplicates too, goes to its destination');
  });

  test("a line that is not an edge fails naming the problem, and ctx.record is that line's record", () => {
    const cases: [string, string][] = [['x\ty\nnot-an-edge\n', 'not-an-edge'], ['x\ty\n\ty\n', '\ty'], ['x\ty\ny\t\n', 'y\t'], ['x\ty\na\tb\tc\n', 'a\tb\tc'], ['x\ty\n\n', '']];
    for (const [text, line] of cases) {
      const ctx = mapContext(2, 11);
      assert.throws(() => partitionEdges(Buffer.from(text), ctx), { message: `not an edge (expected src<TAB>dst): ${JSON.stringify(line)}` });
      assert.equal(ctx.record, 12, `record of ${JSON.stringify(text)}`);
    }
  });

  test('the low half of idHash is hashKey of the id, so nodes keep their default partitions', () => {
    const out = new Uint32Array(2);
    for (const id of ['a', 'node-17', 'ü', '😀', 'x,y', '～', 'a'.repeat(100)]) {
      const b = Buffer.from(`<${id}>`);
      idHash(b, 1, b.length - 1, out);
      assert.equal(out[0], hashKey(id), id);
    }
  });

  test('nodes are numbered in code point order of their ids (not UTF-16 order)', async () => {
    // Some share their first bytes, so the order within a run is decided by comparing the ids.
    const ids = ['～', '😀', 'b', 'é', 'a', 'node1', 'node10', 'node2', 'node😀', 'node～', 'node', 'nod'];
    const pairs = ids.map((id, i) => [id, ids[(i + 1) % ids.length]] as [string, string]);
    const numbered = await numberNodes([partitionEdges(lines(pairs), mapContext(1)).outputs[0]], 1, 'reduce 0');
    const d = decodeNumberedNodes(numbered.output, 'numbered');
    assert.deepEqual(d.idBytes.toString().split('\n'), [...ids].sort(compareCodePoints));
    assert.notDeepEqual([...ids].sort(compareCodePoints), [...ids].sort(), 'the two orders differ on these ids');
    // Ids that all share a long prefix.
    const urls = ['https://x.org/～', 'https://x.org/😀', 'https://x.org/a', 'https://x.org/', 'https://x.org/ab'];
    const u = decodeNumberedNodes((await numberNodes([partitionEdges(lines(urls.map((x) => [x, urls[0]])), mapContext(1)).outputs[0]], 1, 'reduce 0')).output, 'numbered');
    assert.deepEqual(u.idBytes.toString().split('\n'), [...urls].sort(compareCodePoints));
  });

  test('the adjacency is the same whatever the splits: edges sorted by source, then destination, duplicates dropped', async () => {
    const pairs: [string, string][] = [];
    for (let i = 0; i < 300; i++) pairs.push([`n${(i * 7) % 31}`, `n${(i * 13) % 29}`]);
    const one = await setup([lines(pairs)], 3);
    const cut = await setup([lines(pairs.slice(0, 100)), lines(pairs.slice(100, 101)), lines(pairs.slice(101))], 3);
    const reversed = await setup([lines([...pairs].reverse())], 3);
    const distinct = new Set(pairs.map((p) => p.join('\t'))).size;
    assert.equal(one.reduce((a, x) => a + x.stats!.edges, 0), distinct);
    one.forEach((x, q) => {
      assert.ok(x.output.equals(cut[q].output) && x.output.equals(reversed[q].output), `partition ${q}: same bytes`);
      // Decoded, the edges are tiled (blobs.ts TILE): by tile of the destination, then as in the blob.
      const adj = decodeAdjacency(x.output, `partition ${q}`);
      for (const t of adj.targets) {
        const key = (e: number) => [Math.floor(t.dst[e] / TILE), t.src[e], t.dst[e]];
        for (let e = 1; e < t.src.length; e++) {
          const [a, b] = [key(e - 1), key(e)];
          assert.ok(a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2]))));
        }
      }
    });
  });

  test('two different ids with the same 64-bit hash fail the set-up by name, within a split and across splits', async () => {
    // A hasher that gives "a" and "b" one hash, and every other id its own.
    const weak: IdHasher = (b, s, e, out) => {
      idHash(b, s, e, out);
      const id = b.toString('utf8', s, e);
      if (id === 'a' || id === 'b') out.set([7, 7]);
      if (id.startsWith('long-id-')) out.set([9, 9]);
    };
    const message = /node ids "a" and "b" have the same 64-bit hash, so PageRank cannot tell them apart/;
    await assert.rejects(() => setup([lines([['a', 'c'], ['b', 'c']])], 2, weak), message);
    await assert.rejects(() => setup([lines([['a', 'c']]), lines([['c', 'b']])], 2, weak), message);
    // Ids longer than the 8 bytes the index keeps, equal in those.
    await assert.rejects(() => setup([lines([['long-id-1', 'c']]), lines([['c', 'long-id-2']])], 2, weak), /node ids "long-id-1" and "long-id-2" have the same 64-bit hash/);
    assert.equal((await setup([lines([['long-id-1', 'c']]), lines([['c', 'long-id-1']])], 2, weak)).reduce((n, x) => n + x.stats!.edges, 0), 2);
    // Ids that only share a hash with themselves are fine.
    assert.equal((await setup([lines([['a', 'c'], ['c', 'd']])], 2, weak)).reduce((n, x) => n + x.stats!.nodes, 0), 3);
  });
  test('tiling keeps each destination\'s in-edges in source order, and the scatter\'s sums bit for bit', () => {
    // A partition whose edges reach 3 tiles of destinations, in the blob's order (by source, then destination).
    const width = 2 * TILE + 5;
    const pairs: [number, number][] = [];
    for (let s = 0; s < 300; s++) for (let k = 0; k < 7; k++) pairs.push([s, (s * 7919 + k * 104_729) % width]);
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const src = Uint32Array.from(pairs, (p) => p[0]);
    const dst = Uint32Array.from(pairs, (p) => p[1]);
    const share = Float64Array.from({ length: 300 }, (_, s) => 1 / (s + 3));
    const sum = (sr: Uint32Array, ds: Uint32Array) => {
      const into = new Float64Array(width);
      for (let e = 0; e < sr.length; e++) into[ds[e]] += share[sr[e]];
      return into;
    };
    const [s2, d2] = [src.slice(), dst.slice()];
    tileByDestination(s2, d2, width, new Uint32Array(2 * src.length));
    for (let e = 1; e < s2.length; e++) assert.ok(Math.floor(d2[e - 1] / TILE) <= Math.floor(d2[e] / TILE), 'tiles in order');
    const inEdges = (sr: Uint32Array, ds: Uint32Array, v: number) => Array.from(sr).filter((_, e) => ds[e] === v);
    for (const v of [0, 5, TILE, width - 1]) assert.deepEqual(inEdges(s2, d2, v), inEdges(src, dst, v));
    assert.deepEqual(sum(s2, d2), sum(src, dst));
    // Decoding tiles the same way, whoever made the blob.
    const outDegree = new Uint32Array(300).fill(7);
    const blob = encodeAdjacency(300, outDegree, [{ src, dst }], Array.from({ length: 300 }, (_, i) => `n${i}`));
    const before = Buffer.from(blob);
    for (const owned of [false, true]) {
      const t = decodeAdjacency(blob, 'wide partition', owned).targets[0];
      assert.deepEqual([Array.from(t.src), Array.from(t.dst), t.width], [Array.from(s2), Array.from(d2), width]);
    }
    assert.ok(blob.equals(before), 'the blob itself (written to Redis) is not reordered');
  });
  test("the reduce rounds give the event loop turns (a blocked worker cannot renew its task's lock)", async () => {
    const pairs: [string, string][] = [];
    for (let i = 0; i < 200_000; i++) pairs.push([`n${i % 5003}`, `n${(i * 7) % 4001}`]);
    const maps = [partitionEdges(lines(pairs.slice(0, 100_000)), mapContext(1)).outputs, partitionEdges(lines(pairs.slice(100_000)), mapContext(1)).outputs];
    // Turns every 0 ms: a turn at every chunk boundary. Count the turns other work got meanwhile.
    const during = async <T>(work: Promise<T>): Promise<{ value: T; turns: number }> => {
      let turns = 0;
      let done = false;
      const spin = () => {
        if (done) return;
        turns++;
        setImmediate(spin);
      };
      setImmediate(spin);
      const value = await work;
      done = true;
      return { value, turns };
    };
    const numbered = await during(numberNodes([maps[0][0], maps[1][0]], 1, 'reduce 0', new Turns(0)));
    // A turn per sender and per 65,536 edges at least, and one per phase.
    assert.ok(numbered.turns >= 5, `numberNodes gave ${numbered.turns} turns`);
    const built = await during(buildAdjacency([numbered.value.next![0]], numbered.value.output, 1, 'reduce 0', new Turns(0)));
    assert.ok(built.turns >= 4, `buildAdjacency gave ${built.turns} turns`);
    // And the same bytes as without turns.
    assert.ok(built.value.output.equals((await buildAdjacency([numbered.value.next![0]], numbered.value.output, 1, 'reduce 0')).output));
  });
});
