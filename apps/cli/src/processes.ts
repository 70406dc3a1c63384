/** Starting Tandem's own processes (used by `tandem up` and by the tests' harness). */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export type AppName = 'master' | 'worker' | 'view-service' | 'console';

export function appEntry(app: AppName): string {
  return fileURLToPath(new URL(`../../${app}/src/main.ts`, import.meta.url));
}

/** Spawns an app as a child process running TypeScript through tsx. */
export function spawnApp(app: AppName, env: NodeJS.ProcessEnv, stdio: StdioOptions = ['ignore', 'inherit', 'pipe']): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', appEntry(app)], { cwd: repoRoot, env, stdio });
}
