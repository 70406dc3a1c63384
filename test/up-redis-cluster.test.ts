// `tandem up --redis-cluster N --replicas R` (apps/cli/src/local-redis-cluster.ts): on a fresh data
// folder it starts N*(1+R) redis-server nodes on consecutive ports from REDIS_URL's, forms a cluster
// whose nodes require the password, gives the platform every node as a seed in REDIS_URL, and stops
// every node with itself; a second start on the same folder brings back the same nodes and data.
// Bad values are refused before anything starts, naming the flag.
//
// Each run is looked at while `tandem up` is held with SIGSTOP once it says the cluster is formed
// and has started the view service (whose environment is read then): what is checked is the
// cluster, not the platform on it, which cannot run on a cluster yet (test/up-redis-cluster-e2e.test.ts
// runs a job on it). SIGINT/SIGTERM sent while it is held arrive as it resumes, still starting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { SLOTS } from '@tandem/shared';
import { startRedis } from './harness/redis.ts';
import { alive, childrenOf, listening, run, startUp, upEnv } from './harness/up.ts';
import { freeClusterPortRange, freePort, sleep } from './harness/wait.ts';

/** The environment variable `name` of process `pid`. */
function envOf(pid: number, name: string): string | undefined {
  const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

/**
 * Starts `tandem up` with `args` and holds it (SIGSTOP) once it has printed `line` and started the
 * view service; returns what it runs at that moment and the view service's REDIS_URL.
 */
async function startAndHold(env: NodeJS.ProcessEnv, args: string[], line: RegExp) {
  const started = startUp(env, 1, args);
  const pid = started.proc.pid!;
  let gone = false;
  started.proc.once('exit', () => (gone = true));
  for (;;) {
    if (gone) throw new Error(`tandem up exited before printing ${line} and starting the view service:\n${started.out()}`);
    // Polled often: on this branch the view service exits within a second (it cannot run on a cluster yet).
    if (line.test(started.out()) && childrenOf(pid).some(([, a]) => a.includes('view-service'))) break;
    await sleep(10);
  }
  started.proc.kill('SIGSTOP');
  const children = childrenOf(pid);
  const view = children.find(([, a]) => a.includes('view-service'));
  const viewRedisUrl = view && envOf(view[0], 'REDIS_URL');
  const exited = new Promise<number | null>((r) => started.proc.once('exit', (code) => r(code)));
  return { ...started, exited, children, viewRedisUrl };
}

/** Sends `signal` to the held `tandem up`, lets it go on, and waits until it has exited. */
async function stopHeld(h: Awaited<ReturnType<typeof startAndHold>>, signal: NodeJS.Signals) {
  h.proc.kill(signal);
  h.proc.kill('SIGCONT');
  const code = await h.exited;
  assert.equal(code, 1, `tandem up stops while still starting, so it exits 1:\n${h.out()}`);
  assert.match(h.out(), /tandem: the Redis Cluster stopped \(6 nodes\)/);
}

function nodeClient(port: number, password?: string): Redis {
  const r = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  return r;
}

test('tandem up --redis-cluster 3 --replicas 1 starts 6 nodes forming a 3+3 cluster that requires the password; the platform gets every node in REDIS_URL; a stop stops every node, and a second start brings the same cluster back', { timeout: 240_000 }, async () => {
  const first = await freeClusterPortRange(6);
  const ports = Array.from({ length: 6 }, (_, i) => first + i);
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-up-cluster-'));
  const { env } = await upEnv(first, dataDir);
  const args = ['--redis-cluster', '3', '--replicas', '1'];

  const h = await startAndHold(env, args, /tandem: started a Redis Cluster .*\n/);
  try {
    const password = readFileSync(join(dataDir, 'redis-password'), 'utf8').trim();
    // The view service has every node as a seed, and the password.
    assert.equal(h.viewRedisUrl, `redis://:${encodeURIComponent(password)}@${ports.map((p) => `127.0.0.1:${p}`).join(',')}`);
    assert.match(h.out(), new RegExp(`started a Redis Cluster of 3 primaries with 1 replica each, on 127\\.0\\.0\\.1 ports ${first}-${first + 5} .*formed now.*; REDIS_URL=redis://${ports.map((p) => `127\\.0\\.0\\.1:${p}`).join(',')}\\n`));
    assert.ok(!h.out().includes(password), 'tandem up prints no Redis password');

    const nodes = h.children.filter(([, a]) => a.startsWith('redis-server'));
    assert.deepEqual(nodes.map(([, a]) => Number(/:(\d+)/.exec(a)![1])).sort(), ports, `six redis-server nodes, on REDIS_URL's port and the 5 after it:\n${nodes.map((n) => n.join(' ')).join('\n')}`);
    for (const p of ports) assert.ok(p < 55535 && p + 10000 <= 65535, `port ${p} and its bus port are ports`);

    const ids: string[] = [];
    for (const port of ports) {
      const anon = nodeClient(port);
      await assert.rejects(async () => {
        await anon.connect();
        await anon.ping();
      }, /NOAUTH/, `node ${port} requires the password`);
      anon.disconnect();
      const r = nodeClient(port, password);
      try {
        await r.connect();
        const info = String(await r.call('CLUSTER', 'INFO'));
        assert.equal(field(info, 'cluster_state'), 'ok', `node ${port}: ${info}`);
        assert.equal(field(info, 'cluster_known_nodes'), '6');
        assert.equal(field(info, 'cluster_size'), '3', 'three primaries serve slots');
        assert.equal(field(info, 'cluster_slots_assigned'), String(SLOTS));
        assert.deepEqual(await r.call('CONFIG', 'GET', 'appendfsync'), ['appendfsync', 'always'], 'every node fsyncs each write, as one Redis does');
        ids.push(String(await r.call('CLUSTER', 'MYID')));
      } finally {
        r.disconnect();
      }
    }
    // Every primary has one replica, in sync (the replicas authenticate with masterauth).
    const r = nodeClient(first, password);
    await r.connect();
    const lines = String(await r.call('CLUSTER', 'NODES')).trim().split('\n').map((l) => l.split(' '));
    r.disconnect();
    const primaries = lines.filter((l) => l[2].includes('master'));
    assert.equal(primaries.length, 3);
    for (const p of primaries) assert.equal(lines.filter((l) => l[3] === p[0]).length, 1, `primary ${p[1]} has one replica`);
    for (const port of ports) {
      const n = nodeClient(port, password);
      await n.connect();
      const repl = await n.info('replication');
      n.disconnect();
      if (field(repl, 'role') === 'slave') assert.equal(field(repl, 'master_link_status'), 'up', `replica ${port} is in sync with its primary`);
    }

    // Data written now is there after a stop and a start on the same data folder.
    const c = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { password } });
    c.on('error', () => undefined);
    try {
      for (let i = 0; i < 20; i++) await c.set(`up-test:${i}`, `v${i}`);
      // Replicas hold it too before the nodes stop (WAIT on every primary).
      await Promise.all(c.nodes('master').map((n) => n.call('WAIT', '1', '5000')));
    } finally {
      c.disconnect();
    }

    await stopHeld(h, 'SIGINT');
    for (const [pid] of nodes) assert.equal(alive(pid), false, `node ${pid} stopped`);

    // Started again on the same data folder: the same nodes (nodes.conf kept), the same data.
    const again = await startAndHold(env, args, /tandem: started a Redis Cluster .*\n/);
    try {
      assert.match(again.out(), /its nodes as they were, from their nodes\.conf\), with the password kept in /);
      const c2 = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { password } });
      c2.on('error', () => undefined);
      try {
        for (let i = 0; i < 20; i++) assert.equal(await c2.get(`up-test:${i}`), `v${i}`);
      } finally {
        c2.disconnect();
      }
      for (const [i, port] of ports.entries()) {
        const n = nodeClient(port, password);
        await n.connect();
        assert.equal(String(await n.call('CLUSTER', 'MYID')), ids[i], `node ${port} is the same node`);
        assert.equal(field(String(await n.call('CLUSTER', 'INFO')), 'cluster_state'), 'ok');
        n.disconnect();
      }
      const nodes2 = again.children.filter(([, a]) => a.startsWith('redis-server'));
      assert.equal(nodes2.length, 6);
      await stopHeld(again, 'SIGTERM');
      for (const [pid] of nodes2) assert.equal(alive(pid), false, `node ${pid} stopped`);
    } finally {
      again.proc.kill('SIGCONT');
      again.killAll();
    }
  } finally {
    h.proc.kill('SIGCONT');
    h.killAll();
  }
});

test('bad --redis-cluster and --replicas values, a Redis that answers at REDIS_URL, and ports in use are refused before anything starts, naming the flag', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-up-cluster-flags-'));
  const first = await freeClusterPortRange(3);
  const { env } = await upEnv(first, dataDir);
  const refused = async (args: string[], message: RegExp, runEnv = env) => {
    const r = await run(['up', ...args], runEnv);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stdout, /started a Redis Cluster|started redis-server/, `${args.join(' ')}: nothing was started`);
  };
  await refused(['--redis-cluster', '0'], /tandem: --redis-cluster must be a whole number from 1 to 16 \(got "0"\)/);
  await refused(['--redis-cluster', '17'], /--redis-cluster must be a whole number from 1 to 16 \(got "17"\)/);
  await refused(['--redis-cluster', 'three'], /--redis-cluster must be a whole number from 1 to 16 \(got "three"\)/);
  await refused(['--redis-cluster', '3', '--replicas', '3'], /--replicas must be a whole number from 0 to 2 \(got "3"\)/);
  await refused(['--redis-cluster', '3', '--replicas', '-1'], /--replicas must be a whole number from 0 to 2 \(got "-1"\)/);
  await refused(['--replicas', '1'], /--replicas is for --redis-cluster only/);
  // The nodes' bus ports must be ports too.
  await refused(['--redis-cluster', '3', '--replicas', '1'], /--redis-cluster 3 --replicas 1 takes 6 ports from REDIS_URL's port 55530 up, to 55535, but a node's port must be below 55535/, { ...env, REDIS_URL: 'redis://127.0.0.1:55530' });

  // A Redis that answers at REDIS_URL: --redis-cluster does not take it over.
  const redis = await startRedis();
  try {
    await refused(['--redis-cluster', '3'], /--redis-cluster starts its own Redis nodes, from REDIS_URL's port up, but a Redis answers at REDIS_URL=redis:\/\/127\.0\.0\.1:\d+\. Leave out --redis-cluster to use that Redis/, { ...env, REDIS_URL: redis.url });
  } finally {
    await redis.stop();
  }

  // A port of the range, or a bus port, in use.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(first + 10001, '127.0.0.1', r));
  try {
    await refused(['--redis-cluster', '3'], new RegExp(`--redis-cluster: on 127\\.0\\.0\\.1, cluster bus port ${first + 10001} \\(of node ${first + 1}\\) is already in use\\. Its 3 nodes take ports ${first}-${first + 2}`));
  } finally {
    srv.close();
  }
  // A node port that is another listener of tandem up's.
  const viewPort = await freePort();
  await refused(['--redis-cluster', '3', '--view-port', String(first + 2)], new RegExp(`include the view service's port ${first + 2}`), { ...env, TANDEM_VIEW_URL: `http://127.0.0.1:${viewPort}` });
});

test('a cluster that cannot form is reported with the reason, and every node is stopped', { timeout: 120_000 }, async () => {
  const first = await freeClusterPortRange(3);
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-up-cluster-bad-'));
  // The second node's cluster file is not one: that redis-server refuses to start, each time tandem up restarts it.
  mkdirSync(join(dataDir, 'redis-cluster', String(first + 1)), { recursive: true });
  writeFileSync(join(dataDir, 'redis-cluster', String(first + 1), 'nodes.conf'), 'not a cluster file\n');
  const { env } = await upEnv(first, dataDir);
  const started = startUp(env, 1, ['--redis-cluster', '3']);
  try {
    const code = await new Promise<number | null>((r) => started.proc.once('exit', (c) => r(c)));
    const said = started.out().split('\n').filter((l) => l.startsWith('tandem: ')).join('\n');
    assert.equal(code, 1, started.out());
    assert.match(started.out(), new RegExp(`redis-${first + 1} exited \\(code 1\\)`), 'the node was restarted like any child');
    assert.match(said, new RegExp(`^tandem: the Redis Cluster of 3 primaries without replicas, on 127\\.0\\.0\\.1 ports ${first}-${first + 2} could not form: its node on port ${first + 1} did not start \\((it exited|it does not answer)\\); see its messages above$`, 'm'));
    assert.match(said, /tandem: the Redis Cluster stopped \(2 nodes\)/);
    assert.doesNotMatch(said, /started a Redis Cluster/);
    for (const port of [first, first + 1, first + 2]) assert.equal(await listening(port), false, `nothing listens on ${port} any more`);
  } finally {
    started.killAll();
  }
});
