// The master's API refuses every bad request with a 4xx, a typed code and a message that names the
// field, and never with a 500 or a stack trace in its log; the client rebuilds the code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MasterError, putDataset, type ErrorCode } from '@tandem/shared';
import { startCluster, type Cluster } from './harness/cluster.ts';

interface Answer {
  status: number;
  body: { ok?: boolean; code?: string; error?: string } & Record<string, unknown>;
}

describe('master API refusals', { timeout: 120_000 }, () => {
  let c: Cluster;
  let url: string;
  let seq = 0;
  const ids = () => ({ clientId: 'api-test', requestId: String(++seq) });

  before(async () => {
    c = await startCluster({ name: 'master-api', workers: 0 });
    url = c.masters[0].url;
    const put = (name: string, format: 'text' | 'edges', data: string) =>
      putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(data)]), { name, format, splitBytes: 1 << 20 });
    await put('words', 'text', 'the cat\nthe dog\n');
    await put('graph', 'edges', 'a,b\nb,c\nc,a\n');
  });
  after(async () => c?.stop());

  async function send(method: 'GET' | 'POST', path: string, body?: unknown, raw?: string): Promise<Answer> {
    const res = await fetch(new URL(path, url), {
      method,
      headers: body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : undefined,
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  }

  const refused = (a: Answer, status: number, code: ErrorCode, names: RegExp, what: string) => {
    assert.equal(a.status, status, `${what}: ${JSON.stringify(a.body)}`);
    assert.deepEqual([a.body.ok, a.body.code], [false, code], what);
    assert.match(a.body.error ?? '', names, what);
  };

  test('bad bodies: not JSON, too large, not an object', async () => {
    refused(await send('POST', '/jobs', undefined, '{"type": wordcount'), 400, 'invalid', /^bad request body: /, 'bad JSON');
    refused(await send('POST', '/jobs', { ...ids(), type: 'wordcount', dataset: 'words', params: { x: 'y'.repeat(300_000) } }), 413, 'too_large', /too large \(the limit is 262144 bytes\)/, 'oversized');
    refused(await send('POST', '/jobs', []), 400, 'invalid', /^bad request: body: /, 'an array');
  });

  test('submit: every missing or ill-typed field is named', async () => {
    refused(await send('POST', '/jobs', {}), 400, 'invalid', /type: .*dataset: .*clientId: .*requestId: /, 'nothing');
    refused(await send('POST', '/jobs', { ...ids(), type: 5, dataset: 'words' }), 400, 'invalid', /^bad request: type: .*expected string/, 'type a number');
    refused(await send('POST', '/jobs', { ...ids(), type: 'wordcount', dataset: 'words', partitions: 'two' }), 400, 'invalid', /^bad request: partitions: /, 'partitions a string');
    refused(await send('POST', '/jobs', { ...ids(), type: 'wordcount', dataset: 'words', partitions: 0 }), 400, 'invalid', /partitions must be a whole number from 1 to 1024/, 'zero partitions');
    refused(await send('POST', '/jobs', { ...ids(), type: 'grep', dataset: 'words', params: { pattern: ['the'] } }), 400, 'invalid', /^bad request: params\.pattern: expected a string, a number or a boolean/, 'a param that is a list');
  });

  test('submit: bad dataset names, unknown datasets, types and parameters', async () => {
    refused(await send('POST', '/jobs', { ...ids(), type: 'wordcount', dataset: 'bad name' }), 400, 'invalid', /^bad request: dataset: invalid dataset name "bad name"/, 'invalid dataset name');
    refused(await send('POST', '/jobs', { ...ids(), type: 'wordcount', dataset: 'nosuch' }), 400, 'invalid', /dataset "nosuch" does not exist/, 'unknown dataset');
    refused(await send('POST', '/jobs', { ...ids(), type: 'nosuchtype', dataset: 'words' }), 400, 'invalid', /unknown job type "nosuchtype"; known types: .*wordcount/, 'unknown job type');
    refused(await send('POST', '/jobs', { ...ids(), type: 'pagerank', dataset: 'graph', params: { iterations: true } }), 400, 'invalid', /iterations/, 'a boolean where a number goes');
    refused(await send('POST', '/jobs', { ...ids(), type: 'pagerank', dataset: 'words' }), 400, 'invalid', /dataset "words" is text/, 'the wrong format');
    // A computed key makes an own property, as JSON.parse does for a client's body.
    refused(await send('POST', '/jobs', { ...ids(), type: 'wordcount', dataset: 'words', params: { ['__proto__']: 'x' } }), 400, 'invalid', /params\.__proto__: unknown parameter "__proto__"/, 'a parameter named __proto__');
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      refused(await send('POST', '/jobs', { ...ids(), type: 'wordcount', dataset: 'words', params: { [name]: 'x' } }), 400, 'invalid', new RegExp(`unknown parameter "${name}" \\(wordcount takes none\\)`), `a parameter named ${name}`);
    }
  });

  test('submit takes numbers and booleans as parameters', async () => {
    const a = await send('POST', '/jobs', { ...ids(), type: 'pagerank', dataset: 'graph', params: { iterations: 3, tol: 0 } });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const s = await send('GET', `/jobs/${a.body.jobId}`);
    assert.deepEqual(s.body.params, { iterations: 3, tol: 0, damping: 0.85 });
    assert.equal((await send('POST', `/jobs/${a.body.jobId}/cancel`, ids())).status, 200);
  });

  test('unknown jobs are not_found for status, cancel and remove; a change the job\'s state forbids is a conflict', async () => {
    refused(await send('GET', '/jobs/jnosuch'), 404, 'not_found', /job jnosuch does not exist/, 'status');
    refused(await send('GET', '/jobs/jnosuch?after=3&waitMs=10'), 404, 'not_found', /job jnosuch does not exist/, 'long poll');
    refused(await send('POST', '/jobs/jnosuch/cancel', ids()), 404, 'not_found', /job jnosuch does not exist/, 'cancel');
    refused(await send('POST', '/jobs/jnosuch/remove', ids()), 404, 'not_found', /job jnosuch does not exist/, 'remove');
    const { body } = await send('POST', '/jobs', { ...ids(), type: 'wordcount', dataset: 'words' });
    refused(await send('POST', `/jobs/${body.jobId}/remove`, ids()), 409, 'conflict', /cancel it and wait for clean-up/, 'remove a running job');
    assert.equal((await send('POST', `/jobs/${body.jobId}/cancel`, ids())).status, 200);
    refused(await send('POST', `/jobs/${body.jobId}/cancel`, ids()), 409, 'conflict', /already cancelled/, 'cancel twice');
  });

  test('bad change bodies, long-poll queries and routes', async () => {
    refused(await send('POST', '/jobs/jnosuch/cancel', { clientId: 'api-test' }), 400, 'invalid', /^bad request: requestId: /, 'cancel without requestId');
    refused(await send('POST', '/jobs/jnosuch/remove', { clientId: 7, requestId: '1' }), 400, 'invalid', /^bad request: clientId: /, 'remove with a number for clientId');
    refused(await send('GET', '/jobs/jnosuch?after=soon'), 400, 'invalid', /^bad query: after: expected a whole number/, 'after not a number');
    refused(await send('GET', '/jobs/jnosuch?after=1&waitMs=-5'), 400, 'invalid', /^bad query: waitMs: expected a whole number/, 'negative waitMs');
    refused(await send('GET', '/nowhere'), 404, 'not_found', /no GET \/nowhere/, 'unknown route');
  });

  test('the client rebuilds the code of a refusal', async () => {
    const client = c.client();
    const code = (err: unknown) => (err instanceof MasterError ? err.code : `not a MasterError: ${err}`);
    await assert.rejects(client.status('jnosuch'), (err) => code(err) === 'not_found');
    await assert.rejects(client.submit({ type: 'wordcount', dataset: 'bad name' }), (err) => code(err) === 'invalid');
    await assert.rejects(client.cancel('jnosuch'), (err) => code(err) === 'not_found');
  });

  test('none of it was an internal error: the master logged no failed request', () => {
    const logs = readdirSync(c.outDir).filter((f) => f.startsWith('master-')).map((f) => readFileSync(join(c.outDir, f), 'utf8'));
    assert.ok(logs.some((l) => /"msg":"job submitted"/.test(l)), 'the master log is where the test looks');
    for (const l of logs) assert.doesNotMatch(l, /"msg":"request failed"/);
  });
});
