/** Sequential in-process references the platform's outputs are compared with (MIT's mrsequential). */
import { compareCodePoints } from '@tandem/shared';
import { countWordsNaive } from '@tandem/jobs';

const sortLines = (m: Map<string, string>) => [...m.keys()].sort(compareCodePoints).map((k) => m.get(k)!).join('\n') + (m.size ? '\n' : '');

export function referenceWordCount(text: string): string {
  const counts = countWordsNaive(text);
  return sortLines(new Map([...counts].map(([w, n]) => [w, `${w}\t${n}`])));
}

export function referenceInvertedIndex(text: string): string {
  const index = new Map<string, number[]>();
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/\p{L}+/gu)) {
      const w = m[0].toLowerCase();
      const ids = index.get(w) ?? [];
      if (ids[ids.length - 1] !== i + 1) ids.push(i + 1);
      index.set(w, ids);
    }
  });
  return sortLines(new Map([...index].map(([w, ids]) => [w, `${w}\t${ids.join(',')}`])));
}
