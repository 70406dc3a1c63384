/** Where an iterative job is, read from its status: one reading for the CLI and the console alike. */
import type { StageNames } from './job-type.ts';
import { isFinishedPhase, outputLostText, type JobStatus } from './protocol.ts';

export interface RoundProgress {
  /** Iterations finished (set-up rounds not counted). */
  done: number;
  stage: 'setup' | 'iteration' | 'output' | 'finished';
  /** 1-based: the set-up round or the iteration running now (0 otherwise). */
  step: number;
  /** The latest iteration's L1 change, once there is one. */
  delta: number | null;
}

export function roundProgress(s: JobStatus): RoundProgress {
  const setup = s.plan?.setup ?? 0;
  const done = Math.max(0, s.rounds.length - setup);
  const delta = done > 0 ? (s.rounds[s.rounds.length - 1].stats.delta ?? null) : null;
  if (isFinishedPhase(s.phase)) return { done, stage: 'finished', step: 0, delta };
  if (s.outputRound) return { done, stage: 'output', step: 0, delta };
  if (s.round < setup) return { done, stage: 'setup', step: s.round + 1, delta };
  return { done, stage: 'iteration', step: s.round - setup + 1, delta };
}

/** What a job type without its own names calls its set-up rounds and its output round. */
export const GENERIC_STAGES: StageNames = { setup: 'set-up', output: 'writing the output' };

/**
 * What users call round `round` of job `s`: a set-up step ("building the graph, step 1 of 2"),
 * "iteration k" (1-based, as the convergence chart counts), or the output stage; never the round's
 * index. A one-round job has one round, which needs no name: ''.
 */
export function roundName(s: JobStatus, round: number, names: StageNames = GENERIC_STAGES): string {
  if (!s.plan) return '';
  if (s.outputRound && round === s.round) return names.output;
  if (round < s.plan.setup) return s.plan.setup === 1 ? names.setup : `${names.setup}, step ${round + 1} of ${s.plan.setup}`;
  return `iteration ${round - s.plan.setup + 1}`;
}

/**
 * Why a job's output cannot be read now, or null when it can: still running (its phase and
 * progress, then `howToWait`), failed or cancelled (with the reason), or done with its output lost.
 */
export function outputRefusal(s: JobStatus, howToWait: string): string | null {
  if (!isFinishedPhase(s.phase)) {
    const rounds = s.plan ? `, ${roundProgress(s).done} of at most ${s.plan.iterations} iterations done` : '';
    return `job ${s.id} is still running (${s.phase} phase: ${s.maps.committed}/${s.maps.total} map and ${s.reduces.committed}/${s.reduces.total} reduce tasks committed${rounds}); `
      + `its output can be read once it is done: ${howToWait}`;
  }
  if (s.phase !== 'done') return `job ${s.id} is ${s.phase}; it has no output${s.error ? ` (${s.error})` : ''}`;
  return s.outputLost ? `job ${s.id} is done but ${outputLostText(s)}` : null;
}
