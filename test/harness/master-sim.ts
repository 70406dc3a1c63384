/**
 * An in-process simulation of the replicated master, for proving the linearizability checker on
 * histories a real master could produce, and on histories of masters with a planted bug.
 *
 * Virtual time in ms, one seeded random source, so a seed replays exactly. A primary and a backup
 * hold `MasterState`s changed only by the real `apply` (apps/master/src/state.ts); a durable log
 * holds every committed op. Concurrent clients submit (each request named (clientId, n)), read
 * their jobs, cancel some, with random network delays, lost replies and retries with the same
 * request ids as MasterClient does, giving up after a while (the outcome is then unknown). Workers
 * commit tasks through the primary. A nemesis crashes the primary now and then: its undelivered
 * replies are lost, and after a pause the backup is promoted and a fresh backup gets its snapshot.
 *
 * The correct master commits an op (log, backup, primary) before it answers, and answers reads from
 * the primary. Each bug breaks exactly one rule:
 * - `staleReads`: a read may be answered by the backup, which applies the primary's ops late;
 * - `forgetfulDedupe`: a promoted backup starts with an empty dedupe table (client sessions);
 * - `ackBeforeLog`: the primary applies and answers an op at once and writes it to the log and the
 *   backup a little later, so a crash in between loses an acknowledged op.
 *
 * The simulation also notes, from its own insides, when a bug became visible to a client (an
 * oracle independent of the checker): an acknowledged job missing from the final table, a request
 * with two jobs, a read older than what its client already knew.
 */
import { apply, emptyState, type MasterState, type Op, type Reply } from '../../apps/master/src/state.ts';
import { testCommit, testSpec } from '../../apps/master/src/test-support.ts';
import { isFinishedPhase } from '@tandem/shared';
import type { JobOp, JobOutput, Observed } from './job-table-model.ts';

export type Bug = 'staleReads' | 'forgetfulDedupe' | 'ackBeforeLog';

export interface SimOptions {
  seed: number;
  bug?: Bug;
  clients?: number;
  /** Virtual ms during which clients start new work and the nemesis crashes primaries. */
  durationMs?: number;
  /** Status reads a client makes of each job it submitted, at least and at most (default 2 to 7). */
  reads?: [number, number];
}

export interface SimResult {
  ops: JobOp[];
  failovers: number;
  /** What the simulation saw the bug do to a client (empty when it stayed invisible, or there is no bug). */
  visible: string[];
}

/** mulberry32: a small seeded generator, so every run of a seed is the same. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, between: (lo: number, hi: number) => lo + next() * (hi - lo), chance: (p: number) => next() < p };
}

type Request =
  | { kind: 'change'; op: (at: number, jobId: string) => Op }
  | { kind: 'status'; jobId: string }
  | { kind: 'list' };
type Answer = { reply?: Reply; job?: Observed | null; jobs?: Observed[] };

const observe = (state: MasterState, jobId: string): Observed | null => {
  const j = state.jobs[jobId];
  return j ? { id: j.id, phase: j.phase, version: j.version, submittedBy: j.submittedBy } : null;
};

export function simulate(opts: SimOptions): SimResult {
  const rng = random(opts.seed);
  const duration = opts.durationMs ?? 1500;
  const spec = testSpec(2, 2);
  let now = 0;
  const queue: { at: number; seq: number; run: () => void }[] = [];
  let seq = 0;
  const at = (t: number, run: () => void) => {
    queue.push({ at: t, seq: seq++, run });
  };
  const net = () => rng.between(1, 8);

  // The masters. `epoch` changes at every crash, so work scheduled by a crashed primary is dropped.
  let primary: MasterState | null = emptyState();
  let backup: MasterState = emptyState();
  /** Ops the backup holds but has not applied yet (staleReads: it applies them late). */
  let backupLag: Op[] = [];
  const log: Op[] = [];
  let epoch = 0;
  let failovers = 0;
  let jobCounter = 0;
  const visible: string[] = [];

  const toBackup = (op: Op) => {
    if (opts.bug !== 'staleReads') {
      backup = apply(backup, op).state;
      return;
    }
    backupLag.push(op);
    at(now + rng.between(10, 60), () => {
      if (backupLag[0] === op) backup = apply(backup, backupLag.shift()!).state;
    });
  };
  const commit = (op: Op) => {
    log.push(op);
    toBackup(op);
    const r = apply(primary!, op);
    primary = r.state;
    return r.reply;
  };

  /** The primary handles a change: commit, then answer (the correct order), or the other way round. */
  const change = (make: (at: number, jobId: string) => Op, answer: (a: Answer) => void) => {
    const e = epoch;
    const op = make(now, `j${(++jobCounter).toString(36)}`);
    if (opts.bug === 'ackBeforeLog') {
      const r = apply(primary!, op);
      primary = r.state;
      answer({ reply: r.reply });
      at(now + rng.between(2, 20), () => {
        if (epoch !== e) return; // crashed before it wrote the log: the acknowledged op is gone
        log.push(op);
        toBackup(op);
      });
      return;
    }
    at(now + rng.between(1, 6), () => {
      if (epoch === e) answer({ reply: commit(op) });
    });
  };

  const crash = () => {
    epoch++;
    failovers++;
    primary = null;
    at(now + rng.between(10, 40), () => {
      let promoted = backup;
      for (const op of backupLag) promoted = apply(promoted, op).state;
      backupLag = [];
      if (opts.bug === 'forgetfulDedupe') promoted = { ...promoted, clients: {} };
      primary = promoted;
      backup = promoted; // the new backup installs the new primary's snapshot
      epoch++;
    });
  };

  /** Delivers a request to whichever master serves it now; the answer comes back unless that master crashes first. */
  const send = (req: Request, onAnswer: (a: Answer) => void) => {
    at(now + net(), () => {
      if (!primary) return; // not primary / unreachable: the client times out and retries
      const e = epoch;
      const deliver = (a: Answer) => at(now + net(), () => {
        if (epoch === e || req.kind !== 'change') onAnswer(a);
      });
      if (req.kind === 'change') change(req.op, deliver);
      else if (req.kind === 'list') deliver({ jobs: Object.keys(primary.jobs).map((id) => observe(primary!, id)!) });
      else {
        const useBackup = opts.bug === 'staleReads' && rng.chance(0.5);
        deliver({ job: observe(useBackup ? backup : primary, req.jobId) });
      }
    });
  };

  const ops: JobOp[] = [];
  /** One client call: retried with the same request until answered or given up (its output then unknown). */
  const call = (client: string, input: JobOp['input'], req: Request, output: (a: Answer) => JobOutput | undefined, then: (out: JobOutput | undefined) => void) => {
    const rec: JobOp = { client, input, output: undefined, call: now };
    ops.push(rec);
    const giveUpAt = now + 250;
    let attempt = 0;
    const tryOnce = () => {
      const mine = ++attempt;
      send(req, (a) => {
        if (mine !== attempt || rec.ret !== undefined) return; // a superseded attempt's late reply: nobody listens
        rec.ret = now;
        rec.output = output(a);
        then(rec.output);
      });
      at(now + 30, () => {
        if (rec.ret !== undefined || mine !== attempt) return;
        if (now >= giveUpAt) {
          attempt++;
          then(undefined);
        } else tryOnce();
      });
    };
    tryOnce();
  };

  const submitOutput = (a: Answer): JobOutput => (a.reply!.ok ? { kind: 'submitted', jobId: a.reply!.jobId } : { kind: 'refused', code: a.reply!.code });

  const clientLoop = (k: number) => {
    const client = `c${k}`;
    let n = 0;
    // What the client knows of its jobs (for the oracle): the least version it may still read.
    const known = new Map<string, number>();
    const next = () => {
      if (now > duration) return;
      const requestId = String(++n);
      call(client, { kind: 'submit', clientId: client, requestId },
        { kind: 'change', op: (t, jobId) => ({ op: 'submit', at: t, jobId, spec, clientId: client, requestId, firstUnanswered: requestId }) },
        submitOutput, (out) => {
          if (out?.kind !== 'submitted') return at(now + rng.between(1, 20), next);
          known.set(out.jobId, 1);
          follow(out.jobId, Math.round(rng.between(...(opts.reads ?? [2, 7]))));
        });
    };
    const follow = (jobId: string, reads: number) => {
      if (reads === 0) return at(now + rng.between(1, 20), next);
      at(now + rng.between(1, 25), () => {
        if (rng.chance(0.15)) {
          const requestId = String(++n);
          call(client, { kind: 'cancel', jobId, clientId: client, requestId },
            { kind: 'change', op: (t) => ({ op: 'cancel', at: t, jobId, clientId: client, requestId, firstUnanswered: requestId }) },
            (a) => (a.reply!.ok ? { kind: 'changed' } : { kind: 'refused', code: a.reply!.code }), () => follow(jobId, reads - 1));
          return;
        }
        const knew = known.get(jobId) ?? 0;
        call(client, { kind: 'status', jobId }, { kind: 'status', jobId },
          (a) => (a.job ? { kind: 'status', job: a.job } : { kind: 'not_found' }), (out) => {
            if (out?.kind === 'status') {
              if (out.job.version < knew) visible.push(`${client} read ${jobId} at v${out.job.version} after knowing v${knew}`);
              known.set(jobId, Math.max(knew, out.job.version));
            }
            if (out?.kind === 'not_found') visible.push(`${client} read ${jobId} as not found after its submit was acknowledged`);
            follow(jobId, reads - 1);
          });
      });
    };
    at(rng.between(0, 10), next);
  };
  for (let k = 0; k < (opts.clients ?? 4); k++) clientLoop(k);

  // Workers: every few ms one task of a running job commits (or, rarely, fails), through the primary.
  const worker = () => {
    if (primary) {
      const running = Object.values(primary.jobs).filter((j) => !isFinishedPhase(j.phase));
      if (running.length) {
        const job = running[Math.floor(rng.next() * running.length)];
        const tasks = job.phase === 'map' ? job.maps : job.reduces;
        const index = tasks.findIndex((t) => t.state !== 'committed');
        const ref = { jobId: job.id, round: job.round, kind: job.phase as 'map' | 'reduce', index: Math.max(0, index) };
        change((t) => (rng.chance(0.03) ? { op: 'failed', at: t, reason: 'simulated task failure', ...ref } : { op: 'committed', at: t, commit: testCommit(), ...ref }), () => {});
      }
    }
    if (now < duration + 2000) at(now + rng.between(3, 12), worker);
  };
  at(5, worker);
  const nemesis = () => {
    if (now > duration) return;
    if (primary) crash();
    at(now + rng.between(80, 250), nemesis);
  };
  at(rng.between(50, 150), nemesis);

  while (queue.length) {
    let i = 0;
    for (let j = 1; j < queue.length; j++) if (queue[j].at < queue[i].at || (queue[j].at === queue[i].at && queue[j].seq < queue[i].seq)) i = j;
    const [e] = queue.splice(i, 1);
    now = e.at;
    e.run();
  }

  // The final table, read by an observer once everything settled (it is part of the history).
  const final = primary ?? backup;
  const jobs = Object.keys(final.jobs).map((id) => observe(final, id)!);
  ops.push({ client: 'observer', call: now + 1, ret: now + 2, input: { kind: 'list' }, output: { kind: 'list', jobs } });
  for (const op of ops) {
    if (op.input.kind === 'submit' && op.output?.kind === 'submitted' && !final.jobs[op.output.jobId]) visible.push(`acknowledged job ${op.output.jobId} is gone`);
  }
  const byRequest = new Map<string, number>();
  for (const j of jobs) {
    const k = `${j.submittedBy!.clientId}/${j.submittedBy!.requestId}`;
    byRequest.set(k, (byRequest.get(k) ?? 0) + 1);
    if (byRequest.get(k) === 2) visible.push(`request ${k} made two jobs`);
  }
  return { ops, failovers, visible };
}
