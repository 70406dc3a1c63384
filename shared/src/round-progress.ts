/** Where an iterative job is, read from its status: one reading for the CLI and the console alike. */
import { isFinishedPhase, type JobStatus } from './protocol.ts';

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
