// The linearizability checker and the job table's model, tick by tick: hand-written histories that
// are and are not linearizable, the search's budget, its explanations; (fast-check) every history of
// a correct sequential run with random overlapping times is accepted; and histories of a simulated
// replicated master (harness/master-sim.ts) are accepted, and rejected when a bug is planted in it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { JobPhase } from '@tandem/shared';
import { checkHistory, type Model } from './harness/linearizability.ts';
import { checkJobHistory, type JobInput, type JobOp, type JobOutput, type Observed } from './harness/job-table-model.ts';
import { simulate, type Bug } from './harness/master-sim.ts';

/** One operation: client, call tick, return tick (undefined: no answer), input, output. */
const op = (client: string, call: number, ret: number | undefined, input: JobInput, output?: JobOutput): JobOp =>
  ({ client, call, ret, input, output: ret === undefined ? undefined : output });
const sub = (client: string, requestId: string) => ({ kind: 'submit' as const, clientId: client, requestId });
const submitted = (jobId: string): JobOutput => ({ kind: 'submitted', jobId });
const status = (jobId: string): JobInput => ({ kind: 'status', jobId });
const seen = (id: string, phase: JobPhase, version: number, by: [string, string] = ['a', '1']): Observed =>
  ({ id, phase, version, submittedBy: { clientId: by[0], requestId: by[1] } });
const read = (id: string, phase: JobPhase, version: number, by?: [string, string]): JobOutput => ({ kind: 'status', job: seen(id, phase, version, by) });
const list = (...jobs: Observed[]): JobOutput => ({ kind: 'list', jobs });
const LIST: JobInput = { kind: 'list' };

const verdictOf = (ops: JobOp[]) => checkJobHistory(ops).verdict.result;
function illegal(ops: JobOp[], ...words: string[]): string {
  const { verdict, clash } = checkJobHistory(ops);
  if (clash) return clash;
  assert.equal(verdict.result, 'illegal');
  const text = verdict.result === 'illegal' ? verdict.explanation.text : '';
  for (const w of words) assert.ok(text.includes(w), `the explanation names "${w}":\n${text}`);
  return text;
}

describe('the job table model: linearizable histories', () => {
  test('submit, then reads that move forward, then a list', () => {
    assert.equal(verdictOf([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), read('j1', 'map', 1)),
      op('a', 5, 6, status('j1'), read('j1', 'reduce', 4)),
      op('a', 7, 8, status('j1'), read('j1', 'done', 6)),
      op('b', 9, 10, LIST, list(seen('j1', 'done', 7))),
    ]), 'ok');
  });

  test('a read concurrent with the submit may miss the job or see it; overlapping reads may see versions out of call order', () => {
    assert.equal(verdictOf([
      op('a', 1, 10, sub('a', '1'), submitted('j1')),
      op('b', 2, 3, status('j1'), { kind: 'not_found' }),
      op('c', 4, 5, status('j1'), read('j1', 'map', 1)),
      op('c', 11, 20, status('j1'), read('j1', 'map', 3)),
      op('b', 12, 19, status('j1'), read('j1', 'map', 2)),
    ]), 'ok');
  });

  test('a submit whose answer was lost may have made the job the list shows, or made nothing', () => {
    assert.equal(verdictOf([op('a', 1, undefined, sub('a', '1')), op('b', 5, 6, LIST, list(seen('j1', 'map', 2)))]), 'ok');
    assert.equal(verdictOf([op('a', 1, undefined, sub('a', '1')), op('b', 5, 6, LIST, list())]), 'ok');
    // ... and the job may appear after the list that lacked it (the request was still being retried).
    assert.equal(verdictOf([
      op('a', 1, undefined, sub('a', '1')),
      op('b', 5, 6, LIST, list()),
      op('b', 7, 8, LIST, list(seen('j1', 'map', 1))),
    ]), 'ok');
  });

  test('a retried submit answers the same job; a cancel that answered ok finds the job cancelled after', () => {
    assert.equal(verdictOf([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, sub('a', '1'), submitted('j1')),
      op('a', 5, 6, { kind: 'cancel', jobId: 'j1', clientId: 'a', requestId: '2' }, { kind: 'changed' }),
      op('a', 7, 8, status('j1'), read('j1', 'cancelled', 2)),
      op('a', 9, 10, status('j1'), read('j1', 'cancelled', 3)),
    ]), 'ok');
  });

  test('a cancel refused as conflict means the system had finished the job; a removed job is not found', () => {
    assert.equal(verdictOf([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, { kind: 'cancel', jobId: 'j1', clientId: 'a', requestId: '2' }, { kind: 'refused', code: 'conflict' }),
      op('a', 5, 6, status('j1'), read('j1', 'done', 9)),
      op('a', 7, 8, { kind: 'remove', jobId: 'j1', clientId: 'a', requestId: '3' }, { kind: 'changed' }),
      op('a', 9, 10, status('j1'), { kind: 'not_found' }),
      op('b', 11, 12, LIST, list()),
    ]), 'ok');
  });

  test('jobs of clients outside the history are left out of the list', () => {
    assert.equal(verdictOf([op('a', 1, 2, LIST, list(seen('ref', 'done', 9, ['before', '1'])))]), 'ok');
  });
});

describe('the job table model: histories that are not linearizable', () => {
  test('a read after a newer one returned sees an older version (a stale read)', () => {
    illegal([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), read('j1', 'reduce', 5)),
      op('b', 5, 6, status('j1'), read('j1', 'map', 3)),
    ], "version went back from 5 to 3", 'status j1');
  });

  test('an acknowledged job not found afterwards (acknowledged before the log, lost in a failover)', () => {
    illegal([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), { kind: 'not_found' }),
    ], 'was acknowledged and never removed', 'status j1 → not_found');
    illegal([op('a', 1, 2, sub('a', '1'), submitted('j1')), op('b', 3, 4, LIST, list())], 'the list lacks it');
  });

  test('one request made two jobs (the dedupe table forgot it)', () => {
    illegal([
      op('a', 1, 2, sub('a', '1'), submitted('j2')),
      op('b', 3, 4, LIST, list(seen('j1', 'map', 1), seen('j2', 'map', 1))),
    ], 'one request made 2 jobs');
    // The retry is a second call in the history that answers another id.
    illegal([op('a', 1, 2, sub('a', '1'), submitted('j1')), op('a', 3, 4, sub('a', '1'), submitted('j2'))]);
  });

  test('a finished job running again, a phase change at the same version, a cancel of a finished job', () => {
    illegal([op('a', 1, 2, sub('a', '1'), submitted('j1')), op('a', 3, 4, status('j1'), read('j1', 'done', 5)), op('a', 5, 6, status('j1'), read('j1', 'map', 6))],
      'was done (finished)');
    illegal([op('a', 1, 2, sub('a', '1'), submitted('j1')), op('a', 3, 4, status('j1'), read('j1', 'map', 2)), op('a', 5, 6, status('j1'), read('j1', 'reduce', 2))],
      'at the same version');
    illegal([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), read('j1', 'failed', 2)),
      op('a', 5, 6, { kind: 'cancel', jobId: 'j1', clientId: 'a', requestId: '2' }, { kind: 'changed' }),
    ], 'a cancel cannot succeed');
    illegal([op('a', 1, 2, sub('a', '1'), submitted('j1')), op('a', 3, 4, status('j1'), read('j1', 'cancelled', 2))], 'without a cancel');
  });

  test('one job id answered to two requests', () => {
    const why = illegal([op('a', 1, 2, sub('a', '1'), submitted('j1')), op('b', 1, 2, sub('b', '1'), submitted('j1'))]);
    assert.match(why, /job j1 was reported as made by request a\/1 and by b\/1/);
  });

  test('the explanation gives the longest linearizable prefix and the operation that could not be placed', () => {
    const text = illegal([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), read('j1', 'map', 1)),
      op('a', 5, 6, status('j1'), read('j1', 'reduce', 3)),
      op('a', 7, 8, status('j1'), read('j1', 'reduce', 2)),
      op('a', 9, 10, status('j1'), read('j1', 'done', 5)),
    ]);
    assert.match(text, /longest linearizable prefix \(3 of 5 operations\)/);
    assert.match(text, /1\. a: submit a\/1 → j1 \(called 1, returned 2\)\s+→ j1 map v1/);
    assert.match(text, /3\. a: status j1 → j1 reduce v3/);
    assert.match(text, /no order places: a: status j1 → j1 reduce v2 \(called 7, returned 8\)/);
    assert.match(text, /because job j1's version went back from 3 to 2/);
  });
});

describe('the job table model: losses Redis reported (a crash under a weaker fsync policy, §3.4)', () => {
  const losses = { losses: true };
  const lostRead = (id: string, version: number): JobOutput => ({ kind: 'status', job: { ...seen(id, 'failed', version), lost: true } });
  const LOST: JobOutput = { kind: 'lost' };
  const verdictWithLosses = (ops: JobOp[]) => checkJobHistory(ops, undefined, losses);
  const illegalWithLosses = (ops: JobOp[], ...words: string[]) => {
    const { verdict } = verdictWithLosses(ops);
    assert.equal(verdict.result, 'illegal');
    const text = verdict.result === 'illegal' ? verdict.explanation.text : '';
    for (const w of words) assert.ok(text.includes(w), `the explanation names "${w}":\n${text}`);
  };

  test('a job read done may be marked lost at a higher version, and stays lost; a job may answer lost, and lists lack it from then on', () => {
    assert.equal(verdictWithLosses([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), read('j1', 'done', 5)),
      op('a', 5, 6, status('j1'), lostRead('j1', 905)),
      op('b', 7, 8, LIST, list({ ...seen('j1', 'failed', 906), lost: true })),
    ]).verdict.result, 'ok');
    assert.equal(verdictWithLosses([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), read('j1', 'map', 2)),
      op('b', 5, 6, LIST, list()),
      op('a', 7, 8, status('j1'), LOST),
      op('a', 9, 10, { kind: 'cancel', jobId: 'j1', clientId: 'a', requestId: '2' }, { kind: 'refused', code: 'lost' }),
    ]).verdict.result, 'ok');
  });

  test('a silent vanish is still caught: not_found for an acknowledged job, before or after a list that lacked it', () => {
    illegalWithLosses([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), read('j1', 'done', 5)),
      op('a', 5, 6, status('j1'), { kind: 'not_found' }),
    ], 'was acknowledged and never removed, but it was not found');
    illegalWithLosses([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('b', 3, 4, LIST, list()),
      op('a', 5, 6, status('j1'), { kind: 'not_found' }),
    ], 'it was not found (after it had answered lost)');
  });

  test('a loss that goes back, comes back or is not final is still caught', () => {
    illegalWithLosses([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), read('j1', 'done', 5)),
      op('a', 5, 6, status('j1'), lostRead('j1', 3)),
    ], 'version went back from 5 to 3');
    illegalWithLosses([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), read('j1', 'map', 5)),
      op('a', 5, 6, status('j1'), lostRead('j1', 5)),
    ], 'marked lost without a new version');
    illegalWithLosses([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), lostRead('j1', 900)),
      op('a', 5, 6, status('j1'), read('j1', 'done', 901)),
    ], 'was read as lost and is now read as done');
    illegalWithLosses([
      op('a', 1, 2, sub('a', '1'), submitted('j1')),
      op('a', 3, 4, status('j1'), LOST),
      op('a', 5, 6, status('j1'), read('j1', 'map', 900)),
    ], 'had answered lost (its record gone)');
  });

  test('without losses in the history, a lost job is a violation', () => {
    illegal([op('a', 1, 2, sub('a', '1'), submitted('j1')), op('a', 3, 4, status('j1'), lostRead('j1', 900))], 'no Redis data loss happened');
    illegal([op('a', 1, 2, sub('a', '1'), submitted('j1')), op('a', 3, 4, status('j1'), LOST)], 'no Redis data loss happened');
  });
});

describe('the search', () => {
  // A register with write and read: small enough to reason about every interleaving by hand.
  type RegIn = { w: number } | { r: true };
  const register: Model<number, RegIn, number> = {
    init: () => [0],
    step: (s, i, o) => ('w' in i ? [i.w] : o === undefined || o === s ? [s] : []),
    key: String,
    describeOp: (i, o) => ('w' in i ? `write ${i.w}` : `read → ${o}`),
    describeState: (s) => `holds ${s}`,
  };
  const w = (client: string, call: number, ret: number | undefined, v: number) => ({ client, call, ret, input: { w: v }, output: ret === undefined ? undefined : 0 });
  const r = (client: string, call: number, ret: number, v: number) => ({ client, call, ret, input: { r: true as const }, output: v });

  test('Wing and Gong: concurrent writes may be ordered either way, but real time binds', () => {
    assert.equal(checkHistory(register, [w('a', 0, 10, 1), w('b', 0, 10, 2), r('c', 11, 12, 1), r('c', 13, 14, 1)]).result, 'ok');
    assert.equal(checkHistory(register, [w('a', 0, 10, 1), w('b', 0, 10, 2), r('c', 11, 12, 1), r('c', 13, 14, 2)]).result, 'illegal');
    // A write that never answered may take effect late, or never.
    assert.equal(checkHistory(register, [w('a', 0, undefined, 1), r('c', 11, 12, 0), r('c', 13, 14, 1)]).result, 'ok');
    assert.equal(checkHistory(register, [w('a', 0, undefined, 1), r('c', 11, 12, 1), r('c', 13, 14, 0)]).result, 'illegal');
  });

  test('a search past its budget answers unknown instead of running on', () => {
    // Many writes of distinct values all concurrent, then reads that need one exact order at the end:
    // large enough that 50 steps cannot decide it.
    const ops = [...Array.from({ length: 12 }, (_, i) => w(`w${i}`, 0, 100, i + 1)), r('c', 101, 102, 99)];
    const v = checkHistory(register, ops, { maxSteps: 50 });
    assert.equal(v.result, 'unknown');
    assert.match(v.result === 'unknown' ? v.reason : '', /more than 50 search steps/);
    const small = checkHistory(register, ops, { maxMemo: 100 });
    assert.match(small.result === 'unknown' ? small.reason : small.result, /more than 100 configurations remembered/);
    const timed = checkHistory(register, ops, { timeoutMs: 0 });
    assert.equal(timed.result, 'unknown');
    assert.match(timed.result === 'unknown' ? timed.reason : '', /over the 0 ms budget/);
    assert.equal(checkHistory(register, ops).result, 'illegal');
  });

  test('a history whose answer came before its call is refused as malformed', () => {
    assert.throws(() => checkHistory(register, [r('c', 5, 4, 0)]), /returns at 4, before its call at 5/);
  });
});

/**
 * A correct sequential run of the job table: a few clients submit (one request each, some retried),
 * read, cancel and list, while the system moves jobs forward; each operation gets a random interval
 * around its instant in the run, and some lose their answer. The checker must accept every one.
 */
const PHASES_AFTER: Record<string, JobPhase[]> = { map: ['reduce', 'failed'], reduce: ['map', 'done', 'failed'] };
const arbRun = fc.record({
  steps: fc.array(fc.record({
    what: fc.constantFrom('submit', 'retry', 'status', 'status', 'status', 'cancel', 'list', 'system', 'system'),
    who: fc.nat(3),
    pick: fc.nat(),
    before: fc.integer({ min: 0, max: 30 }),
    after: fc.integer({ min: 0, max: 30 }),
    lost: fc.boolean(),
    lostMost: fc.nat(9),
  }), { maxLength: 60 }),
});

type Step = { what: string; who: number; pick: number; before: number; after: number; lost: boolean; lostMost: number };

function sequentialHistory(steps: Step[]): JobOp[] {
  const jobs: { id: string; phase: JobPhase; version: number; by: [string, string] }[] = [];
  const ops: JobOp[] = [];
  /** Jobs some answer has named (a submit's, a read's, a list's). */
  const heard = new Set<string>();
  let nextReq = 0;
  steps.forEach((s, i) => {
    const t = i * 10; // the operation's instant; its interval reaches up to 30 either side
    const client = `c${s.who}`;
    const push = (input: JobInput, output: JobOutput) => {
      const lost = s.lost && s.lostMost === 0 && input.kind !== 'status' && input.kind !== 'list';
      ops.push({ client, call: t - s.before, ret: lost ? undefined : t + s.after, input, output: lost ? undefined : output });
      if (lost) return;
      if (output.kind === 'submitted') heard.add(output.jobId);
      if (output.kind === 'status') heard.add(output.job.id);
      if (output.kind === 'list') for (const j of output.jobs) heard.add(j.id);
    };
    const job = jobs.length ? jobs[s.pick % jobs.length] : undefined;
    switch (s.what) {
      case 'submit': {
        const by: [string, string] = [client, String(++nextReq)];
        jobs.push({ id: `j${nextReq}`, phase: 'map', version: 1, by });
        push(sub(...by), submitted(`j${nextReq}`));
        break;
      }
      case 'retry':
        if (job) push(sub(...job.by), submitted(job.id));
        break;
      case 'status':
        if (job) push(status(job.id), read(job.id, job.phase, job.version, job.by));
        else push(status('nope'), { kind: 'not_found' });
        break;
      case 'cancel':
        // A client cancels a job it has heard of: its submit answered, or a read or list showed it.
        if (!job || !heard.has(job.id)) break;
        if (['done', 'failed', 'cancelled'].includes(job.phase)) {
          push({ kind: 'cancel', jobId: job.id, clientId: client, requestId: `x${i}` }, { kind: 'refused', code: 'conflict' });
        } else {
          job.phase = 'cancelled';
          job.version++;
          push({ kind: 'cancel', jobId: job.id, clientId: client, requestId: `x${i}` }, { kind: 'changed' });
        }
        break;
      case 'list':
        push(LIST, list(...jobs.map((j) => seen(j.id, j.phase, j.version, j.by))));
        break;
      case 'system': // a worker's commit: a new version, sometimes a new phase
        if (job && PHASES_AFTER[job.phase]) {
          job.version += 1 + (s.pick % 3);
          if (s.pick % 2) job.phase = PHASES_AFTER[job.phase][s.pick % PHASES_AFTER[job.phase].length];
        }
        break;
    }
  });
  return ops;
}

describe('property: every correct sequential run is accepted', () => {
  test('with random overlapping call and return times and lost answers', () => {
    fc.assert(fc.property(arbRun, ({ steps }) => {
      const { verdict, clash } = checkJobHistory(sequentialHistory(steps));
      assert.equal(clash, undefined);
      assert.equal(verdict.result, 'ok', verdict.result === 'illegal' ? verdict.explanation.text : '');
    }), { numRuns: Number(process.env.FC_RUNS ?? 300), ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {}) });
  });
});

describe('planted bugs in a simulated replicated master (the real apply, failovers) are caught', () => {
  const SEEDS = Array.from({ length: 12 }, (_, i) => i + 1);

  test('the correct master: every history is linearizable', () => {
    for (const seed of SEEDS) {
      const run = simulate({ seed });
      assert.ok(run.failovers > 0, `seed ${seed} had failovers`);
      assert.deepEqual(run.visible, []);
      const { verdict, clash } = checkJobHistory(run.ops);
      assert.equal(clash, undefined, `seed ${seed}`);
      assert.equal(verdict.result, 'ok', verdict.result === 'illegal' ? `seed ${seed}: ${verdict.explanation.text}` : `seed ${seed}`);
    }
  });

  const bugs: [Bug, RegExp][] = [
    ['staleReads', /was acknowledged and never removed, but it was not found|version went back/],
    ['forgetfulDedupe', /one request made 2 jobs|without a cancel that answered|a retry answered/],
    ['ackBeforeLog', /the list lacks it|it was not found|version went back|a cancel cannot succeed|\(finished\)|at the same version/],
  ];
  for (const [bug, reason] of bugs) {
    test(`${bug}: every run in which a client could see the bug is rejected, with a reason`, () => {
      let seenByClients = 0;
      for (const seed of SEEDS) {
        const run = simulate({ seed, bug });
        const { verdict, clash } = checkJobHistory(run.ops);
        if (run.visible.length === 0) continue;
        seenByClients++;
        assert.equal(clash, undefined, `seed ${seed}`);
        assert.equal(verdict.result, 'illegal', `seed ${seed}: ${run.visible.join('; ')}`);
        if (verdict.result === 'illegal') {
          assert.match(verdict.explanation.text, /longest linearizable prefix[\s\S]*no order places: [\s\S]*because /, `seed ${seed}`);
          assert.match(verdict.explanation.text, reason, `seed ${seed}`);
        }
      }
      // Not vacuous: the bug showed in most runs.
      assert.ok(seenByClients >= SEEDS.length / 2, `the bug was visible in only ${seenByClients} of ${SEEDS.length} runs`);
    });
  }

  test('a history of the chaos test\'s size (about 100 jobs and 4,000 reads) is decided, and linearizable', () => {
    const run = simulate({ seed: 7, durationMs: 12_000, clients: 10, reads: [35, 50] });
    const jobs = run.ops.filter((o) => o.output?.kind === 'submitted').length;
    const reads = run.ops.filter((o) => o.input.kind === 'status').length;
    assert.ok(jobs >= 80 && reads >= 3000, `${jobs} jobs, ${reads} reads`);
    const { verdict } = checkJobHistory(run.ops, { timeoutMs: 120_000 });
    assert.equal(verdict.result, 'ok');
  });
});
