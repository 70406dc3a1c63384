/** An iterative job's rounds in words: where it is, iterations done, the latest L1 change. */
import { roundProgress, type JobStatus } from '@tandem/shared';

/** What the set-up rounds and the output round are called: a job type's `stages` (PageRank: building the graph, writing ranks). */
export interface RoundWords {
  setup: string;
  output: string;
}

const generic: RoundWords = { setup: 'set-up round', output: 'output round' };

/** Where an iterative job is, in words, how many iterations have finished, and the latest L1 change. */
export function progressOf(s: JobStatus, words: RoundWords = generic): { stage: string; done: number; delta: number | null } {
  const p = roundProgress(s);
  const stage = { finished: s.phase, output: words.output, setup: `${words.setup} (${p.step} of ${s.plan!.setup})`, iteration: `iteration ${p.step}` }[p.stage];
  return { stage, done: p.done, delta: p.delta };
}

export const fmtDelta = (d: number | null | undefined) => (d === null || d === undefined ? '-' : d.toExponential(3));

/** One line: where an iterative job is, iterations done of the limit, the last round's figures. */
export function roundsLine(s: JobStatus): string {
  const plan = s.plan!;
  const last = s.rounds[s.rounds.length - 1];
  const { stage, done } = progressOf(s);
  const figures = last ? Object.entries(last.stats).map(([k, v]) => `${k} ${Number(v.toPrecision(4))}`).join(', ') : 'none yet';
  return `${stage}; ${done} of at most ${plan.iterations} iterations done (tol ${plan.tol}); last round: ${figures}`;
}
