/**
 * Verified jobs in words (docs/DESIGN.md §3.6): where the two runs of a task differ, and what a
 * job's status says about its verification. Pure, so the CLI, the console and the worker share it.
 */
import { decodeAnyPairs } from './codec.ts';
import { compareCodePoints } from './order.ts';
import type { JobStatus } from './protocol.ts';

/** The event a verified task's run logs when it recorded itself before the other run: that one compares, then commits or fails the task. */
export const VERIFY_RUN_RECORDED = 'task run recorded (--verify: its other run compares and commits)';

/** The first key (in code point order) whose value differs between two outputs; `key` null when only their order differs. */
export interface Difference {
  key: string | null;
  /** The value (or values, comma-separated) each run wrote for the key, as JSON, or undefined where the run wrote none. */
  first?: string;
  check?: string;
}

function valuesByKey(blob: Buffer | null): Map<string, string> {
  const m = new Map<string, string>();
  if (!blob) return m;
  const { keys, values } = decodeAnyPairs(blob);
  for (let i = 0; i < keys.length; i++) {
    // A map output holds a key once; a reduce output holds it once per record the reduce emitted: all of them, in order.
    const prev = m.get(keys[i]);
    const v = JSON.stringify(values[i]);
    m.set(keys[i], prev === undefined ? v : `${prev}, ${v}`);
  }
  return m;
}

/** Where two outputs (shuffle or output blobs, codec.ts; null for one that is missing) first differ. */
export function firstDifference(first: Buffer | null, check: Buffer | null): Difference {
  const a = valuesByKey(first);
  const b = valuesByKey(check);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort(compareCodePoints);
  for (const key of keys) {
    if (a.get(key) !== b.get(key)) return { key, first: a.get(key), check: b.get(key) };
  }
  return { key: null };
}

/** Values are cut to this many characters in a message. */
const SHOWN = 200;

const shown = (v: string | undefined) => (v === undefined ? 'nothing' : v.length > SHOWN ? `${v.slice(0, SHOWN)}… (${v.length} characters)` : v);

/**
 * The reason a verified job fails: which task, which output, the first key that differs and what
 * each run wrote for it, and what usually causes it.
 */
export function mismatchMessage(task: { kind: 'map' | 'reduce'; index: number }, partition: number, d: Difference): string {
  const what = `${task.kind} task ${task.index}`;
  const where = task.kind === 'map' ? ` for partition ${partition}` : '';
  const cause = task.kind === 'map'
    ? 'a map that reads the clock, randomness or state left by an earlier call, or a combiner that is not associative'
    : "a reduce (or a combiner) whose result depends on the order of a key's values or of the keys, or that reads the clock or randomness";
  if (d.key === null) {
    return `the two runs of ${what} (--verify) wrote different bytes${where}, with the same keys and values in another order; ` +
      `the job type is not deterministic (${cause}). Every task must write the same bytes each time it runs.`;
  }
  return `the two runs of ${what} (--verify) differ${where} at key ${JSON.stringify(d.key)}: the first run wrote ${shown(d.first)}, ` +
    `the second ${shown(d.check)}. The job type is not deterministic (${cause}); a rerun after a failure would change the output.`;
}

/** What the status says of a verified job: its tasks verified so far and where their runs ran, or null for a job without --verify. */
export function verifyText(s: Pick<JobStatus, 'phase' | 'verify'>): string | null {
  const v = s.verify;
  if (!v) return null;
  const plural = (n: number) => `${n} task${n === 1 ? '' : 's'}`;
  if (s.phase === 'done') {
    const where = v.sameWorker === 0
      ? ', each time on two different workers'
      : v.sameWorker === v.tasks
        ? '; both runs of every task were on one worker (no other worker was online to take the second)'
        : `; both runs of ${v.sameWorker} of ${plural(v.tasks)} were on one worker (no other worker took the second)`;
    return `verified: every task ran twice, outputs identical${where}`;
  }
  if (s.phase === 'map' || s.phase === 'reduce') return `verify: every task runs twice and must write identical outputs; ${plural(v.tasks)} verified so far`;
  return `verify: ${plural(v.tasks)} ran twice with identical outputs before the job ${s.phase === 'failed' ? 'failed' : 'was cancelled'}`;
}
