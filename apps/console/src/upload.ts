/**
 * Uploads through the console, streamed chunk by chunk into the dataset store (the same module as
 * `tandem dataset put`). Nothing is buffered whole and no file is written anywhere: a bad file, a
 * file over the size limit, a malformed body or a dropped connection ends the upload, and the
 * store discards what it had written, so nothing is published.
 *
 * Two bodies are accepted (receiveUpload picks by Content-Type):
 * - `multipart/form-data` (the upload form, with or without JavaScript; `curl -F file=@PATH`):
 *   the fields `_csrf`, `name`, `format`, `replace` and `filename` come BEFORE the one file part,
 *   which streams into the store as it is parsed. A field after the file part, a second file part
 *   or no file part is a 400 naming it, and nothing is published: the store publishes only once the
 *   whole body has been parsed. When the form token is needed (a browser's form without the
 *   X-CSRF-Token header) it is checked when the file part starts, before a byte of it is stored.
 * - the file itself as the body (`application/octet-stream`, `text/plain`, `text/csv`, or, on a
 *   PUT, no Content-Type: `curl -T FILE`), with the name and options in the path or the query.
 *
 * Anything else is a 415 that lists what is accepted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Request } from 'express';
import busboy from 'busboy';
import { bytes, validateDatasetName, type DatasetFormat, type DatasetMeta } from '@tandem/shared';
import { ConsoleError } from './errors.ts';
import type { Platform } from './platform.ts';
import { tokenMatches } from './security.ts';

export const tooLarge = (size: string, max: number) =>
  new ConsoleError(413, `the file is ${size}; this console accepts up to ${bytes(max)} per upload (TANDEM_CONSOLE_UPLOAD_MAX_BYTES)`);

/** Content types whose body is the file itself. */
export const RAW_TYPES = ['application/octet-stream', 'text/plain', 'text/csv'];

/** The multipart fields an upload takes, all of them before the file part. */
const FIELDS = ['_csrf', 'name', 'format', 'replace', 'filename'];

/** Limits on a multipart body besides the file's size: a few short fields, few parts (busboy bounds each part's headers to 16 KiB). */
export const multipartLimits = { fieldNameSize: 100, fieldSize: 4096, fields: FIELDS.length, files: 1, parts: FIELDS.length + 1 };

/** Room for the multipart envelope (boundaries, part headers, fields) on top of the file itself. */
const ENVELOPE_BYTES = 64 * 1024;

/** The request body (or a file part), refusing to go past `max` bytes. */
async function* limited(body: AsyncIterable<Buffer>, max: number): AsyncIterable<Buffer> {
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > max) throw tooLarge(`more than ${bytes(max)}`, max);
    yield chunk;
  }
}

export interface UploadQuery {
  name: string;
  /** text, edges, or auto: edges for a .csv file name, otherwise text. */
  format: DatasetFormat;
  replace: boolean;
}

/** A dataset name from a file name, as the form's script proposes it: its stem, made a valid name. */
export function nameFromFile(filename: string): string {
  const stem = filename.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 120);
  return /^[A-Za-z0-9]/.test(stem) ? stem : `d${stem}`;
}

/**
 * The upload's name, format and replace flag from the query (or the fields of a multipart body):
 * `name` (or, when there is none, the uploaded file's name without its extension), `format`
 * (auto: edges when `filename`, or else the name, ends in .csv), `replace`.
 */
export function uploadQuery(q: Record<string, unknown>, uploadedAs = ''): UploadQuery {
  const filename = typeof q.filename === 'string' && q.filename !== '' ? q.filename : uploadedAs;
  const name = typeof q.name === 'string' && q.name !== '' ? q.name : filename ? nameFromFile(filename) : '';
  if (name === '') throw new ConsoleError(400, 'no dataset name: give one as the name field or ?name=NAME');
  validateDatasetName(name);
  const asked = typeof q.format === 'string' && q.format !== '' ? q.format : 'auto';
  if (!['auto', 'text', 'edges'].includes(asked)) throw new ConsoleError(400, `format must be text, edges or auto (got ${JSON.stringify(asked)})`);
  const format = (asked === 'auto' ? (/\.csv$/i.test(filename || name) ? 'edges' : 'text') : asked) as DatasetFormat;
  return { name, format, replace: q.replace === '1' || q.replace === 'true' || q.replace === 'on' };
}

export interface UploadOptions {
  /** The query's options; a multipart body's fields override them. */
  query: Record<string, unknown>;
  maxBytes: number;
  splitBytes: number;
  /** The form token a multipart body must carry in its `_csrf` field (a browser's form without the header). */
  formToken?: string;
}

/** The body's media type, lower case, without parameters; '' when there is no Content-Type. */
const mediaType = (req: Request) => (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();

export function unsupported(type: string, method: string): ConsoleError {
  const what = type ? `Content-Type ${JSON.stringify(type)}` : 'a body without a Content-Type';
  if (method === 'PUT') return new ConsoleError(415, `${what} is not an upload by PUT: send the file itself as ${RAW_TYPES.join(', ')} or with no Content-Type (curl -T PATH); multipart goes to POST /api/datasets`);
  return new ConsoleError(415, `${what} is not an upload: send multipart/form-data with one file part (curl -F file=@PATH), or the file itself as ${RAW_TYPES.join(', ')} (curl -T PATH)`);
}

/** Whether `method path` is one of the console's uploads (multipart or raw; their bodies stream into the store). */
export const isUploadRequest = (method: string | undefined, path: string): boolean =>
  (method === 'POST' && (path === '/api/datasets' || path === '/datasets')) || (method === 'PUT' && path.startsWith('/api/datasets'));

/**
 * The server's `checkContinue` handler: an upload gets `100 Continue` from continueUpload once its
 * headers pass; any other request at once, as Node does by default.
 */
export function lazyContinue(dispatch: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (!isUploadRequest(req.method, new URL(req.url ?? '/', 'http://x').pathname)) res.writeContinue();
    dispatch(req, res);
  };
}

/** Uploads answered `100 Continue` (see continueUpload). */
const continued = new WeakSet<IncomingMessage>();
const expectsContinue = (req: IncomingMessage) => /^100-continue$/i.test(String(req.headers.expect ?? '').trim());

/**
 * An upload's client that sent `Expect: 100-continue` (curl does for a body over 1 MiB) waits for
 * the go-ahead before it sends the body: the console's server leaves it to the upload (main.ts's
 * checkContinue), which gives it only once the request's headers have passed every check. A refusal
 * (too large by its Content-Length, no token, a bad type) is then the only answer the client gets:
 * it never starts a body that the console would cut off, which curl once reported as status 100.
 */
export function continueUpload(req: Request): void {
  if (!expectsContinue(req) || continued.has(req)) return;
  continued.add(req);
  req.res?.writeContinue();
}

/** Stores the request's file as a dataset: a multipart body or a raw one, by its Content-Type. */
export async function receiveUpload(req: Request, platform: Platform, o: UploadOptions): Promise<DatasetMeta> {
  const type = mediaType(req);
  const raw = RAW_TYPES.includes(type) || (type === '' && req.method === 'PUT');
  if (!raw && (type !== 'multipart/form-data' || req.method === 'PUT')) throw unsupported(type, req.method);
  if (raw && o.formToken !== undefined) throw new ConsoleError(403, 'missing or stale form token: reload the page and try again');
  const declared = Number(req.get('content-length'));
  const room = raw ? o.maxBytes : o.maxBytes + ENVELOPE_BYTES;
  if (Number.isFinite(declared) && declared > room) throw tooLarge(bytes(raw ? declared : declared - ENVELOPE_BYTES), o.maxBytes);
  continueUpload(req);
  if (raw) {
    const q = uploadQuery(o.query);
    return platform.upload(q.name, q.format, q.replace, o.splitBytes, limited(req, o.maxBytes));
  }
  return receiveMultipart(req, platform, o);
}

const bad = (msg: string) => new ConsoleError(400, msg);

/**
 * A multipart body: its fields, then its one file part streamed into the store with backpressure
 * (busboy stops reading the request while the store has not taken the last chunk). The store
 * reads the file part to its end and then waits for the rest of the body, so a problem after the
 * file (a late field, a second file, a truncated body) still keeps it from being published.
 */
function receiveMultipart(req: Request, platform: Platform, o: UploadOptions): Promise<DatasetMeta> {
  return new Promise<DatasetMeta>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: multipartLimits });
    } catch (err) {
      reject(bad(`malformed multipart/form-data: ${(err as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let file: Readable | null = null;
    let upload: Promise<DatasetMeta> | null = null;
    let problem: Error | null = null;
    let parsedOk!: () => void;
    let parsedFail!: (err: Error) => void;
    const parsed = new Promise<void>((res, rej) => {
      parsedOk = res;
      parsedFail = rej;
    });
    parsed.catch(() => undefined);

    /** The first problem ends the upload: stop reading, let the store discard, then answer it. */
    const fail = (err: Error) => {
      if (problem) return;
      problem = err;
      req.unpipe(bb);
      parsedFail(err);
      bb.destroy(err);
      if (!upload) reject(err);
      else upload.then(() => reject(err), () => reject(err));
    };

    async function* body(stream: Readable): AsyncIterable<Buffer> {
      yield* limited(stream, o.maxBytes);
      await parsed;
    }

    bb.on('field', (name, value, info) => {
      if (file) return fail(bad(`field "${name}" came after the file part: send the fields (${FIELDS.slice(1).join(', ')}) before the file`));
      if (name === 'file') return fail(bad('part "file" has no filename, so it is not a file: send the file as a file part (curl -F file=@PATH)'));
      if (!FIELDS.includes(name)) return fail(bad(`unknown field "${name}": an upload takes ${FIELDS.join(', ')} and one file part`));
      if (info.nameTruncated || info.valueTruncated) return fail(new ConsoleError(413, `field "${name}" is longer than ${multipartLimits.fieldSize} bytes`));
      fields[name] = value;
    });
    bb.on('file', (part, stream, info) => {
      file = stream;
      // Its errors reach the store through the iteration, or were fail()'s to begin with.
      stream.on('error', () => undefined);
      if (o.formToken !== undefined && !tokenMatches(fields._csrf, o.formToken)) {
        stream.resume();
        return fail(new ConsoleError(403, 'missing or stale form token: the _csrf field must come before the file part (reload the page and try again)'));
      }
      if (part !== 'file' && !info.filename) {
        stream.resume();
        return fail(bad(`part "${part}" is not a file: send the file as a file part named file (curl -F file=@PATH)`));
      }
      let q: UploadQuery;
      try {
        q = uploadQuery({ ...o.query, ...fields }, info.filename ?? '');
      } catch (err) {
        stream.resume();
        return fail(err as Error);
      }
      upload = platform.upload(q.name, q.format, q.replace, o.splitBytes, body(stream));
      upload.then(resolve, fail);
    });
    bb.on('filesLimit', () => fail(bad('a second file part: an upload is exactly one file')));
    bb.on('fieldsLimit', () => fail(new ConsoleError(413, `more than ${multipartLimits.fields} fields: an upload takes ${FIELDS.join(', ')} and one file part`)));
    bb.on('partsLimit', () => fail(new ConsoleError(413, `more than ${multipartLimits.parts} parts: an upload takes ${FIELDS.join(', ')} and one file part`)));
    bb.on('error', (err: Error) => fail(err instanceof ConsoleError ? err : bad(`malformed multipart/form-data: ${err.message}`)));
    bb.on('close', () => {
      if (problem) return;
      if (!file) {
        if (o.formToken !== undefined && !tokenMatches(fields._csrf, o.formToken)) return fail(new ConsoleError(403, 'missing or stale form token: reload the page and try again'));
        return fail(bad('no file part: send the file as a part named file (curl -F file=@PATH)'));
      }
      parsedOk();
    });
    req.on('close', () => {
      if (!req.complete) fail(bad('the connection closed before the upload ended; nothing was kept'));
    });
    req.pipe(bb);
  });
}

/** The most of a refused upload's body the console reads and drops before answering (see drainSmall). */
const DRAIN_BYTES = 1024 * 1024;

/**
 * After a refused upload: reads and drops the rest of the body when it is small (a client still
 * sending may miss an answer given before it is done), and says whether the body is now all read;
 * false means close the connection instead of waiting for a large or unsized rest.
 */
export function drainSmall(req: Request): Promise<boolean> {
  if (req.complete) return Promise.resolve(true);
  // Refused before the go-ahead: the client sends no body, or not all of it; close after the answer.
  if (expectsContinue(req) && !continued.has(req)) return Promise.resolve(false);
  const declared = Number(req.get('content-length'));
  if (!(Number.isSafeInteger(declared) && declared <= DRAIN_BYTES) || req.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    req.on('end', () => resolve(true));
    req.on('close', () => resolve(req.complete));
    req.on('error', () => resolve(false));
    req.resume();
  });
}
