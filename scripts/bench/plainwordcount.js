// A user's plain word count, for `npm run bench -- scale` (issue 19): what a new user writes with
// @tandem/client and nothing tuned. The map emits (word, 1) for every word of every line, a combiner
// sums, reduce sums, format prints `word<TAB>count`. A word is what the built-in wordcount counts (a
// maximal run of Unicode letters, lower-cased), so the outputs are equal. The benchmark copies this
// file into a jobs folder under .tandem/bench/ (TANDEM_JOBS_DIR) and also runs these same functions
// in one process (scripts/bench/single.ts) as the baseline.
import { defineJobType, lines } from '@tandem/client';

export default defineJobType({
  name: 'plainwordcount',
  description: "count words the plain way: (word, 1) per word, a combiner; output word<TAB>count",
  formats: ['text'],
  params: {},
  map(input, ctx) {
    lines(input, ctx, (line) => {
      for (const m of line.matchAll(/\p{L}+/gu)) ctx.emit(m[0].toLowerCase(), 1);
    });
  },
  combine: (a, b) => a + b,
  reduce: (_word, counts) => counts.reduce((a, b) => a + b, 0),
  format: (word, n) => `${word}\t${n}`,
});
