/**
 * The single-process, single-thread baseline for the word-count benchmark: what one core does with
 * the best kernel and no platform. Reads the file in 8 MiB chunks cut at line boundaries, counts with
 * WordCounter, sorts the words in code point order and formats `word<TAB>count` lines, exactly the
 * output the platform's wordcount job produces.
 *
 *   npx tsx scripts/bench/baseline.ts [MB]     # builds .tandem/bench/corpus-<MB>mb.txt (default 100)
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WordCounter, countWordsNaive } from '../../jobs/src/wordcount-kernel.ts';
import { compareCodePoints } from '../../shared/src/order.ts';
import { buildCorpus } from './corpus.ts';

export const CHUNK_BYTES = 8 * 1024 * 1024;

export interface BaselineResult {
  /** Wall time from the first read to the formatted output. */
  ms: number;
  /** Word occurrences. */
  words: number;
  /** Distinct words. */
  distinct: number;
  /** The output: `word\tcount\n` lines in code point order of word. */
  text: string;
}

/**
 * Successive chunks of the file of about chunkBytes, each ending at a line boundary (the last one
 * ends where the file does). A chunk is a view of a reused buffer: valid until the next one is asked for.
 */
export function* chunksOf(path: string, chunkBytes = CHUNK_BYTES): Generator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(chunkBytes);
    let have = 0;
    for (;;) {
      if (have === buf.length) {
        // A single line longer than the buffer: make room for it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const got = readSync(fd, buf, have, buf.length - have, null);
      if (got === 0) {
        if (have > 0) yield buf.subarray(0, have);
        return;
      }
      const end = have + got;
      const nl = buf.lastIndexOf(0x0a, end - 1);
      if (nl < 0) {
        have = end; // no complete line yet (the carried part holds no newline): read more first
        continue;
      }
      yield buf.subarray(0, nl + 1);
      buf.copy(buf, 0, nl + 1, end);
      have = end - nl - 1;
    }
  } finally {
    closeSync(fd);
  }
}

/** Calls fn with each of chunksOf's chunks (valid during the call only). */
export function forEachChunk(path: string, fn: (chunk: Buffer) => void, chunkBytes = CHUNK_BYTES): void {
  for (const chunk of chunksOf(path, chunkBytes)) fn(chunk);
}

/** Sorts words in code point order and formats `word\tcount\n` lines. */
export function formatCounts(words: string[], counts: number[]): string {
  const order = words.map((_, i) => i);
  order.sort((a, b) => compareCodePoints(words[a], words[b]));
  const lines = new Array<string>(order.length + 1);
  for (let j = 0; j < order.length; j++) lines[j] = `${words[order[j]]}\t${counts[order[j]]}`;
  lines[order.length] = '';
  return lines.join('\n');
}

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/** Word count of the file with WordCounter, timed from the first read to the formatted output. */
export function baselineWordCount(path: string): BaselineResult {
  const t0 = performance.now();
  const counter = new WordCounter();
  forEachChunk(path, (chunk) => counter.add(chunk));
  const { words, counts } = counter.entries();
  const text = formatCounts(words, counts);
  const ms = performance.now() - t0;
  return { ms, words: sum(counts), distinct: words.length, text };
}

/** The same with the naive reference (decode each chunk, regex, a Map per chunk merged into the total). */
export function baselineNaive(path: string): BaselineResult {
  const t0 = performance.now();
  const total = new Map<string, number>();
  forEachChunk(path, (chunk) => {
    for (const [w, c] of countWordsNaive(chunk.toString('utf8'))) total.set(w, (total.get(w) ?? 0) + c);
  });
  const words = [...total.keys()];
  const counts = [...total.values()];
  const text = formatCounts(words, counts);
  const ms = performance.now() - t0;
  return { ms, words: sum(counts), distinct: words.length, text };
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<void> {
  const mb = Number(process.argv[2] ?? 100);
  if (!(mb > 0)) throw new Error(`usage: baseline.ts [MB]  (got ${process.argv[2]})`);
  const path = resolve(REPO, `.tandem/bench/corpus-${mb}mb.txt`);
  const { bytes } = await buildCorpus(path, Math.round(mb * 1_000_000));
  console.log(`corpus ${path}: ${bytes} bytes`);
  const k = baselineWordCount(path);
  console.log(`kernel: ${k.ms.toFixed(0)} ms  (${k.words} words, ${k.distinct} distinct, ${(bytes / 1e6 / (k.ms / 1000)).toFixed(1)} MB/s)`);
  const n = baselineNaive(path);
  console.log(`naive:  ${n.ms.toFixed(0)} ms  (${n.words} words, ${n.distinct} distinct, ${(bytes / 1e6 / (n.ms / 1000)).toFixed(1)} MB/s)`);
  if (n.text !== k.text) {
    console.error('MISMATCH: kernel and naive outputs differ');
    process.exitCode = 1;
  } else {
    console.log(`outputs identical (${k.text.length} chars)`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
