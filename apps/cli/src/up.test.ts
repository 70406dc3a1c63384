// The line `tandem up` prints for another terminal: enough to reach this cluster, never a secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loadConfig } from '@tandem/shared';
import { exportLine } from './up.ts';

test('the export line names Redis, the prefix, the view service and the data folder as an absolute path (so it works from any folder); a password is never shown', () => {
  assert.equal(exportLine(loadConfig({})), `export REDIS_URL=redis://127.0.0.1:6379 TANDEM_PREFIX=tandem TANDEM_VIEW_URL=http://127.0.0.1:7000 TANDEM_DATA_DIR=${resolve('.tandem')}`);
  const line = exportLine(loadConfig({
    REDIS_URL: 'redis://app:hunter2-pw@10.0.0.5:6380/0', TANDEM_PREFIX: 'blue', TANDEM_DATA_DIR: 'my data', TANDEM_SECRET: 'x'.repeat(40),
  }));
  assert.equal(line, `export REDIS_URL='redis://app:<password>@10.0.0.5:6380/0' TANDEM_PREFIX=blue TANDEM_VIEW_URL=http://127.0.0.1:7000 TANDEM_DATA_DIR='${resolve('my data')}'`);
  assert.ok(!line.includes('hunter2') && !line.includes('xxxx'), 'no password, no secret');
});
