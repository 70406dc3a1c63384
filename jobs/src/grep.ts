import { z } from 'zod';
import { lines, type JobType } from '@tandem/shared';

const params = z
  .object({
    pattern: z.string({ error: 'required: the regular expression to match (--param pattern=REGEX)' }).min(1),
    flags: z.string().regex(/^[imsu]*$/, 'only the flags i, m, s and u are allowed').default(''),
  })
  .strict()
  .superRefine((p, ctx) => {
    try {
      new RegExp(p.pattern, p.flags);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: `not a valid regular expression: ${(err as Error).message}` });
    }
  });

type Params = z.infer<typeof params>;
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
  description: 'lines matching --param pattern=REGEX [flags=i]; output line<TAB>split<TAB>text',
  formats: ['text', 'edges'],
  params,
  map(input, ctx) {
    const re = new RegExp(ctx.params.pattern, ctx.params.flags);
    lines(input, ctx, (line, record) => {
      if (re.test(line)) ctx.emit(String(record).padStart(15, '0'), { split: ctx.split, line: record, text: line });
    });
  },
  reduce: (_key, values) => values[0],
  format: (_key, m) => `${m.line}\t${m.split}\t${m.text}`,
};
