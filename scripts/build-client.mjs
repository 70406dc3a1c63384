// The client package's build (`npm run build` runs it after dist/; docs/ARCHITECTURE.md, "The build"):
// client/dist/index.js, one ESM bundle of client/src with Tandem's shared code compiled in
// and every npm package left external (they are the package's dependencies), the Lua scripts beside
// it, and type declarations (tsc --emitDeclarationOnly into client/dist/types, their imports
// rewritten from .ts to .js, with client/dist/index.d.ts pointing at them), so a user's project needs
// neither tsx, TypeScript nor the checkout's sources.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
export const clientDir = join(root, 'client');
const out = join(clientDir, 'dist');

/** Builds client/dist into a fresh folder, then swaps it into place. Throws if esbuild or TypeScript is not installed. */
export async function buildClient({ quiet = false } = {}) {
  const started = Date.now();
  const { build: esbuild } = await import('esbuild');
  const tmp = join(clientDir, `dist.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await esbuild({
      entryPoints: [join(clientDir, 'src/index.ts')],
      outfile: join(tmp, 'index.js'),
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: true,
      logLevel: 'warning',
      // Every npm package stays an import: the package.json lists them as dependencies.
      packages: 'external',
    });
    cpSync(join(root, 'shared/src/lua'), join(tmp, 'lua'), { recursive: true });
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(clientDir, 'tsconfig.json'), '--outDir', join(tmp, 'types')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`client declarations: tsc failed:\n${r.stdout}${r.stderr}`);
    for (const name of readdirSync(join(tmp, 'types'), { recursive: true })) {
      const p = join(tmp, 'types', name);
      if (!name.endsWith('.d.ts') || !statSync(p).isFile()) continue;
      writeFileSync(p, readFileSync(p, 'utf8').replace(/(from\s+|import\()(['"])(\.\.?\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2'));
    }
    writeFileSync(join(tmp, 'index.d.ts'), "export * from './types/client/src/index.js';\n");
    rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!quiet) process.stderr.write(`build: client/dist (index.js, index.d.ts) in ${Date.now() - started} ms\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildClient();
