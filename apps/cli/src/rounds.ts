/** Showing an iterative job's rounds: a progress bar across iterations, and a one-line summary. */
import cliProgress from 'cli-progress';
import { isFinishedPhase, roundProgress, type JobStatus, type MasterClient } from '@tandem/shared';

/** What the set-up rounds and the output round are called (PageRank: building the graph, writing ranks). */
export interface RoundWords {
  setup: string;
  output: string;
}

const generic: RoundWords = { setup: 'set-up round', output: 'output round' };

/** Where an iterative job is, in words, how many iterations have finished, and the latest L1 change. */
function progressOf(s: JobStatus, words: RoundWords): { stage: string; done: number; delta: number | null } {
  const p = roundProgress(s);
  const stage = { finished: s.phase, output: words.output, setup: `${words.setup} (${p.step} of ${s.plan!.setup})`, iteration: `iteration ${p.step}` }[p.stage];
  return { stage, done: p.done, delta: p.delta };
}

export const fmtDelta = (d: number | null | undefined) => (d === null || d === undefined ? '-' : d.toExponential(3));

/**
 * Follows an iterative job (long polls) until it finishes: a bar across iterations with the current
 * L1 change on a terminal, a line per change otherwise.
 */
export async function followRounds(client: MasterClient, jobId: string, first: JobStatus, words: RoundWords = generic): Promise<JobStatus> {
  const plan = first.plan!;
  const bars = process.stderr.isTTY
    ? new cliProgress.MultiBar(
        { format: '{stage} [{bar}] {value}/{total} iterations | L1 change {delta}', stream: process.stderr, hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const bar = bars?.create(plan.iterations, 0, { stage: 'submitted', delta: '-' });
  // Ctrl-C exits from its caller's handler; give the terminal its cursor back.
  const restore = () => bars?.stop();
  process.once('exit', restore);
  let last = '';
  let s = first;
  try {
    for (;;) {
      const p = progressOf(s, words);
      bar?.update(p.done, { stage: p.stage, delta: fmtDelta(p.delta) });
      const line = `${p.stage}: ${p.done}/${plan.iterations} iterations done, L1 change ${fmtDelta(p.delta)}`;
      if (!bars && line !== last) process.stderr.write(`${line}\n`);
      last = line;
      for (const alert of s.alerts) (bars ? bars.log(`warning: ${alert}\n`) : process.stderr.write(`warning: ${alert}\n`));
      if (isFinishedPhase(s.phase)) return s;
      s = await client.status(jobId, { after: s.version, waitMs: s.alerts.length ? 5000 : 20_000 });
    }
  } finally {
    bars?.stop();
    process.off('exit', restore);
  }
}

/** One line: where an iterative job is, iterations done of the limit, the last round's figures. */
export function roundsLine(s: JobStatus): string {
  const plan = s.plan!;
  const last = s.rounds[s.rounds.length - 1];
  const { stage, done } = progressOf(s, generic);
  const figures = last ? Object.entries(last.stats).map(([k, v]) => `${k} ${Number(v.toPrecision(4))}`).join(', ') : 'none yet';
  return `${stage}; ${done} of at most ${plan.iterations} iterations done (tol ${plan.tol}); last round: ${figures}`;
}
