/**
 * Stopping a worker (SIGTERM, as when Kubernetes scales in): finish or hand back. The worker takes
 * no new task and lets the running ones finish for up to TANDEM_WORKER_DRAIN_MS; a task still running
 * then is handed back: moved from active to the front of its queue (BullMQ's moveToWait, which
 * releases the lock), so another worker takes it at once instead of after the lock lapses, and the
 * attempt ends with WaitingError, which BullMQ counts neither as failed nor as stalled. The attempt
 * left behind dies with the process; had it committed first, the next attempt finds the commit and
 * skips (the first commit wins, docs/DESIGN.md §3.2).
 */
import { WaitingError, type Job } from 'bullmq';

export class Drain {
  private expire!: () => void;
  /** Settles once the drain time is up: never, until `begin`. */
  private readonly expired = new Promise<void>((resolve) => (this.expire = resolve));
  stopping = false;

  /** Starts draining: tasks still running after `ms` are handed back. */
  begin(ms: number): void {
    if (this.stopping) return;
    this.stopping = true;
    setTimeout(this.expire, ms);
  }

  /**
   * `work`'s result, or, when the drain time runs out first, `job` handed back with the lock `token`
   * (`onHandBack` is told) and WaitingError thrown for BullMQ.
   */
  async finishOrHandBack<T>(work: Promise<T>, job: Job, token: string | undefined, onHandBack: () => void): Promise<T> {
    const done = await Promise.race([work.then((value) => ({ value })), this.expired.then(() => null)]);
    if (done) return done.value;
    // The abandoned attempt may still end, in an error nobody waits for.
    work.catch(() => undefined);
    await job.moveToWait(token);
    onHandBack();
    throw new WaitingError(`task ${job.id} handed back: the worker is stopping`);
  }
}
