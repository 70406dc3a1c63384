/**
 * Request ids for the changes the console sends on someone's behalf, so that each is applied at
 * most once however often it arrives.
 *
 * Every rendered form is its own client with one request, (console-form-<uuid>, 1), carried in
 * hidden fields: a double click or a browser's retry posts the same pair and the master answers
 * with the first reply. A script names its request with an `Idempotency-Key` header, or with its
 * own clientId / requestId (and firstUnanswered) in the body. Without either, the console's shared
 * MasterClient numbers the request itself (retried through failovers, but not across a second post).
 */
import { randomUUID } from 'node:crypto';
import { TandemError, clientFields, type RequestIds } from '@tandem/shared';
import { z } from 'zod';
import { html, type Html } from './html.ts';

const FORM_CLIENT = 'console-form-';
const KEY_CLIENT = 'idempotency-key:';

/** A new form's ids: a client of its own, whose only request is number 1. */
export const formIds = (): RequestIds => ({ clientId: `${FORM_CLIENT}${randomUUID()}`, requestId: '1', firstUnanswered: '1' });

/** The hidden fields that carry a form's ids through the post. */
export const requestFields = (ids: RequestIds = formIds()): Html =>
  html`<input type="hidden" name="clientId" value="${ids.clientId}"><input type="hidden" name="requestId" value="${ids.requestId}">`;

const formFields = z.object({ clientId: clientFields.clientId, requestId: clientFields.requestId });

/**
 * The ids a posted form carries; none for a form rendered before forms carried them (it is then
 * sent once, with the console's own numbering).
 */
export function postedIds(body: Record<string, unknown>): RequestIds | undefined {
  const r = formFields.safeParse({ clientId: body.clientId, requestId: body.requestId });
  if (!r.success || !r.data.clientId.startsWith(FORM_CLIENT)) return undefined;
  return { ...r.data, firstUnanswered: r.data.requestId };
}

/** The request-naming fields the JSON API accepts beside a job's spec. */
export const apiIdFields = {
  clientId: clientFields.clientId.optional(),
  requestId: clientFields.requestId.optional(),
  firstUnanswered: clientFields.firstUnanswered,
};

/**
 * A script's ids: its Idempotency-Key header (1 to 180 characters), or the clientId and requestId
 * it sent; refused when it gives half of a pair, or both spellings.
 */
export function apiIds(key: string | undefined, body: { clientId?: string; requestId?: string; firstUnanswered?: string }): RequestIds | undefined {
  const named = body.clientId !== undefined || body.requestId !== undefined;
  if (key !== undefined) {
    if (named) throw new TandemError('invalid', 'bad job request: give either an Idempotency-Key header or clientId and requestId, not both');
    if (key.length < 1 || key.length > 180) throw new TandemError('invalid', `bad job request: Idempotency-Key must be 1 to 180 characters; it has ${key.length}`);
    return { clientId: `${KEY_CLIENT}${key}`, requestId: '1', firstUnanswered: '1' };
  }
  if (!named) return undefined;
  if (body.clientId === undefined || body.requestId === undefined) {
    throw new TandemError('invalid', `bad job request: clientId and requestId go together; ${body.clientId === undefined ? 'clientId' : 'requestId'} is missing`);
  }
  if (body.clientId.startsWith(FORM_CLIENT) || body.clientId.startsWith(KEY_CLIENT)) {
    throw new TandemError('invalid', `bad job request: clientId "${body.clientId}" uses a prefix the console keeps for its forms and idempotency keys; choose another`);
  }
  return { clientId: body.clientId, requestId: body.requestId, ...(body.firstUnanswered ? { firstUnanswered: body.firstUnanswered } : {}) };
}
