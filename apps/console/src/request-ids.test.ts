import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiIds, formIds, postedIds, requestFields } from './request-ids.ts';

test('a form carries its own ids, and a post of them names the same request', () => {
  const ids = formIds();
  assert.match(ids.clientId, /^console-form-[0-9a-f-]{36}$/);
  assert.notEqual(formIds().clientId, ids.clientId, 'every render is its own client');
  const fields = requestFields(ids).value;
  assert.equal(fields, `<input type="hidden" name="clientId" value="${ids.clientId}"><input type="hidden" name="requestId" value="1">`);
  assert.deepEqual(postedIds({ clientId: ids.clientId, requestId: '1', type: 'wordcount' }), { clientId: ids.clientId, requestId: '1', firstUnanswered: '1' });
  assert.equal(postedIds({ type: 'wordcount' }), undefined, 'a form from before the ids: numbered by the console');
  assert.equal(postedIds({ clientId: 'someone-else', requestId: '1' }), undefined, 'only form clients come from forms');
  assert.equal(postedIds({ clientId: ids.clientId, requestId: 'x' }), undefined);
});

test("a script's ids: an Idempotency-Key, or its own pair; half a pair or both spellings are refused", () => {
  assert.deepEqual(apiIds('run-7', {}), { clientId: 'idempotency-key:run-7', requestId: '1', firstUnanswered: '1' });
  assert.deepEqual(apiIds(undefined, { clientId: 'etl', requestId: '5', firstUnanswered: '3' }), { clientId: 'etl', requestId: '5', firstUnanswered: '3' });
  assert.equal(apiIds(undefined, {}), undefined);
  assert.throws(() => apiIds('k', { clientId: 'etl', requestId: '1' }), /not both/);
  assert.throws(() => apiIds(undefined, { clientId: 'etl' }), /requestId is missing/);
  assert.throws(() => apiIds('', {}), /1 to 180 characters/);
  assert.throws(() => apiIds(undefined, { clientId: 'console-form-x', requestId: '1' }), /prefix the console keeps/);
});
