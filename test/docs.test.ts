// Docs that cannot drift (issue 18): the docs' claims a program can check are checked here, so a
// rename, a new file, a renumbered section or a new key fails a test instead of leaving a false doc.
// - every repository path README.md and docs/*.md name exists;
// - every source file is on docs/ARCHITECTURE.md's map, and every file on the map exists;
// - every `§N` / `§N.M` anywhere (code comments and docs) is a heading of docs/DESIGN.md: in this
//   repository § always means a section of DESIGN.md (other documents' sections are "section N"),
//   and a heading cited by name (`docs/ARCHITECTURE.md, "The build"`) exists;
// - every key function of shared/src/keys.ts's `Keys` is a row of DESIGN's key table (§3), with
//   the key it builds and that key's hash slot, and the row's owner column names every module that
//   calls it.
// Each failure names the file and line, or the missing item.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keys } from '../shared/src/keys.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const SKIP_DIRS = new Set(['node_modules', 'dist', 'test-output', '.git', '.tandem']);

/** Every file under `dir` (repository-relative), generated folders left out. */
function walk(dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    if (SKIP_DIRS.has(name)) continue;
    const p = join(dir, name);
    if (statSync(join(root, p)).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

const lines = (text: string) => text.split('\n');
const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

// A path of this repository as prose writes it: starts at a top-level folder, not inside a URL or
// another path (`/api/jobs/ID`, `.tandem/jobs/`).
const ROOTS = ['apps', 'shared', 'jobs', 'scripts', 'test', 'bin', 'client', 'examples', 'docs', 'datasets', 'deploy'];
const PATH = new RegExp(`(?<![\\w./@:-])((?:${ROOTS.join('|')})/[\\w./-]*)(.?)`, 'g');
// Generated (by `npm run build`, by tests), so absent from a fresh checkout.
const GENERATED = ['client/dist', 'dist/', 'test-output/'];

function pathsNamed(text: string): { path: string; line: number }[] {
  const found: { path: string; line: number }[] = [];
  lines(text).forEach((l, i) => {
    for (const m of l.matchAll(PATH)) {
      const path = m[1].replace(/[.]+$/, '');
      const next = m[2];
      // A pattern, not a path: `apps/<app>/src/main.ts`, `shared/src/lua/*.lua`, `apps/NAME/src`.
      if ('<*{…$['.includes(next) && next !== '') continue;
      if (path.split('/').some((seg) => /^[A-Z_]{2,}$/.test(seg))) continue;
      if (GENERATED.some((g) => path.startsWith(g))) continue;
      found.push({ path, line: i + 1 });
    }
  });
  return found;
}

test('every repository path named in README.md and docs/*.md exists', () => {
  const missing: string[] = [];
  for (const doc of docs) {
    for (const { path, line } of pathsNamed(read(doc))) if (!existsSync(join(root, path))) missing.push(`${doc}:${line}: ${path}`);
  }
  assert.deepEqual(missing, [], `paths named in the docs that do not exist:\n${missing.join('\n')}`);
});

// The map: under a heading naming a folder (`### \`apps/master/src/\``), each list item starts with
// the names of files or folders in it (`- \`state.ts\`: …`, `- \`pagerank/build.ts\`, \`pagerank/iterate.ts\`: …`).
function mapEntries(): { path: string; line: number }[] {
  const out: { path: string; line: number }[] = [];
  let folder: string | null = null;
  lines(read('docs/ARCHITECTURE.md')).forEach((l, i) => {
    const heading = /^#{2,4} /.test(l);
    if (heading) folder = /`([\w./-]+\/)`/.exec(l)?.[1] ?? null;
    // One line may cover several files: "- `a.ts`, `b.ts`: …".
    const names = /^- (`[^`]+`(?:, `[^`]+`)*)/.exec(l)?.[1];
    if (!heading && names && folder) for (const n of names.matchAll(/`([^`]+)`/g)) out.push({ path: folder + n[1], line: i + 1 });
  });
  return out;
}

// Source files: code under these folders, tests aside. Lua scripts are one line for their folder.
const SOURCE_DIRS = [...readdirSync(join(root, 'apps')).map((a) => `apps/${a}/src`), 'shared/src', 'jobs/src', 'client/src', 'scripts', 'test/harness', 'bin'];
const ONE_LINE_FOLDERS = ['shared/src/lua/'];

test('every file on the ARCHITECTURE map exists', () => {
  const entries = mapEntries();
  assert.ok(entries.length > 100, `docs/ARCHITECTURE.md: found only ${entries.length} map entries; is the map's format (a folder heading, then "- \`file\`: …" items) still the one this test reads?`);
  const missing = entries.filter((e) => !existsSync(join(root, e.path))).map((e) => `docs/ARCHITECTURE.md:${e.line}: ${e.path}`);
  assert.deepEqual(missing, [], `the map names files that do not exist:\n${missing.join('\n')}`);
});

test('every source file is on the ARCHITECTURE map', () => {
  const named = new Set(mapEntries().map((e) => e.path));
  const sources = SOURCE_DIRS.flatMap(walk).filter((f) => /\.(ts|mjs|js)$/.test(f) && !f.endsWith('.test.ts'));
  const absent = sources
    .filter((f) => !named.has(f) && !ONE_LINE_FOLDERS.some((d) => f.startsWith(d) && named.has(d)))
    .map((f) => `${f} (add a line for it under its folder's heading in docs/ARCHITECTURE.md)`);
  assert.deepEqual(absent, [], `source files missing from docs/ARCHITECTURE.md's map:\n${absent.join('\n')}`);
});

/** DESIGN.md's section numbers, from its headings (`## 3. Data in Redis`, `### 3.4 Redis loss`). */
function designSections(): Set<string> {
  const out = new Set<string>();
  for (const l of lines(read('docs/DESIGN.md'))) {
    const m = /^#{2,3} (\d+(?:\.\d+)*)\.? /.exec(l);
    if (m) out.add(m[1]);
  }
  return out;
}

/** Every file that may cite a section or heading: the docs, code comments, Lua headers (this test's own examples aside). */
const citingFiles = () =>
  [...new Set([...docs, 'client/README.md', 'examples/jobs/README.md', ...['apps', 'shared', 'jobs', 'scripts', 'test', 'bin', 'client/src', 'examples'].flatMap(walk)])]
    .filter((f) => /\.(ts|mjs|js|md|lua)$/.test(f) && f !== 'test/docs.test.ts');

test('every § cited in code and docs is a section of docs/DESIGN.md', () => {
  const sections = designSections();
  assert.ok(sections.has('3') && sections.has('5.1'), `docs/DESIGN.md: its headings are not numbered "## N. Title" / "### N.M Title" (found ${[...sections].join(', ') || 'none'})`);
  const bad: string[] = [];
  for (const f of citingFiles()) {
    lines(read(f)).forEach((l, i) => {
      for (const m of l.matchAll(/§(\s?)(\d+(?:\.\d+)*)?/g)) {
        if (m[2] === undefined) bad.push(`${f}:${i + 1}: a § without a section number (${l.trim().slice(0, 80)})`);
        else if (!sections.has(m[2])) bad.push(`${f}:${i + 1}: §${m[2]} is not a heading of docs/DESIGN.md`);
      }
    });
  }
  assert.deepEqual(bad, [], `section citations that do not resolve:\n${bad.join('\n')}`);
});

test('every heading cited by name (docs/ARCHITECTURE.md, "The build") exists', () => {
  const DOCS: Record<string, string> = { ARCHITECTURE: 'docs/ARCHITECTURE.md', DESIGN: 'docs/DESIGN.md', README: 'README.md' };
  const headings = (doc: string) => lines(read(doc)).filter((l) => /^#+ /.test(l)).map((l) => l.replace(/^#+ (\d+(\.\d+)*\.? )?/, '').trim());
  const bad: string[] = [];
  for (const f of citingFiles()) {
    lines(read(f)).forEach((l, i) => {
      for (const m of l.matchAll(/\b(ARCHITECTURE|DESIGN|README)(?:\.md)?(?:'s)?,? "([^"]+)"/g)) {
        if (!headings(DOCS[m[1]]).includes(m[2])) bad.push(`${f}:${i + 1}: ${DOCS[m[1]]} has no heading "${m[2]}"`);
      }
    });
  }
  assert.deepEqual(bad, [], `headings cited by name that do not exist:\n${bad.join('\n')}`);
});

/** The members of keys.ts's `Keys` interface that build a key (every one but `prefix`), and which are functions. */
function keyMembers(): Map<string, { fn: boolean }> {
  const src = read('shared/src/keys.ts');
  const body = /export interface Keys \{([\s\S]*?)\n\}/.exec(src)?.[1];
  assert.ok(body, 'shared/src/keys.ts: no `export interface Keys { … }` found');
  return new Map([...body.matchAll(/^ {2}(\w+)([(:?])/gm)].filter((m) => m[1] !== 'prefix').map((m) => [m[1], { fn: m[2] === '(' }]));
}

interface KeyRow {
  params: string[];
  key: string;
  owner: string;
  slot: string;
  line: number;
}

/**
 * DESIGN's key table: the rows of the table in §3 (before §3.1), by the function in the first
 * column (`split(name, version, s)`); then key, holds, owner, slot.
 */
function keyTable(): Map<string, KeyRow> {
  const all = lines(read('docs/DESIGN.md'));
  const start = all.findIndex((l) => /^## 3\. /.test(l));
  assert.ok(start >= 0, 'docs/DESIGN.md: no "## 3. " heading (the key schema)');
  const rows = new Map<string, KeyRow>();
  for (let i = start + 1; i < all.length && !/^#{2,3} /.test(all[i]); i++) {
    const cells = all[i].split('|').slice(1, -1).map((c) => c.trim());
    const head = /^`(\w+)(?:\(([^)]*)\))?`/.exec(cells[0] ?? '');
    if (!head) continue;
    assert.equal(cells.length, 5, `docs/DESIGN.md:${i + 1}: a key row has 5 cells (function, key, holds, owner, slot), this one ${cells.length}`);
    const params = head[2] ? head[2].split(',').map((p) => p.trim().replace(/\?$/, '')) : [];
    rows.set(head[1], { params, key: cells[1], owner: cells[3], slot: cells[4], line: i + 1 });
  }
  return rows;
}

test('DESIGN.md §3 lists every key function of keys.ts, and no other', () => {
  const members = keyMembers();
  const rows = keyTable();
  assert.ok(rows.size > 0, 'docs/DESIGN.md: no key table found in §3 (rows whose first cell starts with a backticked function name)');
  const missing = [...members.keys()].filter((f) => !rows.has(f)).map((f) => `${f} (shared/src/keys.ts) has no row in docs/DESIGN.md's key table`);
  const stale = [...rows].filter(([f]) => !members.has(f)).map(([f, r]) => `docs/DESIGN.md:${r.line}: \`${f}\` is not a member of Keys`);
  const bad = [...missing, ...stale];
  assert.deepEqual(bad, [], `the key table and keys.ts differ:\n${bad.join('\n')}`);
});

test("each key's owner column names every module that calls its function", () => {
  const members = keyMembers();
  const rows = keyTable();
  // Calls through a Keys value: `k.split(`, `keys.epoch()`, `this.d.keys.masterLog()`, `keys(prefix).bullPrefix`.
  const call = /(?:\bk|\bkeys|\.keys|\.k|\bkeys\([^()]*\))\.(\w+)(\(?)/g;
  const code = SOURCE_DIRS.filter((d) => d !== 'test/harness')
    .flatMap(walk)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('scripts/bench/') && f !== 'shared/src/keys.ts' && !f.endsWith('test-support.ts'));
  const unnamed: string[] = [];
  for (const f of code) {
    lines(read(f)).forEach((l, i) => {
      if (/^\s*(\/\*|\*|\/\/)/.test(l)) return; // comments
      for (const m of l.matchAll(call)) {
        const member = members.get(m[1]);
        // A function is called; `x.keys.events` without a call is some other object's field (BullMQ's).
        const row = member && (!member.fn || m[2] === '(') ? rows.get(m[1]) : undefined;
        if (row && !row.owner.includes(f)) unnamed.push(`${f}:${i + 1} calls ${m[1]}, but docs/DESIGN.md:${row.line} does not name ${f} as its owner`);
      }
    });
  }
  const bad = [...new Set(unnamed)];
  assert.deepEqual(bad, [], `key owners missing from the key table:\n${bad.join('\n')}`);
});

test("each key's pattern and slot in DESIGN.md §3 are what keys.ts builds", () => {
  const k = keys('<p>') as unknown as Record<string, unknown>;
  const bad: string[] = [];
  for (const [fn, row] of keyTable()) {
    const member = k[fn];
    // Called with its parameters' names in angle brackets, as the table writes them.
    const built = typeof member === 'function' ? (member as (...a: string[]) => unknown)(...row.params.map((p) => `<${p}>`)) : member;
    if (typeof built !== 'string') continue; // jobIdOfKey: not a key
    const named = /`([^`]+)`/.exec(row.key)?.[1];
    if (named !== built) bad.push(`docs/DESIGN.md:${row.line}: ${fn} builds \`${built}\`, the table says \`${named}\``);
    if (built.includes('*')) continue; // a SCAN pattern, in no one slot
    // Redis hashes the part between the first { and the next }, when that is not empty; else the whole key.
    const open = built.indexOf('{');
    const close = open >= 0 ? built.indexOf('}', open + 1) : -1;
    const want = close > open + 1 ? `\`${built.slice(open, close + 1)}\`` : 'own slot';
    if (!row.slot.includes(want)) bad.push(`docs/DESIGN.md:${row.line}: ${fn}'s key \`${built}\` hashes ${want === 'own slot' ? 'as a whole' : `by ${want}`}; its slot column should say ${want}`);
  }
  assert.deepEqual(bad, [], `key rows that differ from keys.ts:\n${bad.join('\n')}`);
});
