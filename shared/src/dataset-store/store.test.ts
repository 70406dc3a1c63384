import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { RedisConnection } from '../redis.ts';
import { startRedis, type TestRedis } from '../../../test/harness/redis.ts';
import { onEachTopology } from '../../../test/harness/topologies.ts';
import { sleep } from '../../../test/harness/wait.ts';
import {
  DatasetError,
  type DatasetMeta,
  datasetStoreTuning,
  getDataset,
  headDataset,
  listDatasets,
  putDataset,
  readSplit,
  removeDataset,
  requireDataset,
  splitFirstRecords,
  validateDatasetName,
  type PutOptions,
} from './index.ts';
import { keys, type Keys } from '../keys.ts';
import { rejects } from './testing.ts';

let server: TestRedis;
/** The connection of the topology under test, and its KEYS over every primary (set by each section's before). */
let redis: RedisConnection;
let keysMatching: (pattern: string) => Promise<string[]>;

before(async () => {
  server = await startRedis();
});
after(async () => {
  await server?.stop();
});

/** A fresh prefix per test, so "no keys left" can be checked with KEYS prefix:*. */
const fresh = (): Keys => keys('t' + randomBytes(6).toString('hex'));
const keysUnder = async (k: Keys) => (await keysMatching(`${k.prefix}:*`)).sort();

async function* chunks(data: Buffer | string, size = 65536): AsyncGenerator<Buffer> {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function* failingAfter(data: Buffer, bytes: number, size = 700): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes; i += size) yield data.subarray(i, Math.min(i + size, bytes));
  throw new Error('disk on fire');
}

const put = (k: Keys, source: AsyncIterable<Buffer | Uint8Array> | string | Buffer, opts: Partial<PutOptions> & { name: string }) =>
  putDataset(
    redis,
    k,
    typeof source === 'string' || Buffer.isBuffer(source) ? chunks(source, 333) : source,
    { format: 'text', splitBytes: 1024, ...opts },
  );

async function stored(k: Keys, meta: DatasetMeta): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let s = 0; s < meta.splits; s++) out.push(await readSplit(redis, k, meta, s));
  return out;
}

const countLines = (b: Buffer) => {
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
};

/** Deterministic lines of varied length, some multi-byte UTF-8, some empty. */
function makeText(lines: number, seed = 1): string {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const words = ['alpha', 'beta', 'γάμμα', 'δ', '日本語', 'épée', 'x', ''];
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = Math.floor(rnd() * 30);
    const w: string[] = [];
    for (let j = 0; j < n; j++) w.push(words[Math.floor(rnd() * words.length)]);
    out.push(w.join(' '));
  }
  return out.join('\n') + '\n';
}

describe('validateDatasetName', () => {
  test('accepts and rejects names', () => {
    for (const ok of ['a', 'A9', 'web-graph_2024.v1', '0', 'x'.repeat(128)]) validateDatasetName(ok);
    for (const bad of ['', '-a', '.a', '_a', 'a b', 'a:b', 'a{b}', 'a/b', 'x'.repeat(129), 'é']) {
      assert.throws(() => validateDatasetName(bad), DatasetError, bad);
    }
  });
});

onEachTopology((topology) => {
  before(() => {
    redis = topology().redis;
    keysMatching = (pattern) => topology().keys(pattern);
  });

  describe('text datasets', () => {
    test('round trip: splits at line boundaries near splitBytes, concatenation equals the input', async () => {
      const k = fresh();
      const input = Buffer.from(makeText(3000));
      const meta = await put(k, chunks(input, 777), { name: 'words' });
      const parts = await stored(k, meta);
      assert.deepEqual(Buffer.concat(parts), input);
      assert.equal(meta.bytes, input.length);
      assert.equal(meta.records, 3000);
      assert.equal(meta.splits, parts.length);
      assert.ok(meta.splits >= Math.ceil(input.length / 1024), `${meta.splits} splits for ${input.length} bytes`);
      assert.equal(meta.splitRecords.reduce((a, b) => a + b, 0), 3000);
      assert.equal(meta.sha256, createHash('sha256').update(input).digest('hex'));
      assert.equal(meta.format, 'text');
      assert.equal(meta.splitBytes, 1024);
      assert.ok(!Number.isNaN(Date.parse(meta.created)));
      let first = 1;
      for (let s = 0; s < parts.length; s++) {
        const p = parts[s];
        assert.equal(p[p.length - 1], 10, `split ${s} ends with a newline`);
        assert.ok(p.length <= 1024, `split ${s} is ${p.length} bytes`);
        assert.equal(countLines(p), meta.splitRecords[s]);
        assert.equal(splitFirstRecords(meta)[s], first);
        first += meta.splitRecords[s];
        if (s + 1 < parts.length) {
          // greedy: the next split's first line would not have fitted
          const nextLine = parts[s + 1].indexOf(10) + 1;
          assert.ok(p.length + nextLine > 1024, `split ${s} (${p.length} bytes) could have taken ${nextLine} more`);
        }
      }
      // stored as metadata hash with numbers as strings
      const h = await redis.hgetall(k.datasetMeta('words'));
      assert.equal(h.records, '3000');
      assert.deepEqual(JSON.parse(h.splitRecords), meta.splitRecords);
      assert.deepEqual(await getDataset(redis, k, 'words'), meta);
    });

    test('chunking of the source does not change the splits', async () => {
      const k = fresh();
      const input = Buffer.from(makeText(500, 7));
      const a = await put(k, chunks(input, 1), { name: 'a' });
      const b = await put(k, chunks(input, input.length), { name: 'b' });
      const c = await put(k, Readable.from([input.subarray(0, 5000), input.subarray(5000)]), { name: 'c' });
      assert.deepEqual(a.splitRecords, b.splitRecords);
      assert.deepEqual(a.splitRecords, c.splitRecords);
      assert.deepEqual(await stored(k, a), await stored(k, b));
      assert.equal(a.sha256, c.sha256);
    });

    test('a file without a trailing newline gets one; a BOM is dropped; Uint8Array chunks work', async () => {
      const k = fresh();
      const m = await put(k, 'one\ntwo\nthree', { name: 'nonl' });
      assert.equal(m.records, 3);
      assert.equal(Buffer.concat(await stored(k, m)).toString(), 'one\ntwo\nthree\n');
      assert.equal(m.sha256, createHash('sha256').update('one\ntwo\nthree\n').digest('hex'));

      async function* u8() {
        yield new Uint8Array([0xef, 0xbb]);
        yield new Uint8Array([0xbf, 0x68, 0x69]); // "hi"
      }
      const b = await put(k, u8(), { name: 'bom' });
      assert.equal(Buffer.concat(await stored(k, b)).toString(), 'hi\n');
      assert.equal(b.bytes, 3);
    });

    test('a line of exactly splitBytes fits; one byte more fails naming the line and its length', async () => {
      const k = fresh();
      const line = 'x'.repeat(1024);
      const m = await put(k, `a\n${line}\nb\n${line}`, { name: 'exact' });
      assert.deepEqual((await headDataset(redis, k, m, 10)).map((l) => l.length), [1, 1024, 1, 1024]);
      for (const s of await stored(k, m)) assert.ok(s.length <= 1025);

      const before = 'short line\n'.repeat(500); // several splits written before the failure
      await rejects(
        put(k, `${before}${'y'.repeat(5000)}\nafter\n`, { name: 'long' }),
        /^dataset "long": line 501 is 5000 bytes long \(starting at byte offset 5500\), longer than the split size of 1024 bytes/,
      );
      await rejects(put(k, `${before}${'y'.repeat(1025)}`, { name: 'long' }), /line 501 is 1025 bytes long/);
      assert.equal(await getDataset(redis, k, 'long'), null);
      assert.deepEqual(await keysUnder(k), [k.datasetIndex(), k.datasetMeta('exact'), ...splitKeys(k, m)].sort());
    });

    test('bad input: empty file, NUL byte, invalid UTF-8; each names the line and leaves nothing', async () => {
      const k = fresh();
      await rejects(put(k, '', { name: 'e' }), /^dataset "e": the file is empty \(0 bytes\)$/);
      await rejects(put(k, '\ufeff', { name: 'e' }), /^dataset "e": the file is empty/);

      const prefix = 'hello world\n'.repeat(400); // 4800 bytes, 400 lines: some splits are written first
      const nul = Buffer.concat([Buffer.from(prefix + 'ok\nab'), Buffer.from([0]), Buffer.from('cd\nmore\n')]);
      await rejects(put(k, nul, { name: 'bin' }), /^dataset "bin": line 402 contains a NUL byte \(byte offset 4805\); this looks like a binary file/);
      // a binary file without newlines: found before the "line too long" check
      await rejects(put(k, randomBytes(8000).fill(0, 100, 101).fill(10, 0, 100), { name: 'bin2' }), /line 101 contains a NUL byte \(byte offset 100\)/);

      const bad = Buffer.concat([Buffer.from(prefix + 'fine\nstill fine\ncaf'), Buffer.from([0xc3, 0x28]), Buffer.from('\nend\n')]);
      await rejects(put(k, bad, { name: 'u8' }), /^dataset "u8": line 403 is not valid UTF-8 \(byte offset 4819\)/);
      // a truncated multi-byte sequence at the very end of the file
      await rejects(put(k, Buffer.from([0x61, 0x0a, 0xe6, 0x97]), { name: 'u8' }), /line 2 is not valid UTF-8 \(byte offset 2\)/);
      // the same with edges: checked before CSV parsing
      const badEdges = Buffer.concat([Buffer.from('a,b\n'.repeat(1200) + 'c,caf'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
      await rejects(put(k, badEdges, { name: 'u8', format: 'edges' }), /^dataset "u8": line 1201 is not valid UTF-8 \(byte offset 4805\)/);

      assert.deepEqual(await keysUnder(k), []);
    });

    test('onProgress reports increasing byte counts ending at the total', async () => {
      const k = fresh();
      const input = Buffer.from(makeText(2000, 3));
      const seen: number[] = [];
      await put(k, chunks(input, 100), { name: 'p', onProgress: (b) => seen.push(b) });
      assert.ok(seen.length >= 3 && seen.length <= Math.ceil(input.length / 1024) + 2, `${seen.length} calls`);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1]);
      assert.equal(seen.at(-1), input.length);
    });
  });

  const splitKeys = (k: Keys, m: DatasetMeta) => Array.from({ length: m.splits }, (_, s) => k.split(m.name, m.version, s));

  // The normaliser itself is tested in edges.test.ts; here, that the store keeps what it makes.
  describe('edges datasets', () => {
    test('stored normalized, with the format and both hashes in the metadata', async () => {
      const k = fresh();
      const a = await put(k, 'src,dst\n1,2\n2,3\n3,1', { name: 'h', format: 'edges' });
      assert.equal(Buffer.concat(await stored(k, a)).toString(), '1\t2\n2\t3\n3\t1\n');
      assert.equal(a.records, 3);
      assert.equal(a.format, 'edges');
      assert.equal(a.sha256, createHash('sha256').update('1\t2\n2\t3\n3\t1\n').digest('hex'));
      assert.equal(a.sourceSha256, createHash('sha256').update('src,dst\n1,2\n2,3\n3,1').digest('hex'), 'the input as uploaded');
      assert.deepEqual(await getDataset(redis, k, 'h'), a);
      assert.deepEqual(await headDataset(redis, k, a, 2), ['1\t2', '2\t3']);
    });

    test('a bad row, in the first split or after several were written, leaves nothing behind', async () => {
      const k = fresh();
      const head = 'src,dst\n' + 'a,b\n'.repeat(600); // lines 2..601, several splits written first
      await rejects(put(k, '1,2\n3,4,5\n', { name: 'g', format: 'edges' }), /^dataset "g": line 2 has 3 columns, expected 2 \(src,dst\); a file that is not a graph can be stored as lines of text instead \(format text: --format text\)$/);
      await rejects(put(k, head + '"a"x,c\n', { name: 'g', format: 'edges' }), /^dataset "g": line 602 is not valid CSV: Invalid Closing Quote/);
      await rejects(put(k, 'src,dst\n', { name: 'g', format: 'edges' }), /^dataset "g": the file has no edges/);
      assert.deepEqual(await keysUnder(k), []);
    });
  });

  describe('publishing', () => {
    test('exists vs replace; the old version expires instead of vanishing', async () => {
      const k = fresh();
      const v1 = await put(k, 'old\n'.repeat(1000), { name: 'd' });
      let read = false;
      async function* spy() {
        read = true;
        yield Buffer.from('new\n');
      }
      await rejects(put(k, spy(), { name: 'd' }), /^dataset "d" already exists; use --replace$/);
      assert.equal(read, false, 'fails before reading the source');

      const v2 = await put(k, 'new\n'.repeat(10), { name: 'd', replace: true });
      assert.notEqual(v2.version, v1.version);
      assert.deepEqual(await getDataset(redis, k, 'd'), v2);
      assert.deepEqual(await headDataset(redis, k, v2, 2), ['new', 'new']);
      for (const key of splitKeys(k, v1)) {
        const ttl = await redis.pttl(key);
        assert.ok(ttl > 0 && ttl <= datasetStoreTuning.replacedTtlMs, `old split ttl ${ttl}`);
      }
      for (const key of splitKeys(k, v2)) assert.equal(await redis.pttl(key), -1);
      // a job holding the old metadata can still read it for now
      assert.equal((await readSplit(redis, k, v1, 0)).toString().split('\n')[0], 'old');
      await redis.del(splitKeys(k, v1)[0]);
      await rejects(readSplit(redis, k, v1, 0), /^dataset "d": split 0 of version \w+ is gone \(the dataset was replaced or removed\)$/);
      assert.deepEqual((await listDatasets(redis, k)).map((m) => m.name), ['d']);
    });

    test('a source failing halfway leaves no keys and the existing version unchanged', async () => {
      const k = fresh();
      const input = Buffer.from(makeText(2000, 5));
      await assert.rejects(put(k, failingAfter(input, 20_000), { name: 'x' }), /disk on fire/);
      assert.deepEqual(await keysUnder(k), [], 'no trace of a failed first upload');

      const v1 = await put(k, 'keep me\n'.repeat(300), { name: 'x' });
      const before = await keysUnder(k);
      await assert.rejects(put(k, failingAfter(input, 20_000), { name: 'x', replace: true }), /disk on fire/);
      assert.deepEqual(await keysUnder(k), before);
      assert.deepEqual(await getDataset(redis, k, 'x'), v1);
      for (const key of splitKeys(k, v1)) assert.equal(await redis.pttl(key), -1);
      assert.equal(Buffer.concat(await stored(k, v1)).toString(), 'keep me\n'.repeat(300));
      // a bad-input failure on replace behaves the same
      await rejects(put(k, 'fine\n'.repeat(900) + 'bad\0\n', { name: 'x', replace: true }), /line 901 contains a NUL byte/);
      assert.deepEqual(await keysUnder(k), before);
    });

    test('a Readable that errors leaves no keys', async () => {
      const k = fresh();
      const input = Buffer.from(makeText(3000, 8));
      let sent = 0;
      const stream = new Readable({
        read() {
          if (sent >= 30_000) this.destroy(new Error('connection reset'));
          else this.push(input.subarray(sent, (sent += 1000)));
        },
      });
      await assert.rejects(put(k, stream, { name: 'rs' }), /connection reset/);
      assert.deepEqual(await keysUnder(k), []);
    });

    test('splits carry an expiry until published, refreshed while a long upload runs', async () => {
      const k = fresh();
      const saved = { ...datasetStoreTuning };
      datasetStoreTuning.uploadTtlMs = 60_000;
      datasetStoreTuning.refreshMs = 500;
      try {
        const block = Buffer.from('0123456789abcdef\n'.repeat(200)); // 3400 bytes: 4 splits
        let ttlEarly = 0;
        let ttlRefreshed = 0;
        async function* slow() {
          yield block;
          yield block; // forces the first splits out
          await sleep(100);
          const first = (await keysUnder(k)).filter((x) => x.includes('{'));
          assert.ok(first.length >= 3, `splits written while reading: ${first}`);
          ttlEarly = await redis.pttl(first[0]);
          await sleep(2500); // without a refresh, the first split now has at most 57.5 s left
          yield block; // the next split write refreshes the earlier ones
          await sleep(100);
          ttlRefreshed = await redis.pttl(first[0]);
          yield block;
        }
        const m = await put(k, slow(), { name: 'slow' });
        assert.ok(ttlEarly > 0 && ttlEarly <= 60_000, `ttl while uploading ${ttlEarly}`);
        assert.ok(ttlRefreshed > 58_500, `ttl after refresh ${ttlRefreshed} (was ${ttlEarly} 2.6 s before)`);
        for (const key of splitKeys(k, m)) assert.equal(await redis.pttl(key), -1);
      } finally {
        Object.assign(datasetStoreTuning, saved);
      }
    });

    test('losing a publish race fails with "exists" and cleans up', async () => {
      const k = fresh();
      const input = Buffer.from('race\n'.repeat(2000));
      let winner: DatasetMeta | undefined;
      async function* racing() {
        yield input.subarray(0, 5000);
        winner = await put(k, 'winner\n', { name: 'r' });
        yield input.subarray(5000);
      }
      await rejects(put(k, racing(), { name: 'r' }), /^dataset "r" already exists; use --replace$/);
      assert.ok(winner);
      assert.deepEqual(await getDataset(redis, k, 'r'), winner);
      assert.deepEqual(await keysUnder(k), [k.datasetIndex(), k.datasetMeta('r'), ...splitKeys(k, winner)].sort());
    });
  });

  describe('reading, listing, removing', () => {
    test('list, require, head, remove', async () => {
      const k = fresh();
      assert.deepEqual(await listDatasets(redis, k), []);
      await rejects(requireDataset(redis, k, 'nope'), /^dataset "nope" does not exist \(there are no datasets yet\)$/);
      const text = makeText(1000, 9);
      const b = await put(k, text, { name: 'b' });
      const a = await put(k, 'x,y\n', { name: 'a', format: 'edges' });
      assert.deepEqual((await listDatasets(redis, k)).map((m) => m.name), ['a', 'b']);
      assert.deepEqual(await listDatasets(redis, k), [a, b]);
      assert.deepEqual(await requireDataset(redis, k, 'b'), b);
      await rejects(requireDataset(redis, k, 'c'), /^dataset "c" does not exist \(datasets: a, b\)$/);

      const lines = text.split('\n').slice(0, -1);
      assert.ok(b.splits > 5);
      assert.deepEqual(await headDataset(redis, k, b, 5), lines.slice(0, 5));
      const many = b.splitRecords[0] + b.splitRecords[1] + 3; // crosses two split boundaries
      assert.deepEqual(await headDataset(redis, k, b, many), lines.slice(0, many));
      assert.deepEqual(await headDataset(redis, k, b, 1e6), lines);
      assert.deepEqual(await headDataset(redis, k, b, 0), []);
      assert.equal(splitFirstRecords(b).length, b.splits);
      assert.equal(splitFirstRecords(b)[b.splits - 1], 1 + lines.length - b.splitRecords[b.splits - 1]);
      await rejects(readSplit(redis, k, b, -1), /has \d+ splits; there is no split -1/);

      assert.equal(await removeDataset(redis, k, 'b'), true);
      assert.equal(await removeDataset(redis, k, 'b'), false);
      assert.equal(await getDataset(redis, k, 'b'), null);
      await rejects(readSplit(redis, k, b, 0), /is gone/);
      await rejects(headDataset(redis, k, b, 1), /is gone/);
      assert.deepEqual(await keysUnder(k), [k.datasetIndex(), k.datasetMeta('a'), ...splitKeys(k, a)].sort());
      assert.equal(await removeDataset(redis, k, 'a'), true);
      assert.deepEqual(await keysUnder(k), []);
    });

    test('a head larger than the first read window', async () => {
      const k = fresh();
      const line = 'z'.repeat(1000);
      const m = await put(k, `${line}\n`.repeat(300), { name: 'wide', splitBytes: 1 << 20 });
      assert.equal(m.splits, 1);
      const h = await headDataset(redis, k, m, 200);
      assert.equal(h.length, 200);
      assert.ok(h.every((l) => l === line));
    });
  });
});

describe('on one Redis only', () => {
  before(() => {
    redis = server.client();
    keysMatching = (pattern) => redis.keys(pattern);
  });

  test('Redis refusing a write (its memory limit) leaves no keys', async () => {
    const k = fresh();
    // Redis at its memory limit (noeviction) rejects the SETs of a big upload halfway.
    const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    await redis.config('SET', 'maxmemory', String(used + 2_000_000));
    try {
      const big = Buffer.alloc(8_000_000, 'a\n');
      await assert.rejects(
        putDataset(redis, k, chunks(big), { name: 'oom', format: 'text', splitBytes: 256 * 1024 }),
        /OOM/,
      );
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    assert.deepEqual(await keysUnder(k), []);
  });

  describe('throughput (printed, not asserted)', () => {
    const MB = 1e6;
    const splitBytes = 8 * 1024 * 1024;
    // The harness's redis-server appends every write to its AOF; on a slow disk that, not this code,
    // sets the pace. TANDEM_BENCH_NO_AOF=1 turns AOF off for these tests to see the store's own speed.
    before(async () => {
      if (process.env.TANDEM_BENCH_NO_AOF === '1') await redis.config('SET', 'appendonly', 'no');
    });

    test('50 MB of text at 8 MiB splits', async () => {
      const k = fresh();
      const block = Buffer.from(makeText(20_000, 11)); // about 1.6 MB
      const total = 50 * MB;
      const hash = createHash('sha256');
      const parts: Buffer[] = [];
      let len = 0;
      let lines = 0;
      while (len < total) {
        parts.push(block);
        hash.update(block);
        len += block.length;
        lines += 20_000;
      }
      const input = Buffer.concat(parts);
      // Baseline: the same bytes as plain sequential SETs of 8 MiB, what Redis and ioredis allow here.
      let t0 = performance.now();
      for (let i = 0, s = 0; i < input.length; i += splitBytes, s++) await redis.set(`${k.prefix}:raw${s}`, input.subarray(i, i + splitBytes));
      const raw = (performance.now() - t0) / 1000;
      console.log(`baseline: plain SETs of 8 MiB run at ${(input.length / MB / raw).toFixed(0)} MB/s`);
      await redis.del(...Array.from({ length: Math.ceil(input.length / splitBytes) }, (_, s) => `${k.prefix}:raw${s}`));
      t0 = performance.now();
      const m = await putDataset(redis, k, chunks(input, 64 * 1024), { name: 'big', format: 'text', splitBytes });
      const s = (performance.now() - t0) / 1000;
      console.log(`text upload: ${(input.length / MB).toFixed(1)} MB in ${s.toFixed(3)} s = ${(input.length / MB / s).toFixed(0)} MB/s, ${m.splits} splits`);
      assert.equal(m.records, lines);
      assert.equal(m.bytes, input.length);
      assert.equal(m.sha256, hash.digest('hex'));
      assert.ok(m.splits >= 6 && m.splits <= 8);
      await removeDataset(redis, k, 'big');
    });

    for (const [label, quoted, size] of [
      ['10 MB of edges', false, 10],
      ['50 MB of edges', false, 50],
      ['10 MB of edges, every src quoted', true, 10],
    ] as const) {
      test(label, async () => {
        const k = fresh();
        // Built in blocks so the test holds a few big buffers, not millions of strings (GC cost).
        const blocks: Buffer[] = [Buffer.from('src,dst\n')];
        let bytes = 8;
        let n = 0;
        while (bytes < size * MB) {
          const rows: string[] = [];
          for (let i = 0; i < 10_000; i++, n++) {
            rows.push(quoted ? `"node ${n % 100_003}",${(n * 7919) % 100_003}\n` : `${n % 100_003},${(n * 7919) % 100_003}\n`);
          }
          const b = Buffer.from(rows.join(''));
          blocks.push(b);
          bytes += b.length;
        }
        const input = Buffer.concat(blocks);
        const t0 = performance.now();
        const m = await putDataset(redis, k, chunks(input, 64 * 1024), { name: 'g', format: 'edges', splitBytes });
        const s = (performance.now() - t0) / 1000;
        console.log(`${label}: ${(input.length / MB).toFixed(1)} MB in ${s.toFixed(3)} s = ${(input.length / MB / s).toFixed(0)} MB/s, ${m.records} edges`);
        assert.equal(m.records, n);
        const [first] = await headDataset(redis, k, m, 1);
        assert.equal(first, quoted ? 'node 0\t0' : '0\t0');
        await removeDataset(redis, k, 'g');
      });
    }
  });
});
