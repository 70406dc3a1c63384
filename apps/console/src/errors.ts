import { TandemError, codeForStatus } from '@tandem/shared';

/**
 * A request the console refuses, named by the HTTP status it answers with: a TandemError whose
 * code is that status's (400 invalid, 409 conflict, 413 too_large, ...). New code throws
 * TandemError with the code itself.
 */
export class ConsoleError extends TandemError {
  override name = 'ConsoleError';

  constructor(status: number, message: string) {
    super(codeForStatus(status), message);
  }
}
