/**
 * Long polls: a client that follows a job waits here until an op changes the job, instead of
 * polling. A job's version is replicated, so a poll that names the version it last saw survives a
 * failover.
 */
import { EventEmitter } from 'node:events';

export class LongPolls {
  /** Emits a job's id whenever an op changes it. */
  private changes = new EventEmitter();

  /** `version` reads a job's current version (0 for an unknown job). */
  constructor(private version: (jobId: string) => number) {
    this.changes.setMaxListeners(0);
  }

  /** Resolves when the job's version differs from `version`, or after `timeoutMs`. */
  waitForChange(jobId: string, version: number, timeoutMs: number): Promise<void> {
    if (this.version(jobId) !== version) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.changes.off(jobId, done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.changes.on(jobId, done);
    });
  }

  /** An op changed the job: answers everyone waiting on it. */
  changed(jobId: string): void {
    this.changes.emit(jobId);
  }

  /** Wakes every poll (this master stepped down): each then fails its read's confirmation and answers "not primary". */
  wakeAll(): void {
    for (const id of this.changes.eventNames()) this.changes.emit(id);
  }

  /** Polls waiting, on one job or on all. */
  waiting(jobId?: string): number {
    if (jobId !== undefined) return this.changes.listenerCount(jobId);
    return this.changes.eventNames().reduce((n, id) => n + this.changes.listenerCount(id), 0);
  }
}
