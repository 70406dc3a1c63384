import { TandemError, type ErrorCode } from '../protocol.ts';

/**
 * Every user-facing problem with a dataset; the message names the dataset (and line / offset).
 * Its code says what kind of problem it is, so servers answer it with the right status and nobody
 * reads the message to find out: bad input or a bad name is `invalid`.
 */
export class DatasetError extends TandemError {
  override name = 'DatasetError';

  constructor(message: string, code: ErrorCode = 'invalid') {
    super(code, message);
  }
}

/** The name is taken and the upload did not ask to replace it. */
export class DatasetExistsError extends DatasetError {
  constructor(message: string) {
    super(message, 'conflict');
  }
}

/** No dataset has that name. */
export class DatasetNotFoundError extends DatasetError {
  constructor(message: string) {
    super(message, 'not_found');
  }
}

/** A DatasetError about dataset `name`; msg follows the quoted name (": line 3 ..."). */
export const dsErr = (name: string, msg: string) => new DatasetError(`dataset "${name}"${msg}`);

export const existsError = (name: string) => new DatasetExistsError(`dataset "${name}" already exists; use --replace`);

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function validateDatasetName(name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new DatasetError(
      `invalid dataset name ${JSON.stringify(name)}: use 1 to 128 letters, digits, "_", "." or "-", starting with a letter or digit`,
    );
  }
}

export const nulError = (name: string, line: number, offset: number) =>
  dsErr(name, `: line ${line} contains a NUL byte (byte offset ${offset}); this looks like a binary file, only UTF-8 text is supported`);
