import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, type TestRedis } from '../../test/harness/redis.ts';
import { runScript, scriptNames } from './scripts.ts';

let r: TestRedis;
let redis: Redis;
before(async () => {
  r = await startRedis();
  redis = r.client();
});
after(async () => r?.stop());

test('every script in lua/ is named <name>-<keys>.lua and loads', () => {
  assert.ok(scriptNames().includes('publish-dataset'));
  assert.ok(scriptNames().includes('remove-dataset'));
});

test('a script runs by SHA after its first use, and again after the server forgot it', async () => {
  const run = () => runScript(redis, 'remove-dataset', ['t:meta', 't:index'], ['x']);
  assert.deepEqual(await run(), [], 'first call: sent whole after NOSCRIPT');
  const [loaded] = (await redis.script('EXISTS', (await redis.script('LOAD', 'return 1')) as string)) as number[];
  assert.equal(loaded, 1);
  await redis.script('FLUSH');
  await redis.hset('t:meta', 'version', 'v1', 'splits', '2');
  await redis.sadd('t:index', 'x');
  assert.deepEqual(await run(), ['v1', '2'], 'after SCRIPT FLUSH the script is sent again');
  assert.equal(await redis.exists('t:meta'), 0);
});

test('an unknown script or a wrong key count is refused before anything is sent', async () => {
  await assert.rejects(runScript(redis, 'nope', []), /no Redis script "nope"/);
  await assert.rejects(runScript(redis, 'remove-dataset', ['only-one']), /takes 2 keys, got 1/);
});
