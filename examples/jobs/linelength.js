// A job type for Tandem: how many lines have each length, in buckets. Output `length<TAB>lines`,
// shortest first. Install and run: README.md beside this file.
import { defineJobType, lines } from '@tandem/client';

export default defineJobType({
  name: 'linelength',
  description: 'how many lines have each length (in characters, bucketed); output length<TAB>lines',
  formats: ['text'],
  params: {
    bucket: { type: 'integer', min: 1, max: 1_000_000, default: 1, description: 'count lengths in buckets of this many characters' },
    trim: { type: 'boolean', default: false, description: 'leave out leading and trailing white space' },
  },
  map(input, ctx) {
    const { bucket, trim } = ctx.params;
    lines(input, ctx, (line) => {
      const n = Math.floor([...(trim ? line.trim() : line)].length / bucket) * bucket;
      ctx.emit(String(n).padStart(10, '0'), 1); // zero-padded: output is sorted by key
    });
  },
  combine: (a, b) => a + b,
  reduce: (_key, counts) => counts.reduce((a, b) => a + b, 0),
  format: (key, n) => `${Number(key)}\t${n}`,
});
