// The line `tandem up` prints for another terminal: enough to reach this cluster, never a secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loadConfig } from '@tandem/shared';
import { exportLine, metricsLine, metricsUrls, workerMetricsPort } from './up.ts';

test('the export line names Redis, the prefix, the view service and the data folder as an absolute path (so it works from any folder); a password is never shown', () => {
  assert.equal(exportLine(loadConfig({})), `export REDIS_URL=redis://127.0.0.1:6379 TANDEM_PREFIX=tandem TANDEM_VIEW_URL=http://127.0.0.1:7000 TANDEM_DATA_DIR=${resolve('.tandem')}`);
  const line = exportLine(loadConfig({
    REDIS_URL: 'redis://app:hunter2-pw@10.0.0.5:6380/0', TANDEM_PREFIX: 'blue', TANDEM_DATA_DIR: 'my data', TANDEM_SECRET: 'x'.repeat(40),
  }));
  assert.equal(line, `export REDIS_URL='redis://app:<password>@10.0.0.5:6380/0' TANDEM_PREFIX=blue TANDEM_VIEW_URL=http://127.0.0.1:7000 TANDEM_DATA_DIR='${resolve('my data')}'`);
  assert.ok(!line.includes('hunter2') && !line.includes('xxxx'), 'no password, no secret');
});

test("the metrics line names every process's /metrics: the view service, both masters and the console on their ports, worker i on the base + i - 1", () => {
  const cfg = loadConfig({ TANDEM_MASTER_PORT: '7100', TANDEM_CONSOLE_HOST: '0.0.0.0' });
  assert.deepEqual(metricsUrls(cfg, 2, 7400), [
    ['view', 'http://127.0.0.1:7000/metrics'],
    ['master-a', 'http://127.0.0.1:7100/metrics'],
    ['master-b', 'http://127.0.0.1:7101/metrics'],
    ['console', 'http://127.0.0.1:7300/metrics'],
    ['worker-1', 'http://127.0.0.1:7400/metrics'],
    ['worker-2', 'http://127.0.0.1:7401/metrics'],
  ]);
  assert.equal(workerMetricsPort(9000, 3), 9002);
  assert.equal(workerMetricsPort(0, 3), 0, 'base 0: each worker takes a free port');
  const line = metricsLine(cfg, 2, 0);
  assert.match(line, /^metrics \(Prometheus, with Authorization: Bearer <the cluster secret>\): view http:\/\/127\.0\.0\.1:7000\/metrics, /);
  assert.match(line, /worker-1 on a free port \(it logs "metrics at URL"\), worker-2 on a free port/);
  const tls = metricsUrls(loadConfig({ TANDEM_TLS_CERT: 'c.pem', TANDEM_TLS_KEY: 'k.pem', TANDEM_METRICS_HOST: '::1' }), 1, 7400);
  assert.deepEqual(tls.map(([, url]) => url), ['https://127.0.0.1:7000/metrics', 'https://127.0.0.1:7100/metrics', 'https://127.0.0.1:7101/metrics', 'https://127.0.0.1:7300/metrics', 'https://[::1]:7400/metrics']);
  assert.equal(metricsLine(loadConfig({ TANDEM_METRICS: 'off' }), 2, 7400), 'metrics are off (TANDEM_METRICS=off): /metrics answers 404');
});
