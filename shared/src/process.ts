/**
 * Exit code of a service that cannot run as configured (bad variable, port taken): restarting it
 * would fail the same way, so `tandem up` stops instead of restarting it (EX_CONFIG from sysexits).
 */
export const EXIT_CONFIG = 78;

/** Runs a service's start-up, turning a thrown error into one line on stderr and EXIT_CONFIG. */
export async function startService(name: string, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    process.stderr.write(`${name}: cannot start: ${(err as Error).message}\n`);
    process.exit(EXIT_CONFIG);
  }
}
