/** Writes a benchmark's results into docs/BENCHMARKS.md between its own markers, keeping the rest. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from '../../apps/cli/src/processes.ts';

export function writeSection(name: string, markdown: string): string {
  const path = resolve(repoRoot, 'docs/BENCHMARKS.md');
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, doc);
  return path;
}

export const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
