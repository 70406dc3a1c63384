/**
 * Long polls: a client that follows a job waits here until an op changes the job, instead of
 * polling. A job's version is replicated, so a poll that names the version it last saw survives a
 * failover.
 */
import { EventEmitter } from 'node:events';

/** The event every waiting poll also listens to: a step-down wakes them all. */
const WAKE = Symbol('wake all');

export class LongPolls {
  /** Emits a job's id whenever an op changes it. */
  private changes = new EventEmitter();

  /**
   * `version` reads a job's current version (0 for an unknown job); `finished`, whether the job is
   * over (done, failed, cancelled, or gone), which a held poll answers at once.
   */
  constructor(private version: (jobId: string) => number, private finished: (jobId: string) => boolean = () => true) {
    this.changes.setMaxListeners(0);
  }

  /**
   * Resolves when the job's version differs from `version`, or after `timeoutMs`. With `holdMs`, a
   * change that leaves the job running is answered no sooner than `holdMs` after the call (the
   * client's pace), while one that finishes the job, or a wake-up, is answered at once.
   */
  waitForChange(jobId: string, version: number, timeoutMs: number, holdMs = 0): Promise<void> {
    const holdUntil = Date.now() + holdMs;
    const due = () => this.finished(jobId) || Date.now() >= holdUntil;
    if (this.version(jobId) !== version && (holdMs <= 0 || due())) return Promise.resolve();
    return new Promise((resolve) => {
      let hold: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        clearTimeout(hold);
        this.changes.off(jobId, changed);
        this.changes.off(WAKE, done);
        resolve();
      };
      const changed = () => {
        if (this.version(jobId) === version) return;
        if (due()) done();
        else hold ??= setTimeout(done, holdUntil - Date.now());
      };
      const timer = setTimeout(done, timeoutMs);
      this.changes.on(jobId, changed);
      this.changes.on(WAKE, done);
      changed();
    });
  }

  /** An op changed the job: answers everyone waiting on it. */
  changed(jobId: string): void {
    this.changes.emit(jobId);
  }

  /** Wakes every poll (this master stepped down): each then fails its read's confirmation and answers "not primary". */
  wakeAll(): void {
    this.changes.emit(WAKE);
  }

  /** Polls waiting, on one job or on all. */
  waiting(jobId?: string): number {
    if (jobId !== undefined) return this.changes.listenerCount(jobId);
    return this.changes.listenerCount(WAKE);
  }
}
