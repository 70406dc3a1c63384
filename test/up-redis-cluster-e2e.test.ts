// The whole platform on `tandem up --redis-cluster 3 --replicas 1`, as a user runs it: up comes up
// on a fresh data folder, its processes get every node in REDIS_URL, the CLI (with the banner's
// export line only) uploads a text and runs a word count equal to the reference, a node SIGKILLed
// while it runs is restarted and rejoins, and Ctrl-C stops every process and node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { referenceWordCount } from './harness/reference.ts';
import { alive, childrenOf, envFromExportLine, run, startUp, upEnv } from './harness/up.ts';
import { freeClusterPortRange, waitFor } from './harness/wait.ts';

const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

test('a word count through tandem up --redis-cluster 3 --replicas 1 and the CLI equals the reference; a killed node comes back; Ctrl-C stops all', { timeout: 300_000 }, async () => {
  const first = await freeClusterPortRange(6);
  const ports = Array.from({ length: 6 }, (_, i) => first + i);
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-up-cluster-e2e-'));
  const { env } = await upEnv(first, dataDir);
  const started = startUp(env, 2, ['--redis-cluster', '3', '--replicas', '1']);
  const up = started.proc;
  try {
    const ready = await waitFor(() => (up.exitCode !== null ? 'exited' : started.out().includes('tandem: Ctrl-C stops everything') && 'up'), { what: 'tandem up to come up on the cluster', timeoutMs: 120_000 }).catch((err) => {
      throw new Error(`${err.message}; it printed:\n${started.out()}`);
    });
    // Its own lines (not the nodes' logs) say why, when it stopped.
    assert.equal(ready, 'up', `tandem up exited (${up.exitCode}):\n${started.out().split('\n').filter((l) => !/^redis-\d+ /.test(l)).join('\n')}`);
    const password = readFileSync(join(dataDir, 'redis-password'), 'utf8').trim();
    const seeds = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const children = childrenOf(up.pid!);
    const platform = children.filter(([, a]) => !a.startsWith('redis-server') && !a.includes('esbuild'));
    assert.equal(platform.length, 6, `the view service, two masters, two workers and the console:\n${children.map((c) => c.join(' ')).join('\n')}`);
    for (const [pid, args] of platform) {
      const url = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('REDIS_URL='));
      assert.equal(url, `REDIS_URL=redis://:${encodeURIComponent(password)}@${seeds}`, `${args}: every node is a seed`);
    }

    // A user in another folder, with the banner's export line only.
    const exportLine = /in another terminal, first: (export .*)/.exec(started.out())![1];
    assert.match(exportLine, new RegExp(`REDIS_URL=redis://${seeds.replace(/\./g, '\\.')} `), 'the export line names every node, without the password');
    const user = envFromExportLine(exportLine);
    const words = ['alpha', 'Beta', 'gamma', 'délta', 'epsilon', 'ζeta', 'eta', 'theta'];
    const text = Array.from({ length: 3000 }, (_, i) => `${words[i % 8]} ${words[(i * 5) % 8]}, ${words[(i * 3) % 7]}!`).join('\n') + '\n';
    const elsewhere = mkdtempSync(join(tmpdir(), 'tandem-cluster-user-'));
    writeFileSync(join(elsewhere, 'words.txt'), text);
    const put = await run(['dataset', 'put', 'words', 'words.txt'], user, elsewhere);
    assert.equal(put.code, 0, `dataset put: ${put.stderr}`);
    const job = await run(['job', 'run', 'wordcount', '--dataset', 'words', '--partitions', '3', '--out', 'counts.txt'], user, elsewhere);
    assert.equal(job.code, 0, `job run: ${job.stderr}`);
    assert.equal(readFileSync(join(elsewhere, 'counts.txt'), 'utf8'), referenceWordCount(text));

    // A replica SIGKILLed is restarted by tandem up, and rejoins from its nodes.conf.
    const replica = ports.find((p) => {
      const n = children.find(([, a]) => a.startsWith('redis-server') && a.includes(`:${p} `));
      return n && execFileSync('redis-cli', ['-p', String(p), 'role'], { encoding: 'utf8', env: { ...process.env, REDISCLI_AUTH: password } }).startsWith('slave');
    })!;
    assert.ok(replica, 'a replica to kill');
    const victim = children.find(([, a]) => a.startsWith('redis-server') && a.includes(`:${replica} `))![0];
    process.kill(victim, 'SIGKILL');
    await waitFor(() => new RegExp(`redis-${replica} exited \\(SIGKILL\\) after running [\\d.]+ s; restarting in 500 ms`).test(started.out()), { what: 'tandem up to restart the node' });
    await waitFor(async () => {
      const r = new Redis({ port: replica, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return field(String(await r.call('CLUSTER', 'INFO')), 'cluster_state') === 'ok' && field(await r.info('replication'), 'master_link_status') === 'up';
      } finally {
        r.disconnect();
      }
    }, { what: `node ${replica} to rejoin as a replica in sync`, timeoutMs: 60_000 });
    const again = await run(['job', 'run', 'wordcount', '--dataset', 'words', '--out', 'again.txt'], user, elsewhere);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(join(elsewhere, 'again.txt'), 'utf8'), referenceWordCount(text));

    const all = childrenOf(up.pid!).map(([pid]) => pid);
    const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
    up.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(started.out(), /tandem: the Redis Cluster stopped \(6 nodes\)/);
    for (const pid of all) assert.equal(alive(pid), false, `process ${pid} stopped`);
  } finally {
    started.killAll();
  }
});
