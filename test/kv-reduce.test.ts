// What a key/value reduce may express (README "Your own job types"), on real processes: a reduce
// that drops keys (bigramcount's `min`), a format that reads the parameters (its `sep`), and a reduce
// that emits several records per key (wordlines), each equal to an in-process reference, sorted by
// key, through the CLI and the client, and with --verify.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { OUTPUT_CODEC_VERSION, blobKind, compareCodePoints, decodeOutput, encodePairs, getJobValues, jobDataIO, putDataset, roundOutput, setJobValues } from '@tandem/shared';
import { jobOutput, startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { repoRoot } from '../apps/cli/src/processes.ts';

const books = readdirSync(join(repoRoot, 'datasets')).filter((f) => f.endsWith('.txt')).sort();
/** About 200 KB of the sample books in 32 KiB splits: several map tasks. */
const small = books.map((f) => readFileSync(join(repoRoot, 'datasets', f), 'utf8')).join('').slice(0, 200_000).replace(/[^\n]*$/, '');
const textLines = small.split('\n').slice(0, -1);
const wordsOf = (line: string) => line.toLowerCase().match(/\p{L}+/gu) ?? [];

function referenceBigrams(min: number, sep: string): string {
  const counts = new Map<string, number>();
  for (const line of textLines) {
    const w = wordsOf(line);
    for (let i = 0; i + 1 < w.length; i++) counts.set(`${w[i]} ${w[i + 1]}`, (counts.get(`${w[i]} ${w[i + 1]}`) ?? 0) + 1);
  }
  return [...counts.keys()].sort(compareCodePoints).filter((k) => counts.get(k)! >= min).map((k) => `${k}${sep}${counts.get(k)}\n`).join('');
}

function referenceWordLines(max: number): string {
  const at = new Map<string, number[]>();
  textLines.forEach((line, i) => {
    for (const w of new Set(wordsOf(line))) at.set(w, [...(at.get(w) ?? []), i + 1]);
  });
  return [...at.keys()].sort(compareCodePoints).flatMap((w) => at.get(w)!.slice(0, max).map((n) => `${w}\t${n}\n`)).join('');
}

describe('reduce emits zero or more records per key; format gets the parameters', { timeout: 300_000 }, () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ name: 'kv-reduce', workers: 2 });
    await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(small)]), { name: 'books', format: 'text', splitBytes: 32 * 1024 });
  });
  after(async () => c?.stop());

  test('bigram count: min drops the rare bigrams, sep is used by format; the same output on 1 and 3 partitions', async () => {
    const all = referenceBigrams(1, '\t');
    const some = referenceBigrams(3, ',');
    assert.ok(some.length > 0 && some.length < all.length / 2, 'min=3 drops most bigrams and keeps some');
    const s = await waitForJob(c, await c.client().submit({ type: 'bigramcount', dataset: 'books', partitions: 1 }));
    assert.equal(s.phase, 'done', s.error ?? '');
    assert.equal(await jobOutput(c, s), all);
    const r = await c.cli(['job', 'run', 'bigramcount', '--dataset', 'books', '--partitions', '3', '--param', 'min=3', '--param', 'sep=,']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, some);
    const id = /submitted job (\S+)/.exec(r.stderr)![1];
    const done = await c.client().status(id);
    assert.equal(done.counters.reduce.recordsOut, some.split('\n').length - 1, "the reduce tasks' records out are the lines written");
  });

  test('several records per key in emit order, sorted by key, across partitions, and --verify passes', async () => {
    for (const [max, partitions] of [[1_000_000, 3], [2, 2]] as const) {
      const s = await waitForJob(c, await c.client().submit({ type: 'wordlines', dataset: 'books', partitions, params: { max }, verify: true }));
      assert.equal(s.phase, 'done', s.error ?? '');
      assert.equal(await jobOutput(c, s), referenceWordLines(max));
      assert.equal(s.verify?.tasks, s.maps.total + s.reduces.total);
    }
  });

  test("an output written before the binary codec (version 0, JSON) still reads, beside this version's", async () => {
    const s = await waitForJob(c, await c.client().submit({ type: 'wordlines', dataset: 'books', partitions: 3, params: { max: 3 } }));
    assert.equal(s.phase, 'done', s.error ?? '');
    const io = jobDataIO(c.redis.client(), c.keys);
    const [blob] = await getJobValues(io, s.id, [roundOutput(s.round, 1)]);
    assert.equal(blobKind(blob!), 'output');
    const { keys, values } = decodeOutput(blob!);
    // Partition 1 as the JSON [keys, lines] earlier versions wrote; 0 and 2 stay binary.
    await setJobValues(io, s.id, [{ at: roundOutput(s.round, 1), value: encodePairs(keys, values) }]);
    assert.equal(blobKind((await getJobValues(io, s.id, [roundOutput(s.round, 1)]))[0]!), 'json');
    assert.equal(await jobOutput(c, s), referenceWordLines(3));
    const r = await c.cli(['job', 'output', s.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, referenceWordLines(3));
    // A version this code does not know (a newer Tandem's) is refused naming the job, the partition and both versions.
    const newer = Buffer.from(blob!);
    newer[4] = OUTPUT_CODEC_VERSION + 1;
    await setJobValues(io, s.id, [{ at: roundOutput(s.round, 1), value: newer }]);
    await assert.rejects(jobOutput(c, s), new RegExp(`^Error: job ${s.id}: output of reduce partition 1 cannot be read: output blob: written in version ${OUTPUT_CODEC_VERSION + 1} of the format, and this process reads version ${OUTPUT_CODEC_VERSION} `));
  });

  test('a bigram count with min verified: the filter is deterministic', async () => {
    const s = await waitForJob(c, await c.client().submit({ type: 'bigramcount', dataset: 'books', partitions: 2, params: { min: 2 }, verify: true }));
    assert.equal(s.phase, 'done', s.error ?? '');
    assert.equal(await jobOutput(c, s), referenceBigrams(2, '\t'));
  });
});
