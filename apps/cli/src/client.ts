/** The CLI's client: @tandem/client (client/src) with the settings the flags and the environment gave. */
import type { Config } from '@tandem/shared';
import { Tandem } from '../../../client/src/index.ts';

export function tandemFor(cfg: Config): Tandem {
  return new Tandem({
    viewUrl: cfg.TANDEM_VIEW_URL, masterUrl: cfg.TANDEM_MASTER_URL, secret: cfg.TANDEM_SECRET, redisUrl: cfg.REDIS_URL,
    prefix: cfg.TANDEM_PREFIX, splitBytes: cfg.TANDEM_SPLIT_BYTES, dataDir: cfg.TANDEM_DATA_DIR, redisCa: cfg.TANDEM_REDIS_CA, env: {},
    onViewWait: (message) => process.stderr.write(`tandem: ${message}\n`),
  });
}
