import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redisForFile } from '../../test/harness/redis.ts';
import { runScript, scriptNames } from './scripts.ts';

const fx = redisForFile();

test('every script in lua/ is named <name>-<keys>.lua and loads', () => {
  assert.ok(scriptNames().includes('publish-dataset'));
  assert.ok(scriptNames().includes('remove-dataset'));
});

test('a script runs by SHA after its first use, and again after the server forgot it', async () => {
  const run = () => runScript(fx.redis, 'remove-dataset', ['{t}:meta', '{t}:index'], ['x']);
  assert.deepEqual(await run(), [], 'first call: sent whole after NOSCRIPT');
  await fx.redis.script('FLUSH');
  await fx.redis.hset('{t}:meta', 'version', 'v1', 'splits', '2');
  await fx.redis.sadd('{t}:index', 'x');
  assert.deepEqual(await run(), ['v1', '2'], 'after SCRIPT FLUSH the script is sent again');
  assert.equal(await fx.redis.exists('{t}:meta'), 0);
});

test('an unknown script or a wrong key count is refused before anything is sent', async () => {
  await assert.rejects(runScript(fx.redis, 'nope', []), /no Redis script "nope"/);
  await assert.rejects(runScript(fx.redis, 'remove-dataset', ['only-one']), /takes 2 keys, got 1/);
});

test('keys in different hash slots are refused on one Redis too, as a Redis Cluster would refuse them', async () => {
  await assert.rejects(
    runScript(fx.redis, 'remove-dataset', ['t:meta', 't:index'], ['x']),
    /^Error: Redis script "remove-dataset" was given keys in different hash slots \(t:meta: 8616, t:index: 10986\); a Redis Cluster refuses that/,
  );
});
