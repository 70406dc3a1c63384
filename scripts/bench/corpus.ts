/**
 * Builds the benchmark's text corpus: the sample texts in datasets/*.txt concatenated over and over
 * until about targetBytes. Written as a stream; an existing corpus of the right size is kept.
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

/** The repository's datasets/ folder. */
export const DATASETS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../datasets');

/** The sample texts (datasets/*.txt) in name order, each ending with a newline. */
export function sampleTexts(dir = DATASETS_DIR): Buffer[] {
  const names = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
  const texts = names
    .map((f) => readFileSync(join(dir, f)))
    .filter((b) => b.length > 0)
    .map((b) => (b[b.length - 1] !== 0x0a ? Buffer.concat([b, Buffer.from('\n')]) : b));
  if (texts.length === 0) throw new Error(`no non-empty *.txt sample texts in ${dir}`);
  return texts;
}

/**
 * Size the corpus will have for targetBytes: whole sample files are appended while the total stays
 * at most targetBytes, then the next file is cut at the last line boundary that fits (so the corpus
 * is whole lines and at most targetBytes, unless even one line would not fit).
 */
function plan(texts: Buffer[], targetBytes: number): { pieces: Buffer[]; bytes: number } {
  const pieces: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; bytes < targetBytes; i = (i + 1) % texts.length) {
    const t = texts[i];
    if (bytes + t.length <= targetBytes) {
      pieces.push(t);
      bytes += t.length;
      continue;
    }
    const room = targetBytes - bytes;
    const cut = t.lastIndexOf(0x0a, room - 1);
    if (cut >= 0) {
      pieces.push(t.subarray(0, cut + 1));
      bytes += cut + 1;
    } else if (bytes === 0) {
      const nl = t.indexOf(0x0a);
      pieces.push(t.subarray(0, nl + 1));
      bytes += nl + 1;
    }
    break;
  }
  return { pieces, bytes };
}

/** Writes a corpus of about targetBytes at path (whole lines of the sample texts, repeated). */
export async function buildCorpus(path: string, targetBytes: number): Promise<{ bytes: number }> {
  const { pieces, bytes } = plan(sampleTexts(), targetBytes);
  if (existsSync(path) && statSync(path).size === bytes) return { bytes };
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  for (const p of pieces) {
    if (!out.write(p)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  renameSync(tmp, path);
  return { bytes };
}
