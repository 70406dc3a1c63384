/**
 * Starting Tandem's own processes (used by `tandem up` and by the tests' harness), from wherever
 * this code runs: compiled (dist/, made by `npm run build`, where every module lies directly in
 * dist/) it starts the compiled programs with plain node; from the sources it starts their
 * TypeScript through tsx.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** True when this is the compiled code in dist/, not the TypeScript sources. */
export const compiled = !import.meta.url.endsWith('.ts');

export const repoRoot = fileURLToPath(new URL(compiled ? '../' : '../../../', import.meta.url));

export type AppName = 'master' | 'worker' | 'view-service' | 'console';

export function appEntry(app: AppName): string {
  return fileURLToPath(new URL(compiled ? `./${app}.js` : `../../${app}/src/main.ts`, import.meta.url));
}

/** Spawns an app as a child process: the compiled program, or its TypeScript through tsx. */
export function spawnApp(app: AppName, env: NodeJS.ProcessEnv, stdio: StdioOptions = ['ignore', 'inherit', 'pipe']): ChildProcess {
  const args = compiled ? ['--enable-source-maps', appEntry(app)] : ['--import', 'tsx', appEntry(app)];
  return spawn(process.execPath, args, { cwd: repoRoot, env, stdio });
}
