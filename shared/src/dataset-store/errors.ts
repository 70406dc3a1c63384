/** Every user-facing problem with a dataset; the message names the dataset (and line / offset). */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** The name is taken and the upload did not ask to replace it. */
export class DatasetExistsError extends DatasetError {}

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
