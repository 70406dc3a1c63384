/**
 * Defaults of the connection settings, in a module that imports nothing: config.ts validates with
 * them, and the CLI shows them in `tandem --help` without loading zod (`@tandem/shared/defaults`).
 */
export const CONNECTION_DEFAULTS = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  TANDEM_PREFIX: 'tandem',
  TANDEM_VIEW_URL: 'http://127.0.0.1:7000',
} as const;
