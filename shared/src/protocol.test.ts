// The wire protocol's error rules and request schemas, without processes: what a server answers for
// each failure, and what a client rebuilds from the answer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  ERROR_STATUS, TandemError, asTandemError, codeForStatus, errorBody, errorOf, formatIssues, jobQuerySchema, parseRequest,
  pingRequestSchema, submitRequestSchema, type ErrorCode,
} from './protocol.ts';

describe('error codes', () => {
  test('each code has one status, and a client rebuilds every code from the body a server sends', () => {
    for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
      const sent = new TandemError(code, `refused with ${code}`, { why: code });
      const got = errorOf(sent.status, JSON.parse(JSON.stringify(errorBody(sent))));
      assert.ok(got instanceof TandemError, code);
      assert.deepEqual([got.code, got.status, got.message, got.details], [code, ERROR_STATUS[code], `refused with ${code}`, { why: code }]);
    }
  });

  test('a success is no error; ok:false is one even with status 200', () => {
    assert.equal(errorOf(200, { ok: true, jobId: 'j1' }), null);
    assert.equal(errorOf(200, { jobs: [] }), null);
    assert.equal(errorOf(200, { ok: false, code: 'conflict', error: 'taken' })?.code, 'conflict');
  });

  test('an answer without a code is typed by its status; 503 alone is unavailable, never not_primary', () => {
    assert.deepEqual([400, 401, 403, 404, 409, 413, 500, 503].map(codeForStatus), ['invalid', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_large', 'internal', 'unavailable']);
    assert.equal(codeForStatus(502), 'internal');
    assert.equal(codeForStatus(418), 'invalid');
    const e = errorOf(404, '<html>Cannot GET</html>');
    assert.equal(e?.code, 'not_found');
    assert.match(e!.message, /answered 404/);
    assert.equal(errorOf(503, { ok: false, code: 'no_such_code', error: 'x' })?.code, 'unavailable', 'an unknown code falls back to the status');
  });

  test('body-parser failures are invalid or too_large; anything unexpected is internal and reported', () => {
    const tooBig = Object.assign(new Error('request entity too large'), { type: 'entity.too.large', limit: 1024 });
    assert.deepEqual([asTandemError(tooBig).code, asTandemError(tooBig).message], ['too_large', 'request body too large (the limit is 1024 bytes)']);
    const badJson = Object.assign(new Error('Unexpected token'), { type: 'entity.parse.failed' });
    assert.deepEqual([asTandemError(badJson).code, asTandemError(badJson).message], ['invalid', 'bad request body: Unexpected token']);
    const seen: string[] = [];
    const bug = asTandemError(new TypeError('x is undefined'), (err) => seen.push(err.message));
    assert.deepEqual([bug.code, bug.message, seen], ['internal', 'internal error: x is undefined', ['x is undefined']]);
    const refusal = new TandemError('conflict', 'already');
    assert.equal(asTandemError(refusal, () => assert.fail('a refusal is not unexpected')), refusal);
  });
});

describe('request schemas', () => {
  test('formatIssues names every bad field by its path', () => {
    const r = submitRequestSchema.safeParse({ clientId: 'c', requestId: '1', type: 5, params: { pattern: ['x'] } });
    assert.equal(r.success, false);
    const line = formatIssues(r.error!);
    assert.match(line, /^type: .*; dataset: .*; params\.pattern: expected a string, a number or a boolean$/);
    const two = z.object({ A: z.number(), B: z.number() }).safeParse({}).error!;
    assert.match(formatIssues(two, { name: (p) => `${p}=?`, separator: '\n' }), /^A=\?: [^\n]+\nB=\?: [^\n]+$/, 'as the configuration lists them');
    assert.match(formatIssues(z.object({}).safeParse([]).error!), /^body: /, 'the whole value is "body"');
  });

  test('parseRequest refuses with invalid, saying what was bad', () => {
    assert.throws(() => parseRequest(pingRequestSchema, { server: '', viewnum: -1 }, 'bad ping'), (err: TandemError) => {
      assert.equal(err.code, 'invalid');
      assert.match(err.message, /^bad ping: server: .*; viewnum: /);
      return true;
    });
    assert.deepEqual(parseRequest(pingRequestSchema, { server: 'http://m:1', viewnum: 3 }), { server: 'http://m:1', viewnum: 3 });
  });

  test('job params may be strings, numbers or booleans', () => {
    const r = parseRequest(submitRequestSchema, { clientId: 'c', requestId: '1', type: 'pagerank', dataset: 'g', params: { iterations: 30, tol: '1e-9', verbose: true } });
    assert.deepEqual(r.params, { iterations: 30, tol: '1e-9', verbose: true });
    assert.deepEqual(parseRequest(submitRequestSchema, { clientId: 'c', requestId: '1', type: 't', dataset: 'd' }).params, {}, 'params default to none');
  });

  test('a long poll query: whole numbers only, waitMs capped at 60 s and 25 s by default', () => {
    assert.deepEqual(parseRequest(jobQuerySchema, {}), { waitMs: 25_000 });
    assert.deepEqual(parseRequest(jobQuerySchema, { after: '7', waitMs: '900000' }), { after: 7, waitMs: 60_000 });
    for (const bad of [{ after: '-1' }, { after: 'x' }, { after: '' }, { waitMs: '1.5' }, { after: ['1', '2'] }]) {
      assert.throws(() => parseRequest(jobQuerySchema, bad, 'bad query'), (err: TandemError) => {
        assert.equal(err.code, 'invalid');
        assert.match(err.message, new RegExp(`^bad query: ${Object.keys(bad)[0]}: `), JSON.stringify(bad));
        return true;
      });
    }
  });
});
