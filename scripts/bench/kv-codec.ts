/**
 * `npm run bench -- kv-codec` (issue 19): the key/value path's blob codecs in one process, the JSON
 * codec they replaced (`encodePairs`/`decodePairs`, `JSON.stringify([keys, values])`) against the
 * binary ones (shared/src/codec.ts), alternately in one run: encode and decode of
 *  - a word-count-shaped shuffle blob: distinct keys (the sample books' bigrams), int counts;
 *  - a string-valued shuffle blob: the same keys, each with a line of text (grep-shaped);
 *  - an output blob: the same keys with their `key<TAB>count` lines.
 * Medians of `runs`, and new/old ratios (below 1: the binary codec is faster).
 */
import { cpus } from 'node:os';
import { compareCodePoints, decodeOutput, decodePairs, decodeShuffle, encodeOutput, encodePairs, encodeShuffle } from '@tandem/shared';
import { sampleTexts } from './corpus.ts';
import { writeSection } from './report.ts';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** `n` distinct keys: the sample books' bigrams in order of first appearance, numbered beyond them if they run out. */
export function bigramKeys(n: number): string[] {
  const seen = new Set<string>();
  for (const t of sampleTexts()) {
    for (const line of t.toString('utf8').split('\n')) {
      const w = line.toLowerCase().match(/\p{L}+/gu) ?? [];
      for (let i = 0; i + 1 < w.length && seen.size < n; i++) seen.add(`${w[i]} ${w[i + 1]}`);
      if (seen.size >= n) break;
    }
    if (seen.size >= n) break;
  }
  const keys = [...seen];
  for (let i = 0; keys.length < n; i++) keys.push(`${keys[i % seen.size]} ${i}`);
  return keys;
}

interface Workload {
  name: string;
  keys: string[];
  values: unknown[];
  old: { encode: () => Buffer; decode: (b: Buffer) => unknown };
  now: { encode: () => Buffer; decode: (b: Buffer) => unknown };
}

interface Row {
  name: string;
  oldBytes: number;
  newBytes: number;
  oldEncode: number;
  newEncode: number;
  oldDecode: number;
  newDecode: number;
}

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export async function benchKvCodec(opts: { keys: number; runs: number }): Promise<Row[]> {
  const log = (s: string) => console.log(s);
  const keys = bigramKeys(opts.keys);
  const counts = keys.map((_, i) => 1 + ((i * 7919) % 1000));
  const texts = keys.map((k, i) => `line ${i}: ${k} and the rest of the line it was found on`);
  const sorted = [...keys].sort(compareCodePoints);
  const lines = sorted.map((k, i) => `${k}\t${counts[i]}`);
  const workloads: Workload[] = [
    {
      name: `word-count shuffle (${keys.length.toLocaleString('en')} keys, int counts)`, keys, values: counts,
      old: { encode: () => encodePairs(keys, counts), decode: (b) => decodePairs(b) },
      now: { encode: () => encodeShuffle(keys, counts), decode: (b) => decodeShuffle(b) },
    },
    {
      name: `string-valued shuffle (${keys.length.toLocaleString('en')} keys, a line of text each)`, keys, values: texts,
      old: { encode: () => encodePairs(keys, texts), decode: (b) => decodePairs(b) },
      now: { encode: () => encodeShuffle(keys, texts), decode: (b) => decodeShuffle(b) },
    },
    {
      name: `output (${keys.length.toLocaleString('en')} keys and lines)`, keys: sorted, values: lines,
      old: { encode: () => encodePairs(sorted, lines), decode: (b) => decodeOutput(b) },
      now: { encode: () => encodeOutput(sorted, lines), decode: (b) => decodeOutput(b) },
    },
  ];
  const rows: Row[] = [];
  for (const w of workloads) {
    const t = { oe: [] as number[], ne: [] as number[], od: [] as number[], nd: [] as number[] };
    const oldBlob = w.old.encode();
    const newBlob = w.now.encode();
    // Both decode to the same records (a check, not a measurement).
    const a = w.old.decode(oldBlob) as { keys: string[]; values: ArrayLike<unknown> };
    const b = w.now.decode(newBlob) as { keys: string[]; values: ArrayLike<unknown> };
    if (a.keys.join('\n') !== b.keys.join('\n') || JSON.stringify(Array.from(a.values)) !== JSON.stringify(Array.from(b.values))) {
      throw new Error(`${w.name}: the two codecs decode to different records`);
    }
    for (let i = 0; i < opts.runs + 1; i++) {
      // Old and new take turns; run 0 warms both up and is not counted.
      const oe = time(w.old.encode);
      const ne = time(w.now.encode);
      const od = time(() => w.old.decode(oldBlob));
      const nd = time(() => w.now.decode(newBlob));
      if (i === 0) continue;
      t.oe.push(oe);
      t.ne.push(ne);
      t.od.push(od);
      t.nd.push(nd);
    }
    const row = { name: w.name, oldBytes: oldBlob.length, newBytes: newBlob.length, oldEncode: median(t.oe), newEncode: median(t.ne), oldDecode: median(t.od), newDecode: median(t.nd) };
    rows.push(row);
    log(`${w.name}: bytes ${row.oldBytes} JSON, ${row.newBytes} binary; encode ${row.oldEncode.toFixed(1)} → ${row.newEncode.toFixed(1)} ms (${(row.newEncode / row.oldEncode).toFixed(2)}); ` +
      `decode ${row.oldDecode.toFixed(1)} → ${row.newDecode.toFixed(1)} ms (${(row.newDecode / row.oldDecode).toFixed(2)}); ` +
      `all runs: encode JSON ${t.oe.map((x) => x.toFixed(0)).join(',')} binary ${t.ne.map((x) => x.toFixed(0)).join(',')}; decode JSON ${t.od.map((x) => x.toFixed(0)).join(',')} binary ${t.nd.map((x) => x.toFixed(0)).join(',')}`);
  }
  const date = new Date().toISOString().slice(0, 10);
  const ms = (x: number) => x.toFixed(1);
  const path = writeSection('kv-codec', `
## The key/value codecs in one process (issue 19)

Measured ${date} by \`npm run bench -- kv-codec --keys ${opts.keys} --runs ${opts.runs}\` on this machine: ${cpus().length} cores
(${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, shared and noisy. JSON is the codec
before (\`JSON.stringify([keys, values])\` and \`JSON.parse\`), binary the one now (shared/src/codec.ts);
the two take turns, medians of ${opts.runs} runs each (the command prints every run). Keys are the sample
books' bigrams. Ratio: binary / JSON (below 1 is faster).

| blob | bytes JSON → binary | encode ms JSON → binary (ratio) | decode ms JSON → binary (ratio) |
| --- | --- | --- | --- |
${rows.map((r) => `| ${r.name} | ${r.oldBytes.toLocaleString('en')} → ${r.newBytes.toLocaleString('en')} | ${ms(r.oldEncode)} → ${ms(r.newEncode)} (${(r.newEncode / r.oldEncode).toFixed(2)}) | ${ms(r.oldDecode)} → ${ms(r.newDecode)} (${(r.newDecode / r.oldDecode).toFixed(2)}) |`).join('\n')}
`);
  log(`written to ${path}`);
  return rows;
}
