/**
 * Following a job until it finishes (`job run`, `pagerank`): the client's watch (@tandem/client's
 * `jobs.watch`, long polls through failovers) and, on every change, a display fitted to the job: map and
 * reduce bars, or for an iterative job a bar across iterations with the current L1 change. On a
 * terminal it draws bars; otherwise it prints a line whenever that line changes, so logs of scripted
 * runs show progress too.
 */
import cliProgress from 'cli-progress';
import type { JobStatus } from '@tandem/shared';
import type { Tandem } from '../../../client/src/index.ts';
import { fmtDelta, progressOf, type RoundWords } from './rounds.ts';

interface Display {
  show(s: JobStatus): void;
  warn(alert: string): void;
  stop(): void;
}

const multiBar = (format: string) =>
  new cliProgress.MultiBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);

/** Prints a line when it differs from the last one (the text display). */
function lines(): (line: string) => void {
  let last = '';
  return (line) => {
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
  };
}

function taskDisplay(first: JobStatus): Display {
  const bars = process.stderr.isTTY ? multiBar('{phase} [{bar}] {value}/{total} tasks') : null;
  const map = bars?.create(first.maps.total, 0, { phase: 'map   ' });
  const reduce = bars?.create(first.reduces.total, 0, { phase: 'reduce' });
  const say = lines();
  return {
    show(s) {
      map?.update(s.maps.committed);
      reduce?.update(s.reduces.committed);
      if (!bars) say(`${s.phase}: map ${s.maps.committed}/${s.maps.total}, reduce ${s.reduces.committed}/${s.reduces.total}`);
    },
    warn: (alert) => (bars ? bars.log(`warning: ${alert}\n`) : process.stderr.write(`warning: ${alert}\n`)),
    stop: () => bars?.stop(),
  };
}

function roundDisplay(first: JobStatus, words?: RoundWords): Display {
  const plan = first.plan!;
  const bars = process.stderr.isTTY ? multiBar('{stage} [{bar}] {value}/{total} iterations | L1 change {delta}') : null;
  const bar = bars?.create(plan.iterations, 0, { stage: 'submitted', delta: '-' });
  const say = lines();
  return {
    show(s) {
      const p = progressOf(s, words);
      bar?.update(p.done, { stage: p.stage, delta: fmtDelta(p.delta) });
      if (!bars) say(`${p.stage}: ${p.done}/${plan.iterations} iterations done, L1 change ${fmtDelta(p.delta)}`);
    },
    warn: (alert) => (bars ? bars.log(`warning: ${alert}\n`) : process.stderr.write(`warning: ${alert}\n`)),
    stop: () => bars?.stop(),
  };
}

export interface FollowOptions {
  /** What an iterative job's set-up and output rounds are called. */
  words?: RoundWords;
  /** On Ctrl-C, say how to follow the job again (this command) and exit 130, leaving the job running. */
  resumeWith?: string;
}

/** Follows a job until it is done, failed or cancelled; returns its last status. */
export async function followJob(tandem: Tandem, jobId: string, o: FollowOptions = {}): Promise<JobStatus> {
  let display: Display | null = null;
  // Ctrl-C exits from a signal handler; give the terminal its cursor back.
  const restore = () => display?.stop();
  const interrupt = () => {
    restore();
    process.stderr.write(`\njob ${jobId} keeps running; follow it with: ${o.resumeWith}\n`);
    process.exit(130);
  };
  process.once('exit', restore);
  if (o.resumeWith) process.once('SIGINT', interrupt);
  let alerts = new Set<string>();
  try {
    return await tandem.jobs.wait(jobId, ({ status: s }) => {
      display ??= s.plan ? roundDisplay(s, o.words) : taskDisplay(s);
      display.show(s);
      // An alert is said once, when it appears, however many changes it lasts through.
      for (const alert of s.alerts) if (!alerts.has(alert)) display.warn(alert);
      alerts = new Set(s.alerts);
    });
  } finally {
    restore();
    process.off('exit', restore);
    process.off('SIGINT', interrupt);
  }
}
