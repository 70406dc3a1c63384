/**
 * The job types a process knows: the built-in ones, plus modules dropped into the configured jobs
 * folder (TANDEM_JOBS_DIR, any folder). Only files directly inside that folder are loaded, after
 * resolving links, so nothing outside it can be imported by naming it; a module's own imports
 * resolve from its folder (its node_modules, with @tandem/client installed there). Each type of the
 * folder carries the content hash of its file, which processes report (job-type-report.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isJobType, type AnyJobType, type JobTypeDescription } from '@tandem/shared';
import { grep } from './grep.ts';
import { describeType, JobTypeError, parseParams, schemaProblems, type ParamValue } from './params.ts';
import { invertedindex } from './invertedindex.ts';
import { pagerank } from './pagerank/pagerank.ts';
import { wordcount } from './wordcount.ts';

export const builtins: AnyJobType[] = [wordcount, grep, invertedindex, pagerank];

export { JobTypeError };

const builtinNames = new Set(builtins.map((t) => t.name));

function checked(t: AnyJobType, where: string): AnyJobType {
  const problems = schemaProblems(t);
  if (problems.length) throw new JobTypeError(`${where}job type "${t.name}": ${problems.join('; ')}`);
  return t;
}

export interface Registry {
  names(): string[];
  get(name: string): AnyJobType | undefined;
  /** The job type, or a JobTypeError that lists the known ones. */
  require(name: string): AnyJobType;
  /** The job type; a name not (yet) known re-reads the jobs folder first, so a type added since is found without a restart. */
  lookup(name: string): Promise<AnyJobType>;
  /** Validated, defaulted params (strings or JSON values in, declared types out), or a JobTypeError naming each bad one. */
  parseParams(type: AnyJobType, params: Record<string, unknown>): Record<string, ParamValue>;
  /** Every job type as plain JSON (parameters included), by name. */
  describe(): JobTypeDescription[];
  /** The jobs folder's types: name -> content hash of the module file that defines it (built-ins are not listed). */
  hashes(): Record<string, string>;
  /**
   * Re-reads the jobs folder: new and changed files are imported (a changed file under a new URL,
   * `?v=<hash>`, so the new version is what runs), removed ones dropped. Each file loads on its
   * own: one that does not is reported by `problem()` and `broken()`, and the others load. A folder
   * that cannot be read keeps the types as they were. True when something changed.
   */
  refresh(): Promise<boolean>;
  /** What in the jobs folder did not load at the last read (each broken file, named), or null. */
  problem(): string | null;
  /** The files of the jobs folder that did not load at the last read, each with its problem. */
  broken(): BrokenFile[];
  /** Re-reads the folder every `ms` (an unref'd timer); returns the function that stops it. */
  watch(ms: number, onChange?: () => void): () => void;
}

const PLUGIN = /^[^.].*\.(m?js|ts)$/;
const runningTs = import.meta.url.endsWith('.ts');

/** The short content hash a type is reported and compared by. */
export const moduleHash = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/**
 * Imports a jobs-folder module by URL. `.ts` files go through tsx's tsImport (its own loader, for
 * this import only; the folder's package.json says `"type": "module"`, checked before, since tsx
 * reads TypeScript without it as CommonJS, which failed with "require() ES Module in a cycle");
 * `.js`/`.mjs` load with plain node, and through tsx when they import a TypeScript package.
 */
async function importModule(path: string, url: string): Promise<unknown> {
  if (runningTs || !path.endsWith('.ts')) {
    try {
      return await import(url);
    } catch (err) {
      if (runningTs || (err as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
    }
  }
  let api: typeof import('tsx/esm/api');
  try {
    api = await import('tsx/esm/api');
  } catch {
    throw new JobTypeError('it needs TypeScript loaded (it is .ts, or imports a TypeScript package), and tsx is not installed; install it (npm install tsx) or compile the job type to .js');
  }
  return api.tsImport(url, import.meta.url);
}

/** The `type` of the package.json nearest to `dir` (node's rule for what a .js or .ts file is), or null without one. */
function packageType(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    try {
      return (JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { type?: string }).type ?? 'commonjs';
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') return null;
    }
    if (dirname(d) === d) return null;
  }
}

/** The job type a module exports by default (a CommonJS module read by tsx nests it one level deeper). */
function defaultExport(mod: unknown): unknown {
  const d = (mod as { default?: unknown } | null)?.default;
  return !isJobType(d) && d && typeof d === 'object' && isJobType((d as { default?: unknown }).default) ? (d as { default: unknown }).default : d;
}

/**
 * Where in `path` a syntax error is, as `file:line:column`, or null. Node's import error carries no
 * position (it prints one only for an uncaught error), so the file is checked again with `node
 * --check`, whose report points at the line with a caret; only ever run for a file that failed.
 */
function syntaxErrorPlace(path: string, file: string): string | null {
  const r = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  const lines = (r.stderr ?? '').split('\n');
  const at = lines.findIndex((l) => /:(\d+)$/.test(l) && l.includes(path));
  if (at < 0) return null;
  const line = /:(\d+)$/.exec(lines[at])![1];
  const caret = lines[at + 2]?.indexOf('^') ?? -1;
  return `${file}:${line}${caret >= 0 ? `:${caret + 1}` : ''}`;
}

/** `s` as a regular expression that matches it literally. */
const reText = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Says what went wrong importing a file, naming it and, for an error in its code, the place
 * (file:line:column), with the fix for a package that is not installed.
 */
function importProblem(file: string, path: string, root: string, err: unknown): JobTypeError {
  if (err instanceof JobTypeError) return new JobTypeError(`jobs folder: ${file}: ${err.message}`);
  const e = err as { code?: string; message?: string; stack?: string; name?: string };
  const full = String(e?.message ?? err);
  const msg = full.split('\n')[0];
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(msg);
  if (missing && !missing[1].startsWith('.') && !missing[1].startsWith('/')) {
    const pkg = missing[1].split('/').slice(0, missing[1].startsWith('@') ? 2 : 1).join('/');
    const how = pkg === '@tandem/client' ? `npm install <the Tandem checkout>/client` : `npm install ${pkg}`;
    return new JobTypeError(`jobs folder: ${file} imports ${pkg}, which is not installed in ${root}; run \`${how}\` there (a job type's imports resolve from its own folder)`);
  }
  // TypeScript through tsx (esbuild): "Transform failed with 1 error:\n/path/a.ts:3:20: ERROR: Unexpected ...".
  const esbuild = new RegExp(`^${reText(path)}:(\\d+):(\\d+): ERROR: (.*)$`, 'm').exec(full);
  // esbuild counts columns from 0; editors and node, from 1.
  if (esbuild) return new JobTypeError(`jobs folder: ${file}:${esbuild[1]}:${Number(esbuild[2]) + 1}: syntax error: ${esbuild[3]}`);
  if (e?.name === 'SyntaxError' || err instanceof SyntaxError) {
    const place = syntaxErrorPlace(path, file);
    if (place) return new JobTypeError(`jobs folder: ${place}: syntax error: ${msg}`);
  }
  // An error thrown while the module ran: the first frame in the file says where.
  const frame = new RegExp(`${reText(pathToFileURL(path).href)}(?:\\?[^:]*)?:(\\d+):(\\d+)|${reText(path)}:(\\d+):(\\d+)`).exec(e?.stack ?? '');
  const where = frame ? `:${frame[1] ?? frame[3]}:${frame[2] ?? frame[4]}` : '';
  return new JobTypeError(`jobs folder: ${file}${where} does not load: ${msg}`);
}

interface Loaded {
  file: string;
  hash: string;
  type: AnyJobType;
}

/** A file of the folder that does not load, and why (a message that names it). */
export interface BrokenFile {
  file: string;
  problem: string;
}

/**
 * Reads the folder: each file's hash, importing only those not in `cache` at that hash. Each file
 * loads on its own: one that does not (a syntax error, a bad schema, a name taken) is listed in
 * `broken` with its problem, and the others load. Only a folder that cannot be read at all throws.
 */
async function readFolder(jobsDir: string, cache: Map<string, Loaded>): Promise<{ loaded: Loaded[]; broken: BrokenFile[] }> {
  let root: string;
  try {
    root = realpathSync(jobsDir);
  } catch {
    throw new JobTypeError(`jobs folder ${jobsDir} does not exist (TANDEM_JOBS_DIR)`);
  }
  const loaded: Loaded[] = [];
  const broken: BrokenFile[] = [];
  const seen = new Map<string, string>();
  for (const file of readdirSync(root).sort()) {
    if (!PLUGIN.test(file) || file.endsWith('.d.ts') || file.endsWith('.test.ts')) continue;
    try {
      const l = await loadFile(root, file, cache);
      const name = l.type.name;
      if (builtinNames.has(name)) throw new JobTypeError(`jobs folder: ${file} defines job type "${name}", which is a built-in type's name; rename it`);
      if (seen.has(name)) throw new JobTypeError(`jobs folder: ${file} defines job type "${name}", which ${seen.get(name)} already defines`);
      seen.set(name, file);
      loaded.push(l);
    } catch (err) {
      // Anything else (a link to nothing, a file removed while read) is that file's problem too.
      broken.push({ file, problem: err instanceof JobTypeError ? err.message : `jobs folder: ${file}: ${(err as Error).message}` });
    }
  }
  return { loaded, broken };
}

/** One file of the folder, imported (or from `cache` at its hash) and checked; a JobTypeError naming it otherwise. */
async function loadFile(root: string, file: string, cache: Map<string, Loaded>): Promise<Loaded> {
  const path = realpathSync(join(root, file));
  if (!path.startsWith(root + sep) || !statSync(path).isFile()) {
    throw new JobTypeError(`jobs folder: ${file} resolves outside ${root}; refusing to load it`);
  }
  if (path.endsWith('.ts') && packageType(root) !== 'module') {
    throw new JobTypeError(`jobs folder: ${file} is TypeScript, which Tandem loads as an ES module only: add "type": "module" to ${join(root, 'package.json')} (examples/jobs/package.json has it), or compile it to .js`);
  }
  const hash = moduleHash(readFileSync(path));
  const key = `${path}#${hash}`;
  const cached = cache.get(key);
  if (cached) return cached;
  let mod: unknown;
  try {
    mod = await importModule(path, `${pathToFileURL(path).href}?v=${hash}`);
  } catch (err) {
    throw importProblem(file, path, root, err);
  }
  const t = defaultExport(mod);
  if (!isJobType(t)) {
    throw new JobTypeError(`jobs folder: ${file} must export default a job type (name, formats, params, map, reduce, format; or an iterative one with shape: 'iterative', rounds and output); defineJobType from @tandem/client types one`);
  }
  const l = { file, hash, type: checked(t, `jobs folder: ${file}: `) };
  cache.set(key, l);
  return l;
}

export async function loadRegistry(jobsDir?: string): Promise<Registry> {
  const base = builtins.map((t) => [t.name, checked(t, '')] as const);
  const cache = new Map<string, Loaded>();
  const first = jobsDir ? await readFolder(jobsDir, cache) : { loaded: [], broken: [] };
  let folder: Loaded[] = first.loaded;
  let broken: BrokenFile[] = first.broken;
  let types = new Map<string, AnyJobType>([...base, ...folder.map((l) => [l.type.name, l.type] as const)]);
  let folderProblem: string | null = null;
  let refreshing: Promise<boolean> | null = null;
  const fingerprint = (ls: Loaded[]) => ls.map((l) => `${l.file}#${l.hash}`).join('\n');

  const refresh = (): Promise<boolean> => {
    if (!jobsDir) return Promise.resolve(false);
    refreshing ??= (async () => {
      try {
        const next = await readFolder(jobsDir, cache);
        folderProblem = null;
        broken = next.broken;
        if (fingerprint(next.loaded) === fingerprint(folder)) return false;
        folder = next.loaded;
        types = new Map<string, AnyJobType>([...base, ...folder.map((l) => [l.type.name, l.type] as const)]);
        // Drop cached modules no longer in the folder (their URLs stay in node's module map).
        const live = new Set(folder.map((l) => `${realpathSync(join(jobsDir, l.file))}#${l.hash}`));
        for (const k of cache.keys()) if (!live.has(k)) cache.delete(k);
        return true;
      } catch (err) {
        folderProblem = `${(err as Error).message} (it runs the types it had)`;
        return false;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  };

  const registry: Registry = {
    names: () => [...types.keys()].sort(),
    get: (name) => types.get(name),
    require(name) {
      const t = types.get(name);
      if (t) return t;
      // A type the user just wrote may be in a file that does not load: say which, and why.
      const unloaded = broken.length ? `; the jobs folder has ${broken.length === 1 ? 'a file that does' : `${broken.length} files that do`} not load (it may be defined there): ${broken.map((b) => b.problem).join('; ')}` : '';
      throw new JobTypeError(`unknown job type "${name}"; known types: ${[...types.keys()].sort().join(', ')}${unloaded}`);
    },
    async lookup(name) {
      if (!types.has(name)) await refresh();
      return registry.require(name);
    },
    parseParams,
    describe: () => [...types.keys()].sort().map((name) => describeType(types.get(name)!)),
    hashes: () => Object.fromEntries(folder.map((l) => [l.type.name, l.hash])),
    refresh,
    problem: () => [folderProblem, ...broken.map((b) => b.problem)].filter((p) => p !== null).join('; ') || null,
    broken: () => broken,
    watch(ms, onChange) {
      const timer = setInterval(() => void refresh().then((changed) => changed && onChange?.()), ms);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
  return registry;
}
