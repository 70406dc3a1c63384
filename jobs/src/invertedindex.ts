import { lines, type JobType } from '@tandem/shared';

const WORD = /\p{L}+/gu;

/** Inverted index: word → sorted list of the records (1-based line numbers) it occurs in; output `word<TAB>n1,n2,…`. */
export const invertedindex: JobType<Record<string, never>, number[], number[]> = {
  name: 'invertedindex',
  description: 'for each word, the sorted line numbers it occurs on; output word<TAB>line,line,...',
  formats: ['text'],
  params: {},
  map(input, ctx) {
    lines(input, ctx, (line, record) => {
      const seen = new Set<string>();
      for (const m of line.matchAll(WORD)) {
        const w = m[0].toLowerCase();
        if (!seen.has(w)) {
          seen.add(w);
          ctx.emit(w, [record]);
        }
      }
    });
  },
  combine(a, b) {
    for (const x of b) a.push(x);
    return a;
  },
  reduce(_key, values) {
    const all: number[] = [];
    for (const v of values) for (const x of v) all.push(x);
    all.sort((a, b) => a - b);
    return all.filter((x, i) => i === 0 || x !== all[i - 1]);
  },
  format: (word, ids) => `${word}\t${ids.join(',')}`,
};
