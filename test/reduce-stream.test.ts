// A key/value reduce task streams (docs/DESIGN.md §3.5): with TANDEM_REDUCE_RANGE_KB=4 a reduce
// partition whose input is hundreds of times the per-sender range still gives the output an
// in-process reference gives (a combiner type, and a list-valued type with --verify), and the bytes
// its merge held at once (the commit record's heldBytes, counted by the readers) stay within the
// senders' ranges whatever the partition's size: a four times larger input on as many senders
// holds no more. TANDEM_REDUCE_MEMORY_MB=0 makes every reduce stream; a second cluster with the
// default budget reads the same partitions whole and must write the same output bytes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { compareCodePoints, putDataset, readCommits, type CommitRecord } from '@tandem/shared';
import { jobOutput, startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { repoRoot } from '../apps/cli/src/processes.ts';

const RANGE_KB = 4;
const SENDERS = 4;
const books = readdirSync(join(repoRoot, 'datasets')).filter((f) => f.endsWith('.txt')).sort();
const text = books.map((f) => readFileSync(join(repoRoot, 'datasets', f), 'utf8')).join('');
/** The first `bytes` of the books, cut at a line's end. */
const corpus = (bytes: number) => text.slice(0, bytes).replace(/[^\n]*$/, '');
/** `lines` lines of three made-up words each, every word on about 15 lines: a list-valued type's values per key stay small. */
function spreadWords(lines: number): string {
  const name = (i: number) => { let s = ''; do { s += String.fromCharCode(97 + (i % 26)); i = Math.floor(i / 26); } while (i > 0); return s; };
  return Array.from({ length: lines }, (_, n) => `${name(n % 7919)} ${name((n * 31) % 7919)} ${name((n * 17) % 7919)}\n`).join('');
}
const wordsOf = (line: string) => line.toLowerCase().match(/\p{L}+/gu) ?? [];

function referenceBigrams(body: string): string {
  const counts = new Map<string, number>();
  for (const line of body.split('\n')) {
    const w = wordsOf(line);
    for (let i = 0; i + 1 < w.length; i++) counts.set(`${w[i]} ${w[i + 1]}`, (counts.get(`${w[i]} ${w[i + 1]}`) ?? 0) + 1);
  }
  return [...counts.keys()].sort(compareCodePoints).map((k) => `${k}\t${counts.get(k)}\n`).join('');
}

function referenceWordLines(body: string, max: number): string {
  const at = new Map<string, number[]>();
  body.split('\n').slice(0, -1).forEach((line, i) => {
    for (const w of new Set(wordsOf(line))) (at.get(w) ?? at.set(w, []).get(w)!).push(i + 1);
  });
  return [...at.keys()].sort(compareCodePoints).flatMap((w) => at.get(w)!.slice(0, max).map((n) => `${w}\t${n}\n`)).join('');
}

describe('a reduce partition much larger than its range budget streams from sorted runs', { timeout: 300_000 }, () => {
  let c: Cluster;
  /** A cluster with the default reduce memory budget: these partitions fit, so its reduces read their input whole. */
  let mem: Cluster;
  const bodies = { small: corpus(400_000), large: corpus(1_600_000), spread: spreadWords(40_000) };
  before(async () => {
    c = await startCluster({ name: 'reduce-stream', workers: 2, env: { TANDEM_REDUCE_RANGE_KB: String(RANGE_KB), TANDEM_REDUCE_MEMORY_MB: '0' } });
    mem = await startCluster({ name: 'reduce-in-memory', workers: 2, env: { TANDEM_REDUCE_RANGE_KB: String(RANGE_KB) } });
    for (const cl of [c, mem]) {
      for (const [name, body] of Object.entries(bodies)) {
        // As many splits (senders) for both, so only the partition's size differs.
        await putDataset(cl.redis.client(), cl.keys, Readable.from([Buffer.from(body)]), { name, format: 'text', splitBytes: Math.ceil(Buffer.byteLength(body) / SENDERS) + 1024 });
      }
    }
  });
  after(async () => {
    await c?.stop();
    await mem?.stop();
  });

  /** The reduce tasks' commit records of a finished job. */
  const reduceCommits = async (s: { id: string; round: number }, cl = c) =>
    [...(await readCommits(cl.redis.client(), cl.keys, s.id, s.round)).entries()].filter(([f]) => f.startsWith('r')).map(([, r]) => r);

  test('bigram count on one partition: the reference output, and what the merge held does not grow with the partition', async (t) => {
    const held: Record<string, CommitRecord> = {};
    for (const name of ['small', 'large'] as const) {
      const s = await waitForJob(c, await c.client().submit({ type: 'bigramcount', dataset: name, partitions: 1 }));
      assert.equal(s.phase, 'done', s.error ?? '');
      assert.equal(s.maps.total, SENDERS, 'the dataset has as many splits as planned');
      assert.equal(await jobOutput(c, s), referenceBigrams(bodies[name]));
      const [r] = await reduceCommits(s);
      assert.equal(typeof r.heldBytes, 'number', 'the reduce task reports what its merge held');
      // Each sender's reader holds the range it reads, the rest of a block (a quarter of a range) and the range it asked for ahead.
      assert.ok(r.heldBytes! <= SENDERS * 3 * RANGE_KB * 1024, `${name}: held ${r.heldBytes} bytes, at most ${SENDERS} senders × 3 × ${RANGE_KB} KiB`);
      assert.ok(r.heldBytes! > 0);
      held[name] = r;
    }
    const { small, large } = held;
    t.diagnostic(`small: ${small.bytesIn} bytes in, ${small.heldBytes} held; large: ${large.bytesIn} bytes in, ${large.heldBytes} held`);
    assert.ok(large.bytesIn > 3 * small.bytesIn, `the large partition's input (${large.bytesIn} bytes) is several times the small one's (${small.bytesIn})`);
    assert.ok(large.bytesIn > 40 * large.heldBytes!, `the large partition's input (${large.bytesIn} bytes) is far more than the merge held (${large.heldBytes})`);
    assert.ok(large.heldBytes! <= SENDERS * 3 * RANGE_KB * 1024 && large.heldBytes! < 2 * small.heldBytes!, `held ${small.heldBytes} then ${large.heldBytes} bytes: not in proportion to the input`);
  });

  // Without a combiner one key's values are one record, which a block holds whole: words on few lines keep records small.
  test('a list-valued type (no combiner) on 2 partitions with --verify: the reference output, each partition held within its ranges', async () => {
    const s = await waitForJob(c, await c.client().submit({ type: 'wordlines', dataset: 'spread', partitions: 2, params: { max: 5 }, verify: true }));
    assert.equal(s.phase, 'done', s.error ?? '');
    assert.equal(await jobOutput(c, s), referenceWordLines(bodies.spread, 5));
    assert.equal(s.verify?.tasks, s.maps.total + s.reduces.total, 'every task ran twice and agreed (the second run takes senders and values backwards)');
    const commits = await reduceCommits(s);
    assert.equal(commits.length, 2);
    for (const r of commits) {
      assert.ok(r.heldBytes! <= SENDERS * 3 * RANGE_KB * 1024, `held ${r.heldBytes} bytes`);
      assert.ok(r.bytesIn > 10 * r.heldBytes!, `input ${r.bytesIn} bytes, held ${r.heldBytes}`);
    }
  });

  test('the in-memory reduce (input within TANDEM_REDUCE_MEMORY_MB) and the streamed one write the same output bytes for the same jobs', async () => {
    const jobs = [
      { type: 'bigramcount', dataset: 'large', partitions: 3 },
      { type: 'wordlines', dataset: 'spread', partitions: 2, params: { max: 5 }, verify: true },
    ];
    for (const job of jobs) {
      const streamed = await waitForJob(c, await c.client().submit(job));
      const whole = await waitForJob(mem, await mem.client().submit(job));
      assert.equal(streamed.phase, 'done', streamed.error ?? '');
      assert.equal(whole.phase, 'done', whole.error ?? '');
      const a = Buffer.from(await jobOutput(c, streamed));
      const b = Buffer.from(await jobOutput(mem, whole));
      assert.ok(a.length > 1000, `${job.type}: an output of ${a.length} bytes`);
      assert.ok(a.equals(b), `${job.type}: the streamed output (${a.length} bytes) and the in-memory one (${b.length} bytes) differ`);
      // Which path each took: the in-memory reduce held its whole input, the streamed one far less.
      for (const r of await reduceCommits(whole, mem)) assert.equal(r.heldBytes, r.bytesIn, `${job.type}: read whole`);
      for (const r of await reduceCommits(streamed)) assert.ok(r.heldBytes! < r.bytesIn, `${job.type}: streamed (held ${r.heldBytes} of ${r.bytesIn} bytes)`);
    }
  });
});
