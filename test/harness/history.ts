/**
 * A client history (call time, return time, request, answer) and the checks the replication tests
 * make on it:
 * - every acknowledged submit names a job that exists exactly once, created by that client;
 * - no request created two jobs, and no client has more jobs than it made submit calls;
 * - real-time order of reads: a status read that started after another read of the same job had
 *   returned never sees an older version (a job's status never goes backwards).
 */
import assert from 'node:assert/strict';
import type { JobStatus } from '@tandem/shared';

export interface Answer {
  jobId?: string;
  version?: number;
  phase?: string;
  error?: string;
}

export interface Entry {
  client: string;
  kind: 'submit' | 'status';
  jobId?: string;
  callAt: number;
  returnAt?: number;
  answer?: Answer;
}

export class History {
  readonly entries: Entry[] = [];
  private t = 0;

  /** A monotonic timestamp (ties broken by order), so call and return times are totally ordered. */
  private now(): number {
    this.t = Math.max(this.t + 1e-3, performance.now());
    return this.t;
  }

  call(client: string, kind: Entry['kind'], jobId?: string): Entry {
    const e: Entry = { client, kind, jobId, callAt: this.now() };
    this.entries.push(e);
    return e;
  }

  returned(e: Entry, answer: Answer): void {
    e.returnAt = this.now();
    e.answer = answer;
  }
}

export function checkHistory(h: History, finalJobs: JobStatus[]): void {
  const byId = new Map(finalJobs.map((j) => [j.id, j]));
  const submits = h.entries.filter((e) => e.kind === 'submit');
  for (const e of submits) {
    const id = e.answer?.jobId;
    if (!id) continue;
    const job = byId.get(id);
    assert.ok(job, `acknowledged submit ${id} is missing from the final job table`);
    assert.equal(job.submittedBy.clientId, e.client, `job ${id} was created by the client that was told so`);
  }
  const acked = submits.filter((e) => e.answer?.jobId).map((e) => e.answer!.jobId!);
  assert.equal(new Set(acked).size, acked.length, 'two acknowledged submits named the same job');
  const requests = finalJobs.map((j) => `${j.submittedBy.clientId}/${j.submittedBy.requestId}`);
  assert.equal(new Set(requests).size, requests.length, 'one request created two jobs');
  const clients = new Set(submits.map((e) => e.client));
  for (const client of clients) {
    const calls = submits.filter((e) => e.client === client).length;
    const jobs = finalJobs.filter((j) => j.submittedBy.clientId === client).length;
    assert.ok(jobs <= calls, `client ${client} made ${calls} submit calls but owns ${jobs} jobs`);
  }
  const reads = h.entries.filter((e) => e.kind === 'status' && e.answer?.version !== undefined);
  for (const a of reads) {
    for (const b of reads) {
      if (a.jobId !== b.jobId || b.callAt <= a.returnAt!) continue;
      assert.ok(b.answer!.version! >= a.answer!.version!,
        `job ${a.jobId}: a read that started after another returned version ${a.answer!.version} saw version ${b.answer!.version}`);
    }
  }
}
