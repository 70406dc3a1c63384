import type { RedisConnection } from '../redis.ts';
import type { Keys } from '../keys.ts';
import { redisBlobs, type BlobStore } from '../blob-store.ts';
import { DatasetError } from './errors.ts';

/**
 * Timings of the upload leak guard. Mutable only so tests can shorten them.
 * - uploadTtlMs: expiry of splits written by an upload that has not been published yet.
 * - refreshMs: how often a long upload refreshes the expiry of the splits it already wrote.
 * - replacedTtlMs: expiry given to the previous version's splits on --replace (running jobs may finish).
 */
export const datasetStoreTuning = {
  uploadTtlMs: 60 * 60 * 1000,
  refreshMs: 10 * 60 * 1000,
  replacedTtlMs: 60 * 60 * 1000,
};

/**
 * Writes one upload's splits under its fresh version: SETs pipelined one ahead, each with an
 * expiry so that an upload that dies unpublished cleans itself up; persist() makes them permanent
 * once all are written, discard() deletes them after a failure.
 */
export class SplitWriter {
  readonly keys: string[] = [];
  private inflight: Promise<void> | null = null;
  private error: { e: unknown } | null = null;
  private lastRefresh = Date.now();
  private readonly blobs: BlobStore;

  constructor(
    redis: RedisConnection,
    private readonly k: Keys,
    private readonly name: string,
    private readonly version: string,
  ) {
    this.blobs = redisBlobs(redis);
  }

  /** Waits for the previous write, then starts this one (so at most one split is in flight). */
  async write(data: Buffer): Promise<void> {
    await this.drain();
    const key = this.k.split(this.name, this.version, this.keys.length);
    this.keys.push(key);
    const set = this.blobs.setMany([{ key, value: data }], datasetStoreTuning.uploadTtlMs);
    let p: Promise<unknown> = set;
    if (Date.now() - this.lastRefresh >= datasetStoreTuning.refreshMs) {
      this.lastRefresh = Date.now();
      // The split being set already has a fresh expiry; the others get theirs renewed.
      p = Promise.all([set, this.blobs.expire(this.keys.slice(0, -1), datasetStoreTuning.uploadTtlMs)]);
    }
    this.inflight = p.then(
      () => {},
      (e) => {
        this.error ??= { e };
      },
    );
  }

  async drain(): Promise<void> {
    if (this.inflight) {
      await this.inflight;
      this.inflight = null;
    }
    if (this.error) throw this.error.e;
  }

  async persist(): Promise<void> {
    await this.drain();
    // PERSIST answers 0 for a key without expiry or a missing key; ours all have an expiry.
    const lost = (await this.blobs.expire(this.keys, null)).findIndex((persisted) => !persisted);
    if (lost >= 0) throw new DatasetError(`dataset "${this.name}": split ${lost} vanished during the upload (expired?)`);
  }

  /** Best effort: deletes everything written (after any write in flight has landed). */
  async discard(): Promise<void> {
    try {
      if (this.inflight) await this.inflight;
    } catch {
      /* already recorded */
    }
    if (this.keys.length === 0) return;
    try {
      await this.blobs.delete(this.keys);
    } catch {
      /* the expiry cleans up what we could not */
    }
  }
}

/** The keys of a version's splits. */
export const versionKeys = (k: Keys, name: string, version: string, splits: number) =>
  Array.from({ length: splits }, (_, s) => k.split(name, version, s));
