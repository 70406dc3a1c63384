// `npm run build`: compiles Tandem's TypeScript into dist/ with esbuild (one bundle per program, the
// code they share split into chunks beside them, source maps), copies the files the code reads at
// run time (Lua scripts, the console's static files), and writes dist/.stamp. Plain JavaScript, so it
// runs without tsx; bin/tandem.js imports the cheap part (isFresh) on every start.
//
// Adding a workspace package is one entry in PACKAGES: its folder, the programs it has (dist/NAME.js)
// and the folders it reads at run time. See docs/ARCHITECTURE.md, "The build".
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../', import.meta.url));
export const distDir = join(root, 'dist');
const stampFile = join(distDir, '.stamp');

/**
 * Every package the build compiles. `entries`: program name -> its main module (dist/NAME.js);
 * `assets`: folder in the package -> folder in dist/ (the code finds them next to itself through
 * import.meta.url, and every output file lies directly in dist/).
 */
export const PACKAGES = [
  { dir: 'shared', assets: { 'src/lua': 'lua' } },
  { dir: 'jobs' },
  { dir: 'apps/cli', entries: { cli: 'src/main.ts' } },
  { dir: 'apps/master', entries: { master: 'src/main.ts' } },
  { dir: 'apps/worker', entries: { worker: 'src/main.ts' } },
  { dir: 'apps/view-service', entries: { 'view-service': 'src/main.ts' } },
  { dir: 'apps/console', entries: { console: 'src/main.ts' }, assets: { 'src/public': 'public' } },
  // The client library: compiled into the CLI like the others, and as a package of its own into client/dist (build-client.mjs).
  { dir: 'client' },
];

/**
 * npm packages compiled into the bundles rather than loaded from node_modules: commander, because
 * importing it (CommonJS) from ESM costs about as much as the rest of `tandem --help` together; it
 * reads no files of its own at run time, so it bundles safely. Keep this list short: a bundled
 * package is not shared with the job types a process loads.
 */
const BUNDLED = new Set(['commander']);

/**
 * The CLI (dist/cli.js and its chunks) is built apart, with every npm package compiled in but these:
 * `tandem job run` spent about as long importing zod, ioredis, csv-parse and cli-progress from
 * node_modules (ESM files one by one, CommonJS through the export lexer) as node's own start-up and
 * the rest of the command until its submit (issue 19). The CLI shares none of them with the job
 * types it loads (for help only: plain objects). Kept out: tsx and esbuild (loaders, a binary) and
 * pino (its transports load files by path).
 */
const CLI_EXTERNAL = new Set(['tsx', 'esbuild', 'pino']);

/** esbuild's plugin: Tandem's own packages and those `compiled(pkg)` accepts go into the bundle, the rest (and node's modules) stay external. */
const externalPackages = (compiled) => ({
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const pkg = args.path.split('/').slice(0, args.path.startsWith('@') ? 2 : 1).join('/');
      return pkg.startsWith('@tandem/') || (!isBuiltin(args.path) && compiled(pkg)) ? undefined : { path: args.path, external: true };
    });
  },
});

/** The newest modification time (ms) of the build's inputs: every package's src/ (tests aside), package.json, this script. */
export function newestSource() {
  let newest = statSync(fileURLToPath(import.meta.url)).mtimeMs;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const pkg of PACKAGES) {
    newest = Math.max(newest, statSync(join(root, pkg.dir, 'package.json')).mtimeMs);
    walk(join(root, pkg.dir, 'src'));
  }
  return Math.max(newest, statSync(join(root, 'package.json')).mtimeMs);
}

/** True when dist/ holds a build at least as new as every source (a few ms: stats ~200 files). */
export function isFresh() {
  try {
    return statSync(stampFile).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

/** One esbuild run into dist/ (in memory: build() writes the files), splitting shared code into chunks. */
function compile(esbuild, entryPoints, plugin) {
  return esbuild({
    entryPoints,
    outdir: distDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    write: false,
    logLevel: 'warning',
    // Bundled CommonJS (commander) calls require() for node's own modules.
    banner: { js: "import { createRequire as __tandemRequire } from 'node:module'; const require = __tandemRequire(import.meta.url);" },
    plugins: [plugin],
  });
}

/**
 * Builds dist/. Each file is written beside its place and renamed over it, so a process running or
 * starting meanwhile reads either the old file or the new one (two builds at once are safe too);
 * files of an earlier build that this one did not write (old chunks) are removed afterwards.
 * Throws if esbuild is not installed.
 */
export async function build({ quiet = false } = {}) {
  const started = Date.now();
  const { build: esbuild } = await import('esbuild');
  const entryPoints = {};
  for (const pkg of PACKAGES) for (const [name, file] of Object.entries(pkg.entries ?? {})) entryPoints[name] = join(root, pkg.dir, file);
  const { cli, ...programs } = entryPoints;
  // Two builds into one folder: chunks are named by their content, so a chunk both write is the same file.
  const results = await Promise.all([
    compile(esbuild, programs, externalPackages((pkg) => BUNDLED.has(pkg))),
    compile(esbuild, { cli }, externalPackages((pkg) => !CLI_EXTERNAL.has(pkg))),
  ]);
  const files = results.flatMap((r) => r.outputFiles.map((f) => ({ path: f.path, contents: f.contents })));
  for (const pkg of PACKAGES) {
    for (const [from, to] of Object.entries(pkg.assets ?? {})) {
      const src = join(root, pkg.dir, from);
      for (const name of readdirSync(src, { recursive: true })) {
        if (statSync(join(src, name)).isFile()) files.push({ path: join(distDir, to, name), contents: readFileSync(join(src, name)) });
      }
    }
  }
  const written = new Set([stampFile]);
  for (const f of files) {
    mkdirSync(dirname(f.path), { recursive: true });
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
    written.add(f.path);
  }
  const prune = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) prune(p);
      else if (!written.has(p) && !e.name.endsWith('.tmp')) rmSync(p, { force: true });
    }
  };
  prune(distDir);
  // The stamp carries the time the build read its sources, so a file edited during the build counts as newer.
  writeFileSync(stampFile, `built ${new Date(started).toISOString()}\n`);
  utimesSync(stampFile, started / 1000, started / 1000);
  if (!quiet) process.stderr.write(`build: dist/ (${Object.keys(entryPoints).map((n) => `${n}.js`).join(', ')}) in ${Date.now() - started} ms\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const ifPossible = args.includes('--if-possible');
  try {
    if (args.includes('--if-stale') && isFresh()) process.exit(0);
    await build();
    // The client package (client/dist, with its type declarations): only here, not in bin/tandem.js's rebuilds.
    try {
      await (await import('./build-client.mjs')).buildClient();
    } catch (err) {
      if (!ifPossible) throw err;
      process.stderr.write(`build: client/dist skipped (${err.code === 'MODULE_NOT_FOUND' ? 'typescript is not installed' : err.message}); \`npm run build\` makes it\n`);
    }
  } catch (err) {
    // `npm ci` runs this as `prepare`; without esbuild (or before the sources are there) the install
    // still succeeds, and bin/tandem.js runs the sources through tsx until a build exists.
    if (!ifPossible) throw err;
    process.stderr.write(`build: skipped (${err.code === 'ERR_MODULE_NOT_FOUND' ? 'esbuild is not installed' : err.message}); tandem runs from the TypeScript sources through tsx until \`npm run build\`\n`);
  }
}
