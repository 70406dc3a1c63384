import type { JobType } from '@tandem/shared';
import { WordCounter } from './wordcount-kernel.ts';

/** Reused across map calls (map is synchronous, so calls never interleave in a process). */
const counter = new WordCounter();

/** Word count: a word is a maximal run of Unicode letters, lower-cased; output `word<TAB>count`. */
export const wordcount: JobType<Record<string, never>, number, number> = {
  name: 'wordcount',
  description: 'count words (maximal runs of Unicode letters, lower-cased); output word<TAB>count',
  formats: ['text'],
  params: {},
  map(input, ctx) {
    counter.clear();
    counter.add(input);
    const { words, counts } = counter.entries();
    for (let i = 0; i < words.length; i++) ctx.emit(words[i], counts[i]);
  },
  combine: (a, b) => a + b,
  reduce: (_key, values) => {
    let sum = 0;
    for (const v of values) sum += v;
    return sum;
  },
  format: (word, count) => `${word}\t${count}`,
};
