// The data folder's record of the view service's last answer, which decides whether a one-shot
// command waits out a silent view service (a restart) or fails at once (nothing there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECENT_MS, forgetViewAnswered, recordViewAnswered, viewAnsweredAt, viewAnsweredRecently } from './view-seen.ts';

const URL_ = 'http://127.0.0.1:7000';

test('an answer recorded now is recent for RECENT_MS, for the same address only (as written or with a slash)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-view-seen-'));
  assert.equal(viewAnsweredRecently(dir, URL_), false, 'nothing recorded');
  assert.equal(recordViewAnswered(dir, URL_, 1_000_000), true);
  assert.equal(viewAnsweredAt(dir, `${URL_}/`), 1_000_000);
  assert.equal(viewAnsweredRecently(dir, URL_, 1_000_000 + RECENT_MS), true);
  assert.equal(viewAnsweredRecently(dir, URL_, 1_000_000 + RECENT_MS + 1), false, 'too long ago');
  assert.equal(viewAnsweredRecently(dir, URL_, 999_999), false, 'a record from the future (a clock set back) is not trusted');
  assert.equal(viewAnsweredRecently(dir, 'http://127.0.0.1:7001', 1_000_000), false, 'another view service');
});

test('nothing is written where the data folder does not exist; a stop forgets the record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-view-seen-'));
  const missing = join(dir, 'nope');
  assert.equal(recordViewAnswered(missing, URL_), false);
  assert.equal(existsSync(missing), false, 'no folder is made');
  recordViewAnswered(dir, URL_);
  assert.equal(viewAnsweredRecently(dir, URL_), true);
  forgetViewAnswered(dir);
  assert.equal(viewAnsweredRecently(dir, URL_), false);
  forgetViewAnswered(dir);
});
