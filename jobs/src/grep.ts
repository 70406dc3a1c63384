import { lines, paramSchema, type JobType, type ParamsOf } from '@tandem/shared';

const params = paramSchema({
  pattern: { type: 'string', required: true, description: 'the regular expression to match (JavaScript syntax)' },
  flags: { type: 'string', default: '', pattern: '[imsu]*', description: 'regular expression flags: any of i (ignore case), m, s, u' },
});

type Params = ParamsOf<typeof params>;
interface Match {
  split: number;
  line: number;
  text: string;
}

/**
 * Lines matching a regular expression, with split and line number: output `line<TAB>split<TAB>text`,
 * in line order (keys are zero-padded line numbers so code point order is numeric order).
 */
export const grep: JobType<Params, Match, Match> = {
  name: 'grep',
  description: 'lines matching a regular expression; output line<TAB>split<TAB>text, in line order',
  formats: ['text', 'edges'],
  params,
  check(p) {
    try {
      new RegExp(p.pattern, p.flags);
      return undefined;
    } catch (err) {
      return { param: 'pattern', problem: `not a valid regular expression: ${(err as Error).message}` };
    }
  },
  map(input, ctx) {
    const re = new RegExp(ctx.params.pattern, ctx.params.flags);
    lines(input, ctx, (line, record) => {
      if (re.test(line)) ctx.emit(String(record).padStart(15, '0'), { split: ctx.split, line: record, text: line });
    });
  },
  reduce: (_key, values) => values[0],
  format: (_key, m) => `${m.line}\t${m.split}\t${m.text}`,
};
