#!/usr/bin/env node
// `tandem`, from any working directory: the compiled CLI (dist/cli.js, made by `npm run build`).
// When the sources are newer than the build (or there is none), it rebuilds first (esbuild, well
// under a second); if it cannot, it runs the TypeScript sources through tsx and says so in a line.
import { build, isFresh } from '../scripts/build.mjs';

let fresh = isFresh();
if (!fresh) {
  try {
    await build({ quiet: true });
    fresh = true;
  } catch (err) {
    const why = Array.isArray(err.errors) ? 'esbuild printed why above' : err.code === 'ERR_MODULE_NOT_FOUND' ? 'esbuild is not installed' : err.message;
    process.stderr.write(`tandem: dist/ is missing or older than the sources, and rebuilding it failed (${why}); running the sources through tsx\n`);
  }
}
if (fresh) {
  await import('../dist/cli.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../apps/cli/src/main.ts');
}
