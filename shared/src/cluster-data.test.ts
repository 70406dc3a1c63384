// The data plane on a real Redis Cluster (3 primaries, a replica each): the raw client spreads
// values over every primary and follows a slot migration (ASK, then MOVED) and a primary's failover;
// the dataset store puts, reads and removes a dataset whose splits lie on every primary.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Cluster, Redis } from 'ioredis';
import { startRedisCluster, type ClusterNode, type TestRedisCluster } from '../../test/harness/redis-cluster.ts';
import { waitFor } from '../../test/harness/wait.ts';
import { BulkClient, bulkClientTuning } from './bulk-client.ts';
import { keySlot } from './key-slot.ts';
import { keys } from './keys.ts';
import { getDataset, headDataset, listDatasets, putDataset, readSplit, removeDataset, splitKey } from './dataset-store/index.ts';
import { getLarge } from './bulk.ts';

let cluster: TestRedisCluster;
let ioredis: Cluster;
let bulk: BulkClient;
before(async () => {
  cluster = await startRedisCluster({ primaries: 3, replicas: 1 });
  ioredis = cluster.client();
  // Every node a seed: the client must find its way whichever of them is down.
  bulk = BulkClient.forUrl(`redis://${cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`, 2);
});
after(async () => {
  bulk?.close();
  await cluster?.stop();
});

const nodeAt = (port: number): ClusterNode => cluster.nodes.find((n) => n.port === port)!;
/** The port of the primary serving `slot`, as the cluster says now. */
const ownerOf = async (slot: number) => (await cluster.primaries()).find((p) => p.slots.some(([a, b]) => slot >= a && slot <= b))?.port;
/** Per primary, how many keys under `pattern` it holds. */
async function keysPerPrimary(pattern: string): Promise<number[]> {
  const primaries = await cluster.primaries();
  return Promise.all(primaries.map(async (p) => (await nodeAt(p.port).node().keys(pattern)).length));
}

test('keySlot agrees with CLUSTER KEYSLOT, hash tags included', async () => {
  const node = cluster.nodes[0].node();
  for (const k of ['', 'a', 'foo', '{user1000}.following', 'foo{}{bar}', 'foo{{bar}}zap', 'foo{bar}{zap}', 'ü{ñ}', `x:${randomBytes(8).toString('hex')}`]) {
    assert.equal(keySlot(k), Number(await node.call('CLUSTER', 'KEYSLOT', k)), JSON.stringify(k));
  }
});

test('the raw client spreads values over every primary', async () => {
  const entries = Array.from({ length: 300 }, (_, i) => ({ key: `spread:{${i}}`, value: randomBytes(100) }));
  await bulk.setMany(entries);
  const counts = await keysPerPrimary('spread:*');
  assert.equal(counts.length, 3);
  assert.ok(counts.every((n) => n > 0), `every primary holds some: ${counts}`);
  assert.equal(counts.reduce((a, b) => a + b), 300);
  const got = await bulk.getMany(entries.map((e) => e.key));
  entries.forEach((e, i) => assert.ok(got[i]?.equals(e.value)));
});

test('a slot in migration: new keys follow ASK to the importing node; once moved, MOVED', async () => {
  const old = 'mig:{m}:old';
  const added = 'mig:{m}:new';
  const slot = keySlot(old);
  const v1 = randomBytes(3 << 20);
  const v2 = randomBytes(1000);
  await bulk.setMany([{ key: old, value: v1 }]);
  const from = (await ownerOf(slot))!;
  const to = (await cluster.primaries()).find((p) => p.port !== from)!.port;
  const src: Redis = nodeAt(from).node();
  const dst: Redis = nodeAt(to).node();
  const [srcId, dstId] = await Promise.all([src.call('CLUSTER', 'MYID'), dst.call('CLUSTER', 'MYID')]);
  await dst.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', String(srcId));
  await src.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', String(dstId));

  await bulk.setMany([{ key: added, value: v2 }]);
  assert.equal(await dst.call('CLUSTER', 'COUNTKEYSINSLOT', slot), 1, 'the new key went to the importing node (ASK)');
  assert.equal(await src.call('CLUSTER', 'COUNTKEYSINSLOT', slot), 1, 'the old key is still on the migrating node');
  const [a, b] = await bulk.getMany([old, added]);
  assert.ok(a?.equals(v1) && b?.equals(v2), 'both read, each from the node that has it');
  const out = Buffer.alloc(v1.length);
  assert.equal(await bulk.readInto(old, out, 0, v1.length, 1 << 20), true);
  assert.ok(out.equals(v1));

  await src.call('MIGRATE', '127.0.0.1', to, '', 0, 10_000, 'KEYS', old);
  // As the specification orders it: the importing node first, then the migrating one, then the rest.
  await dst.call('CLUSTER', 'SETSLOT', slot, 'NODE', String(dstId));
  await src.call('CLUSTER', 'SETSLOT', slot, 'NODE', String(dstId));
  for (const p of await cluster.primaries()) if (p.port !== from && p.port !== to) await nodeAt(p.port).node().call('CLUSTER', 'SETSLOT', slot, 'NODE', String(dstId));
  assert.equal(await bulk.nodeOf(old), `127.0.0.1:${from}`, 'the client still has the old map');
  const [c, d] = await bulk.getMany([old, added]);
  assert.ok(c?.equals(v1) && d?.equals(v2));
  assert.equal(await bulk.nodeOf(old), `127.0.0.1:${to}`, 'MOVED taught it the new owner');
  await bulk.setMany([{ key: old, value: v2 }]);
  assert.ok((await dst.getBuffer(old))?.equals(v2), 'writes go to the new owner');
});

test('a primary SIGKILLed: once its replica took over, the raw client reads and writes on', async () => {
  const key = 'fo:{f}';
  const value = randomBytes(2 << 20);
  await bulk.setMany([{ key, value }]);
  const slot = keySlot(key);
  const owner = (await ownerOf(slot))!;
  // Replication is asynchronous: wait until the replica has the value before the kill.
  assert.equal(await nodeAt(owner).node().call('WAIT', 1, 5000), 1);
  await nodeAt(owner).kill();
  await waitFor(async () => {
    const now = await ownerOf(slot);
    if (now === undefined || now === owner) return false;
    return /cluster_state:ok/.test(String(await nodeAt(now).node().call('CLUSTER', 'INFO')));
  }, { timeoutMs: 30_000, what: `a replica to take over slot ${slot} from port ${owner}` });

  const [got] = await bulk.getMany([key]);
  assert.ok(got?.equals(value), 'read from the promoted replica');
  assert.notEqual(await bulk.nodeOf(key), `127.0.0.1:${owner}`);
  await bulk.setMany([{ key, value: Buffer.from('after') }]);
  assert.equal((await bulk.head(key, 100))?.head.toString(), 'after');
  await nodeAt(owner).restart();
});

const infoConnections = new Map<number, ReturnType<ClusterNode['node']>>();
/** Every node (but `except`, a stopped one that would never answer) says cluster_state:ok. */
async function liveNodesOk(except?: number): Promise<boolean> {
  for (const n of cluster.nodes) {
    if (n.port === except) continue;
    if (!infoConnections.has(n.port)) infoConnections.set(n.port, n.node());
    if (!/cluster_state:ok/.test(String(await infoConnections.get(n.port)!.call('CLUSTER', 'INFO')))) return false;
  }
  return true;
}

test('a primary SIGSTOPped (its connections stay open, silent): after the failover, the client gives them up and goes on', async () => {
  const key = 'stop:{s}';
  const slot = keySlot(key);
  await bulk.setMany([{ key, value: Buffer.from('before') }]);
  const owner = (await ownerOf(slot))!;
  const witness = (await cluster.primaries()).find((p) => p.port !== owner)!.port;
  // Its replica may be the node the test before restarted, still catching up.
  await waitFor(async () => (await nodeAt(owner).node().call('WAIT', 1, 1000)) === 1, { what: `a replica of port ${owner} in sync` });
  // Asked of a live node: a stopped one accepts connections and never answers.
  const ownerSeenBy = async (port: number) => {
    const ranges = (await nodeAt(port).node().call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    return ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
  };
  const saved = bulkClientTuning.replyTimeoutMs;
  bulkClientTuning.replyTimeoutMs = 500;
  nodeAt(owner).proc.kill('SIGSTOP');
  try {
    await waitFor(async () => {
      const now = await ownerSeenBy(witness);
      return now !== undefined && now !== owner && (await liveNodesOk(owner));
    }, { timeoutMs: 30_000, what: `a replica to take over slot ${slot} from the stopped port ${owner}` });
    assert.deepEqual(await bulk.getMany([key]), [Buffer.from('before')]);
    await bulk.setMany([{ key, value: Buffer.from('after') }]);
    assert.deepEqual(await bulk.getMany([key]), [Buffer.from('after')]);
  } finally {
    bulkClientTuning.replyTimeoutMs = saved;
    nodeAt(owner).proc.kill('SIGCONT');
  }
  // The resumed node learns it was replaced and becomes a replica: until then nodes disagree, and
  // the next test would meet their redirections back and forth.
  await waitFor(async () => /role:slave/.test(await nodeAt(owner).node().info('replication')) && (await liveNodesOk()), { timeoutMs: 30_000, what: `the resumed port ${owner} to rejoin as a replica, every node ok` });
});

test('a dataset on the cluster: its splits on every primary, read back whole, removed entirely', async () => {
  const k = keys('dsc');
  const lines = Array.from({ length: 4000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
  const text = lines.join('\n') + '\n';
  const meta = await putDataset(ioredis, k, Readable.from([Buffer.from(text)]), { name: 'spread', format: 'text', splitBytes: 4096 });
  assert.ok(meta.splits >= 30, `${meta.splits} splits`);
  const counts = await keysPerPrimary('dsc:ds:{spread:*');
  assert.ok(counts.every((n) => n > 0), `every primary holds splits: ${counts}`);
  assert.equal(counts.reduce((a, b) => a + b), meta.splits);
  const parts: Buffer[] = [];
  for (let s = 0; s < meta.splits; s++) parts.push(await readSplit(ioredis, k, meta, s));
  assert.equal(Buffer.concat(parts).toString(), text);
  // As workers read them: by splitKey, as ranges through the raw client, into one reused buffer.
  let into: Buffer | undefined;
  for (let s = 0; s < meta.splits; s++) {
    const got = await getLarge(bulk, splitKey(k, meta, s), { into, rangeBytes: 1000 });
    assert.ok(got?.data.equals(parts[s]), `split ${s}`);
    into = got?.backing ?? into;
  }
  assert.deepEqual(await headDataset(ioredis, k, meta, 3), lines.slice(0, 3));
  assert.deepEqual((await listDatasets(ioredis, k)).map((m) => m.name), ['spread']);

  const replaced = await putDataset(ioredis, k, Readable.from([Buffer.from('new\n')]), { name: 'spread', format: 'text', splitBytes: 4096, replace: true });
  assert.equal((await getDataset(ioredis, k, 'spread'))?.version, replaced.version);
  assert.equal(await removeDataset(ioredis, k, 'spread'), true);
  assert.equal(await getDataset(ioredis, k, 'spread'), null);
  assert.deepEqual(await listDatasets(ioredis, k), []);
  const left = await keysPerPrimary(`dsc:ds:{spread:${replaced.version}:*`);
  assert.deepEqual(left, [0, 0, 0], 'the removed version left no split behind');
});
