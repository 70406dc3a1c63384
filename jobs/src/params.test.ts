// Job parameters against the declared schemas: every built-in and test job type, values as strings
// (CLI, forms) and as JSON values (APIs), ranges, unknown and missing parameters, and the checks a
// schema gets when its job type is loaded.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyJobType, ParamSchema } from '@tandem/shared';
import { allowedText, checkParams, describeType, JobTypeError, parseParams, schemaProblems } from './params.ts';
import { builtins, loadRegistry, type Registry } from './registry.ts';

const fixtures = fileURLToPath(new URL('../../test/fixtures/jobs/', import.meta.url));

/** The message parseParams refuses with. */
function refusal(type: AnyJobType, given: Record<string, unknown>): string {
  try {
    parseParams(type, given);
  } catch (err) {
    assert.ok(err instanceof JobTypeError, String(err));
    return err.message;
  }
  assert.fail(`job type "${type.name}" accepted ${JSON.stringify(given)}`);
}

describe('job parameters', async () => {
  const registry: Registry = await loadRegistry(fixtures);
  const type = (name: string) => registry.require(name);

  test('every job type, built-in and from the jobs folder, has a schema without problems', () => {
    assert.deepEqual(registry.names(), ['arrivalorder', 'bigramcount', 'clockmap', 'crash', 'grep', 'invertedindex', 'jobcount', 'pagerank', 'paramtypes', 'plainwordcount', 'poison', 'slowpagerank', 'slowwordcount', 'straggler', 'timing', 'wordcount', 'wordlines']);
    for (const name of registry.names()) assert.deepEqual(schemaProblems(type(name)), [], name);
  });

  test('defaults fill what is not given; a type without required parameters needs none', () => {
    const defaults: Record<string, Record<string, unknown>> = {
      wordcount: {}, invertedindex: {},
      pagerank: { iterations: 20, damping: 0.85, tol: 1e-8 },
      slowpagerank: { iterations: 20, damping: 0.85, tol: 1e-8, slow: '', slowMs: 3000 },
      crash: { maxSleepMs: 3000, crashRate: 1 / 3 },
    };
    for (const [name, want] of Object.entries(defaults)) assert.deepEqual(registry.parseParams(type(name), {}), want, name);
  });

  test('a missing required parameter is named, with what it is for', () => {
    assert.equal(refusal(type('grep'), {}), 'job type "grep": parameter "pattern": required (the regular expression to match (JavaScript syntax))');
    assert.equal(refusal(type('grep'), { pattern: '' }), 'job type "grep": parameter "pattern": required (the regular expression to match (JavaScript syntax))', 'an empty required value is a missing one');
    assert.equal(refusal(type('jobcount'), {}), 'job type "jobcount": parameter "dir": required (folder of the file that counts map calls)');
    assert.equal(refusal(type('poison'), {}), 'job type "poison": parameter "word": required (map throws on a line that contains it)');
    assert.equal(refusal(type('straggler'), { hangMs: '5' }), 'job type "straggler": parameter "dir": required (folder of the file that logs the hanging calls)');
    assert.equal(
      refusal(type('timing'), {}),
      'job type "timing": parameter "dir": required (folder of the files that log each call); parameter "phase": required (the phase whose calls sleep)',
      'every missing parameter at once',
    );
  });

  test('an unknown parameter is refused, with the ones the type takes', () => {
    assert.equal(refusal(type('wordcount'), { colour: 'red' }), 'job type "wordcount": unknown parameter "colour" (wordcount takes none)');
    assert.equal(refusal(type('invertedindex'), { a: '1', b: 2 }), 'job type "invertedindex": unknown parameters "a", "b" (invertedindex takes none)');
    assert.equal(refusal(type('pagerank'), { alpha: '0.5' }), 'job type "pagerank": unknown parameter "alpha" (pagerank takes iterations, damping, tol)');
    assert.equal(
      refusal(type('grep'), { colour: 'red' }),
      'job type "grep": unknown parameter "colour" (grep takes pattern, flags); parameter "pattern": required (the regular expression to match (JavaScript syntax))',
    );
  });

  test('numbers arrive as strings or as JSON numbers; either gives a number', () => {
    const p = type('pagerank');
    assert.deepEqual(registry.parseParams(p, { iterations: 30 }), { iterations: 30, damping: 0.85, tol: 1e-8 });
    assert.deepEqual(registry.parseParams(p, { iterations: '30', damping: ' 0.5 ', tol: '1e-10' }), { iterations: 30, damping: 0.5, tol: 1e-10 });
    assert.deepEqual(registry.parseParams(p, { iterations: 10_000, damping: 0.99, tol: 0 }), { iterations: 10_000, damping: 0.99, tol: 0 }, 'the inclusive bounds');
    assert.deepEqual(registry.parseParams(type('crash'), { crashRate: 0, maxSleepMs: '0' }), { crashRate: 0, maxSleepMs: 0 });
    assert.deepEqual(registry.parseParams(type('crash'), { crashRate: '1' }), { crashRate: 1, maxSleepMs: 3000 });
  });

  test('a value that is not a number, not whole, or out of range is refused with the parameter and the allowed range', () => {
    const p = type('pagerank');
    const iterations = (got: string) => `job type "pagerank": parameter "iterations": must be a whole number from 1 to 10000 (got ${got})`;
    assert.equal(refusal(p, { iterations: 'abc' }), iterations('"abc"'));
    assert.equal(refusal(p, { iterations: '' }), iterations('""'));
    assert.equal(refusal(p, { iterations: 0 }), iterations('0'));
    assert.equal(refusal(p, { iterations: '10001' }), iterations('"10001"'));
    assert.equal(refusal(p, { iterations: 2.5 }), iterations('2.5'));
    assert.equal(refusal(p, { iterations: true }), iterations('true'));
    assert.equal(refusal(p, { iterations: null }), iterations('null'));
    assert.equal(refusal(p, { iterations: [3] }), iterations('[3]'));
    assert.equal(refusal(p, { damping: 1 }), 'job type "pagerank": parameter "damping": must be between 0 and 1 (exclusive) (got 1)');
    assert.equal(refusal(p, { damping: '0' }), 'job type "pagerank": parameter "damping": must be between 0 and 1 (exclusive) (got "0")');
    assert.equal(refusal(p, { tol: '-1' }), 'job type "pagerank": parameter "tol": must be a number ≥ 0 (got "-1")');
    assert.equal(refusal(p, { tol: 'Infinity' }), 'job type "pagerank": parameter "tol": must be a number ≥ 0 (got "Infinity")');
    assert.equal(refusal(type('crash'), { crashRate: '1.5' }), 'job type "crash": parameter "crashRate": must be from 0 to 1 (got "1.5")');
    assert.equal(refusal(type('straggler'), { dir: '/tmp', hangMs: -1 }), 'job type "straggler": parameter "hangMs": must be a whole number ≥ 0 (got -1)');
    assert.equal(
      refusal(p, { iterations: 'x', damping: 'y' }),
      'job type "pagerank": parameter "iterations": must be a whole number from 1 to 10000 (got "x"); parameter "damping": must be between 0 and 1 (exclusive) (got "y")',
      'every bad parameter at once',
    );
  });

  test('an enum takes one of its values; a string its pattern; strings stay strings', () => {
    const t = type('timing');
    assert.deepEqual(registry.parseParams(t, { dir: '/tmp/x', phase: 'reduce' }), { dir: '/tmp/x', phase: 'reduce', sleepMs: 1000 });
    assert.equal(refusal(t, { dir: '/tmp/x', phase: 'both' }), 'job type "timing": parameter "phase": must be one of map, reduce (got "both")');
    assert.equal(refusal(t, { dir: 7, phase: 'map' }), 'job type "timing": parameter "dir": must be text (got 7)');
    assert.deepEqual(registry.parseParams(type('grep'), { pattern: 'the', flags: 'im' }), { pattern: 'the', flags: 'im' });
    assert.equal(refusal(type('grep'), { pattern: 'the', flags: 'g' }), 'job type "grep": parameter "flags": must be text matching [imsu]* (got "g")');
    assert.deepEqual(registry.parseParams(type('slowpagerank'), { slow: '3,5' }).slow, '3,5');
    assert.equal(
      refusal(type('slowpagerank'), { slow: 'three' }),
      'job type "slowpagerank": parameter "slow": must be text matching (\\d+(,\\d+)*)? (got "three")',
    );
  });

  test("a job type's own check runs on valid parameters: grep's pattern must compile with its flags", () => {
    assert.match(refusal(type('grep'), { pattern: '((' }), /^job type "grep": parameter "pattern": not a valid regular expression: /);
    assert.match(refusal(type('grep'), { pattern: '\\p{L}+', flags: 'x' }), /parameter "flags": must be text matching/, 'the schema first');
    assert.deepEqual(registry.parseParams(type('grep'), { pattern: '\\p{L}+', flags: 'u' }), { pattern: '\\p{L}+', flags: 'u' });
  });

  test('booleans arrive as true/false or as the strings "true"/"false"', () => {
    const schema: ParamSchema = { verbose: { type: 'boolean', default: false, description: 'say more' } };
    for (const [given, want] of [[true, true], ['true', true], [false, false], ['false', false]] as const) {
      assert.deepEqual(checkParams(schema, { verbose: given }), { params: { verbose: want }, problems: [], unknown: [] });
    }
    for (const given of ['yes', 1, '1', 'TRUE']) {
      assert.deepEqual(checkParams(schema, { verbose: given }).problems, [{ param: 'verbose', problem: `must be true or false (got ${JSON.stringify(given)})` }]);
    }
    assert.deepEqual(checkParams(schema, {}).params, { verbose: false });
  });

  test('an optional parameter without a default stays absent when not given', () => {
    const schema: ParamSchema = { limit: { type: 'integer', min: 1, description: 'at most this many' } };
    assert.deepEqual(checkParams(schema, {}).params, {});
    assert.deepEqual(checkParams(schema, { limit: '4' }).params, { limit: 4 });
  });

  test('validated parameters validate again to themselves (workers check what the master checked)', () => {
    const samples: Record<string, Record<string, string>> = {
      wordcount: {}, invertedindex: {}, grep: { pattern: 'a+', flags: 'i' }, pagerank: { iterations: '7', tol: '0' },
      slowpagerank: { slow: '2', slowMs: '10' }, crash: { crashRate: '0.5' }, jobcount: { dir: '/tmp' }, poison: { word: 'x' },
      straggler: { dir: '/tmp' }, timing: { dir: '/tmp', phase: 'map' },
      paramtypes: { flag: 'true', count: '3', ratio: '0.25', label: 'x' }, slowwordcount: { mapMs: '10' }, arrivalorder: {}, clockmap: {},
      bigramcount: { min: '2', sep: ' ' }, plainwordcount: {}, wordlines: { max: '3' },
    };
    assert.deepEqual(Object.keys(samples).sort(), registry.names(), 'a sample for every type');
    for (const [name, given] of Object.entries(samples)) {
      const once = registry.parseParams(type(name), given);
      assert.deepEqual(registry.parseParams(type(name), once), once, name);
    }
  });

  test('each type is described as plain JSON: parameters in declared order, with the allowed values in words', () => {
    const described = registry.describe();
    assert.deepEqual(described.map((d) => d.name), registry.names());
    assert.deepEqual(JSON.parse(JSON.stringify(described)), described, 'nothing but JSON');
    const pagerank = described.find((d) => d.name === 'pagerank')!;
    assert.deepEqual({ ...pagerank, description: '' }, {
      name: 'pagerank', description: '', formats: ['edges'], iterative: true, partitions: 'per-worker', outputFormat: 'csv',
      params: [
        { name: 'iterations', type: 'integer', default: 20, min: 1, max: 10_000, required: false, allowed: 'a whole number from 1 to 10000', description: 'iterations at most' },
        { name: 'damping', type: 'number', default: 0.85, exclusiveMin: 0, exclusiveMax: 1, required: false, allowed: 'between 0 and 1 (exclusive)', description: pagerank.params[1].description },
        { name: 'tol', type: 'number', default: 1e-8, min: 0, required: false, allowed: 'a number ≥ 0', description: pagerank.params[2].description },
      ],
      stages: { setup: 'building the graph', output: 'writing ranks' },
    });
    const timing = described.find((d) => d.name === 'timing')!;
    assert.deepEqual(timing.params[1], { name: 'phase', type: 'enum', values: ['map', 'reduce'], required: true, allowed: 'one of map, reduce', description: 'the phase whose calls sleep' });
    assert.deepEqual(describeType(builtins.find((t) => t.name === 'wordcount')!), {
      name: 'wordcount', description: builtins.find((t) => t.name === 'wordcount')!.description, formats: ['text'], iterative: false,
      partitions: 'by-size', outputFormat: 'text', params: [],
    });
  });

  test('allowed values in words, for every kind of bound', () => {
    const words = (spec: Parameters<typeof allowedText>[0]) => allowedText(spec);
    const d = 'x';
    assert.equal(words({ type: 'integer', description: d }), 'a whole number');
    assert.equal(words({ type: 'number', description: d }), 'a number');
    assert.equal(words({ type: 'number', min: 0, max: 1, description: d }), 'from 0 to 1');
    assert.equal(words({ type: 'number', exclusiveMin: 0, max: 1, description: d }), 'a number > 0 and ≤ 1');
    assert.equal(words({ type: 'integer', max: 9, description: d }), 'a whole number ≤ 9');
    assert.equal(words({ type: 'number', exclusiveMax: 9, description: d }), 'a number < 9');
    assert.equal(words({ type: 'string', description: d }), 'text');
  });
});

describe('job type schemas are checked when a type is loaded', () => {
  const base = { name: 't', description: 'd', formats: ['text'], map() {}, reduce() {}, format: () => '' } as const;
  const problems = (params: unknown, extra: object = {}) => schemaProblems({ ...base, params, ...extra } as unknown as AnyJobType);

  test('each mistake is named with its parameter', () => {
    assert.deepEqual(problems({ n: { type: 'integer', default: 'ten', description: 'n' } }), ['parameter "n" default "ten" is not a whole number']);
    assert.deepEqual(problems({ n: { type: 'integer', default: 0, min: 1, description: 'n' } }), ['parameter "n" default 0 is not a whole number ≥ 1']);
    assert.deepEqual(problems({ n: { type: 'float', description: 'n' } }), ['parameter "n" type must be one of string, number, integer, boolean, enum (got "float")']);
    assert.deepEqual(problems({ n: { type: 'string', required: true, default: 'a', description: 'n' } }), ['parameter "n" is required and has a default; give it one or the other']);
    assert.deepEqual(problems({ n: { type: 'enum', description: 'n' } }), ['parameter "n" an enum parameter lists its values, and only an enum parameter']);
    assert.deepEqual(problems({ n: { type: 'string', min: 1, description: 'n' } }), ['parameter "n" min must be a number, and only a number or integer parameter has one']);
    assert.deepEqual(problems({ n: { type: 'number', min: 2, max: 1, description: 'n' } }), ['parameter "n" allows nothing (from 2 to 1)']);
    assert.deepEqual(problems({ n: { type: 'string', pattern: '(', description: 'n' } }).length, 1);
    assert.deepEqual(problems({ n: { type: 'string' } }), ['parameter "n" needs a one-line description']);
    assert.deepEqual(problems({ 'a-b': { type: 'string', description: 'n' } }), ['parameter "a-b": a name is a letter, then letters, digits or _']);
    assert.deepEqual(problems({}, { partitions: 'many' }), ['partitions must be by-size or per-worker (got "many")']);
    assert.deepEqual(problems({}, { outputFormat: 'xml' }), ['outputFormat must be text or csv (got "xml")']);
    const iterative = { shape: 'iterative', rounds: () => ({ setup: 1, iterations: 1, tol: 0 }), output: async () => ({ keys: [], lines: [] }) };
    assert.deepEqual(problems({}, { ...iterative, stages: { setup: 'loading' } }), ['stages must be {setup, output}, each a name in words (got {"setup":"loading"})']);
    assert.deepEqual(problems({}, { ...iterative, stages: { setup: 'loading', output: 'saving' } }), []);
    assert.match(problems({ safeParse() {} })[0], /declares params as a zod schema; declare each parameter as \{type, default, description, \.\.\.\} instead/);
  });

  test('a plugin with a bad schema is refused, naming its file and the parameter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-jobs-'));
    writeFileSync(join(dir, 'bad.mjs'), `export default { name: 'bad', description: 'd', formats: ['text'],
      params: { n: { type: 'integer', default: 'ten', description: 'n' } }, map() {}, reduce() {}, format: () => '' };\n`);
    const registry = await loadRegistry(dir);
    assert.equal(registry.get('bad'), undefined);
    assert.equal(registry.problem(), 'jobs folder: bad.mjs: job type "bad": parameter "n" default "ten" is not a whole number');
  });
});
