/**
 * Uploads through the console: the request body is the file itself (the page's script sends it
 * with XMLHttpRequest, which reports upload progress; `curl -T FILE` works too), streamed chunk by
 * chunk into the dataset store, the same module as `tandem dataset put`. Nothing is buffered whole
 * and no file is written anywhere: a bad file, a file over the size limit or a dropped connection
 * ends the upload, and the store discards what it had written.
 */
import type { Request } from 'express';
import { bytes, validateDatasetName, type DatasetFormat, type DatasetMeta } from '@tandem/shared';
import { ConsoleError } from './errors.ts';
import type { Platform } from './platform.ts';

export const tooLarge = (size: string, max: number) =>
  new ConsoleError(413, `the file is ${size}; this console accepts up to ${bytes(max)} per upload (TANDEM_CONSOLE_UPLOAD_MAX_BYTES)`);

/** The request body, refusing to go past `max` bytes. */
async function* limited(req: Request, max: number): AsyncIterable<Buffer> {
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
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

export function uploadQuery(q: Record<string, unknown>): UploadQuery {
  const name = typeof q.name === 'string' ? q.name : '';
  validateDatasetName(name);
  const asked = typeof q.format === 'string' && q.format !== '' ? q.format : 'auto';
  if (!['auto', 'text', 'edges'].includes(asked)) throw new ConsoleError(400, `format must be text, edges or auto (got ${JSON.stringify(asked)})`);
  const filename = typeof q.filename === 'string' ? q.filename : '';
  const format = (asked === 'auto' ? (/\.csv$/i.test(filename || name) ? 'edges' : 'text') : asked) as DatasetFormat;
  return { name, format, replace: q.replace === '1' || q.replace === 'true' || q.replace === 'on' };
}

export async function receiveUpload(req: Request, platform: Platform, q: UploadQuery, maxBytes: number, splitBytes: number): Promise<DatasetMeta> {
  const declared = Number(req.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(bytes(declared), maxBytes);
  return platform.upload(q.name, q.format, q.replace, splitBytes, limited(req, maxBytes));
}
