/**
 * The view service's durable state in Redis, one JSON value at `<p>:{view-service}`. The service
 * writes it before it reveals a view and reads it at start, so a restarted service resumes the view
 * the masters follow instead of beginning again at view 1.
 */
import type { RedisConnection } from '@tandem/shared';
import { z } from 'zod';
import { formatIssues, viewSchema } from '@tandem/shared';
import type { DurableViewState } from './view-rules.ts';

const storedSchema = z.object({
  view: viewSchema,
  acked: z.boolean(),
  backupSince: z.number().int().min(0),
  members: z.record(z.string(), z.object({ viewnum: z.number().int().min(0), restarted: z.boolean() })),
  logSeq: z.number().int().min(0).optional(),
});

export class UnreadableViewStateError extends Error {}

export interface ViewStateStore {
  /** The stored state, or null when there is none (a new cluster, or Redis lost it). */
  load(): Promise<DurableViewState | null>;
  save(state: DurableViewState): Promise<void>;
}

/** `write`, when given, records the JSON instead of a plain SET (the lease's fenced write, lease.ts). */
export function redisViewStore(redis: RedisConnection, key: string, write?: (json: string) => Promise<void>): ViewStateStore {
  return {
    async load() {
      const raw = await redis.get(key);
      if (raw === null) return null;
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new UnreadableViewStateError(`${key} holds no JSON (${raw.slice(0, 80)})`);
      }
      const parsed = storedSchema.safeParse(json);
      if (!parsed.success) throw new UnreadableViewStateError(`${key} is not a view-service state: ${formatIssues(parsed.error)}`);
      return parsed.data;
    },
    async save(state) {
      if (write) await write(JSON.stringify(state));
      else await redis.set(key, JSON.stringify(state));
    },
  };
}
