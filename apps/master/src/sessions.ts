/**
 * Client sessions: the replicated table that makes submits, cancels and removes at-most-once with
 * many requests in flight per client (Raft's client sessions, Ongaro's thesis, section 6.3; RIFL).
 *
 * Per client the master keeps the replies to its recent request ids. Request ids are positive
 * integers; each request also says the lowest id its client has not yet seen answered
 * (`firstUnanswered`), so every reply below it can go. A request below what the session has
 * forgotten (`floor`) is refused, never applied: the master can no longer tell whether it was.
 * Pure: `apply` (state.ts) calls these, so replicas and the durable log agree on them.
 */
import { REQUEST_WINDOW } from '@tandem/shared';
import type { Reply } from './state.ts';

/** One client's remembered replies, ordered by request id, and the id below which it forgets. */
export interface ClientSession {
  /** Requests with a lower id are forgotten: a retry of one is refused with `conflict`. */
  floor: number;
  /** [requestId, reply], ascending by request number. */
  replies: Array<[string, Reply]>;
  /** When the session last asked something (op time). */
  at: number;
}

export type Sessions = Record<string, ClientSession>;

/** Who sends a change, as an op carries it. */
export interface ClientRef {
  clientId: string;
  requestId: string;
  /** The lowest request id the client has not seen answered; absent: it forgets nothing early. */
  firstUnanswered?: string;
}

/**
 * Clients remembered. Every CLI run is a new client, so the table is bounded: past this many, the
 * client heard from longest ago is forgotten (a retry from it, after a thousand newer clients, would
 * be treated as new). The table is ordered by last request (a client's entry is re-inserted at the
 * end), so the oldest is simply the first; replicas apply the same ops and so hold the same order,
 * and a snapshot (JSON) keeps it.
 */
export const MAX_CLIENTS = 1000;

/**
 * Replies remembered per client. MasterClient never has more than this many ids between its lowest
 * unanswered request and its newest one, so a well-behaved client never loses a reply it may still
 * ask for; one that goes past it has its lowest ids forgotten (and refused if retried).
 */
export const MAX_REPLIES_PER_CLIENT = REQUEST_WINDOW;

/** Only the client fields of a request (an op must not carry the rest of its body). */
export const clientRef = (r: ClientRef): ClientRef =>
  (r.firstUnanswered === undefined ? { clientId: r.clientId, requestId: r.requestId } : { clientId: r.clientId, requestId: r.requestId, firstUnanswered: r.firstUnanswered });

/**
 * A request id as a number; 0 for an id that is not a positive integer (the wire refuses those;
 * only hand-written ops carry one), which is matched exactly and never forgotten by number.
 */
export const requestNumber = (id: string | undefined): number => {
  const n = Number(id);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
};

/** The answer a request already has: its remembered reply, or a refusal when it is forgotten. */
export function answered(sessions: Sessions, ref: ClientRef): Reply | undefined {
  const s = sessions[ref.clientId];
  if (!s) return undefined;
  const hit = s.replies.find(([id]) => id === ref.requestId);
  if (hit) return hit[1];
  const n = requestNumber(ref.requestId);
  if (n > 0 && n < s.floor) {
    return {
      ok: false, code: 'conflict',
      error: `request ${ref.requestId} of client ${ref.clientId} is older than its window (the master forgot replies below ${s.floor}); it was not applied now; list the jobs to see whether an earlier attempt was, and send new requests with new ids`,
    };
  }
  return undefined;
}

/**
 * The table after `ref`'s request got `reply`: its reply kept, replies below the client's
 * firstUnanswered forgotten, the per-client and per-table bounds kept.
 */
export function remember(sessions: Sessions, ref: ClientRef, reply: Reply, at: number): Sessions {
  const old = sessions[ref.clientId];
  const n = requestNumber(ref.requestId);
  // Never forget the request being answered, whatever firstUnanswered says.
  let floor = Math.max(old?.floor ?? 0, n > 0 ? Math.min(n, requestNumber(ref.firstUnanswered)) : 0);
  const replies = (old?.replies ?? []).filter(([id]) => {
    const m = requestNumber(id);
    return m === 0 || m >= floor;
  });
  const pos = replies.findIndex(([id]) => requestNumber(id) > n);
  replies.splice(pos < 0 ? replies.length : pos, 0, [ref.requestId, reply]);
  while (replies.length > MAX_REPLIES_PER_CLIENT) {
    const [id] = replies.shift()!;
    floor = Math.max(floor, requestNumber(id) + 1);
  }
  const next: Sessions = { ...sessions };
  delete next[ref.clientId];
  next[ref.clientId] = { floor, replies, at };
  let excess = Object.keys(next).length - MAX_CLIENTS;
  for (const id in next) {
    if (excess-- <= 0) break;
    delete next[id];
  }
  return next;
}
