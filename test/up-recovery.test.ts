// Recovery under repeated faults (issue 17, failures 5 and 6), on a real `tandem up`: its view
// service SIGKILLed again and again is restarted after the first short wait each time, since each
// had run past TANDEM_RESTART_RESET_MS (the wait once grew to 5 s for good); and a `job run` and a
// `job status` started while the view service is down wait for it, saying so on stderr, and succeed
// once it is back (they failed at once before). They run from another folder with only the banner's
// export line, which names the data folder absolutely (issue 17's first papercut).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authHeader } from '@tandem/shared';
import { envFromExportLine, run, startCli, startUp, upEnv } from './harness/up.ts';
import { freePort, waitFor } from './harness/wait.ts';

const RESET_MS = 1500;
const KILLS = 6;

/** The pid of the view service `tandem up` (pid `up`) runs now, if one runs. */
function viewPid(up: number): number | null {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(up)], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.includes('view-service'));
  return line ? Number(line.trim().split(' ')[0]) : null;
}

const count = (text: string, re: RegExp) => text.match(new RegExp(re.source, 'g'))?.length ?? 0;

test('a view service SIGKILLed 6 times is restarted after the first wait each time; commands started while it is down wait for it and succeed', { timeout: 240_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-up-recovery-'));
  const { env, viewPort } = await upEnv(await freePort(), dataDir);
  const started = startUp({ ...env, TANDEM_RESTART_RESET_MS: String(RESET_MS) }, 1);
  const up = started.proc;
  try {
    await waitFor(() => started.out().includes('tandem: Ctrl-C stops everything'), { what: 'tandem up to finish its banner', timeoutMs: 90_000 });
    const secret = readFileSync(join(dataDir, 'secret'), 'utf8').trim();
    const viewAnswers = async () => (await fetch(`http://127.0.0.1:${viewPort}/view`, { headers: authHeader(secret) })).ok;

    for (let k = 1; k <= KILLS; k++) {
      const pid = await waitFor(() => viewPid(up.pid!), { what: `view service ${k} to run` });
      process.kill(pid, 'SIGKILL');
      await waitFor(() => count(started.out(), /view +exited \(SIGKILL\)/) >= k, { what: `tandem up to see view service kill ${k}` });
      await waitFor(viewAnswers, { what: `the view service to answer after kill ${k}`, timeoutMs: 60_000 });
      // The supervisor says when the restarted child has run long enough to count as healthy.
      await waitFor(() => count(started.out(), /view has run [\d.]+ s since its restart; a next restart waits 500 ms again/) >= k, { what: `the view service to run ${RESET_MS} ms after kill ${k}` });
    }
    const restarts = started.out().match(/view exited \(SIGKILL\) after running [\d.]+ s; restarting in \d+ ms.*/g) ?? [];
    assert.equal(restarts.length, KILLS, started.out());
    for (const line of restarts) assert.match(line, /restarting in 500 ms$/, `no restart waits longer than the first wait:\n${restarts.join('\n')}`);

    // A user in another folder, with the banner's export line only.
    const exportLine = /in another terminal, first: (export .*)/.exec(started.out())![1];
    assert.match(exportLine, new RegExp(` TANDEM_DATA_DIR=${dataDir}( |$)`), 'the data folder, absolute');
    const user = envFromExportLine(exportLine);
    const elsewhere = mkdtempSync(join(tmpdir(), 'tandem-elsewhere-'));
    writeFileSync(join(elsewhere, 'pets.txt'), 'the cat\nThe dog and the cat\n');
    const put = await run(['dataset', 'put', 'pets', 'pets.txt'], user, elsewhere);
    assert.equal(put.code, 0, `dataset put from another folder: ${put.stderr}`);
    const first = await run(['job', 'run', 'wordcount', '--dataset', 'pets', '--out', 'first.txt'], user, elsewhere);
    assert.equal(first.code, 0, `job run from another folder: ${first.stderr}`);
    const firstId = /job (\S+)/.exec(first.stderr + first.stdout)?.[1];
    assert.ok(firstId, first.stderr + first.stdout);

    // The view service down and tandem up stopped (SIGSTOP), so it stays down until the commands wait.
    up.kill('SIGSTOP');
    let resumed = false;
    try {
      process.kill(viewPid(up.pid!)!, 'SIGKILL');
      await waitFor(async () => !(await viewAnswers().catch(() => false)), { what: 'the view service to be gone' });
      const submit = startCli(['job', 'run', 'wordcount', '--dataset', 'pets', '--out', 'second.txt'], user, elsewhere);
      const status = startCli(['job', 'status', firstId!], user, elsewhere);
      const waiting = `tandem: view service at http://127.0.0.1:${viewPort} not answering; waiting up to 30 s`;
      await waitFor(() => submit.err().includes(waiting) && status.err().includes(waiting), { what: 'both commands to say they wait for the view service' }).catch((err) => {
        throw new Error(`${err.message}; job run said:\n${submit.err()}\njob status said:\n${status.err()}`);
      });
      up.kill('SIGCONT');
      resumed = true;
      const [s, st] = await Promise.all([submit.done, status.done]);
      assert.equal(s.code, 0, s.stderr);
      assert.equal(st.code, 0, st.stderr);
      assert.equal(count(s.stderr, /not answering; waiting/), 1, 'said once');
      assert.equal(readFileSync(join(elsewhere, 'second.txt'), 'utf8'), 'and\t1\ncat\t2\ndog\t1\nthe\t3\n');
      assert.match(st.stdout, /done/);
    } finally {
      if (!resumed) up.kill('SIGCONT');
    }

    // Stopped on purpose, the cluster is not waited for: the record of the view's last answer is gone.
    const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
    up.kill('SIGINT');
    assert.equal(await exited, 0);
    const after = await run(['job', 'ls'], user, elsewhere);
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /cannot reach the view service/);
    assert.doesNotMatch(after.stderr, /waiting up to/);
  } finally {
    started.killAll();
  }
});
