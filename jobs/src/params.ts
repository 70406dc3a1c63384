/**
 * Job parameters against a job type's declared schema (ParamSpec in @tandem/shared): validating
 * given values, checking a schema when a type is loaded, and describing a type as plain JSON.
 * Values arrive as strings from the CLI's --param and the console's form and as JSON values through
 * the APIs; both are accepted, and a valid value comes back as its declared type. Validated
 * parameters validate again to themselves, so a worker can check what the master checked.
 */
import {
  isIterative, type AnyJobType, type JobTypeDescription, type ParamDescription, type ParamProblem, type ParamSchema, type ParamSpec,
  type ParamType,
} from '@tandem/shared';

export class JobTypeError extends Error {}

export type ParamValue = string | number | boolean;

const TYPES: readonly ParamType[] = ['string', 'number', 'integer', 'boolean', 'enum'];
/** A parameter's name is also a form field's and a CLI flag's, so it stays plain. */
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

function rangeText(s: ParamSpec): string {
  const lo = s.min ?? s.exclusiveMin;
  const hi = s.max ?? s.exclusiveMax;
  const loOpen = s.exclusiveMin !== undefined;
  const hiOpen = s.exclusiveMax !== undefined;
  if (lo !== undefined && hi !== undefined && loOpen === hiOpen) return loOpen ? `between ${lo} and ${hi} (exclusive)` : `from ${lo} to ${hi}`;
  const parts: string[] = [];
  if (lo !== undefined) parts.push(`${loOpen ? '>' : '≥'} ${lo}`);
  if (hi !== undefined) parts.push(`${hiOpen ? '<' : '≤'} ${hi}`);
  return parts.join(' and ');
}

/** The values a parameter allows, in words: "a whole number from 1 to 10000". */
export function allowedText(spec: ParamSpec): string {
  switch (spec.type) {
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${(spec.values ?? []).join(', ')}`;
    case 'string':
      return spec.pattern === undefined ? 'text' : `text matching ${spec.pattern}`;
    default: {
      const range = rangeText(spec);
      if (spec.type === 'integer') return range ? `a whole number ${range}` : 'a whole number';
      // "between 0 and 1" and "from 0 to 1" say it is a number; "≥ 0" does not.
      return !range ? 'a number' : /^[<>≤≥]/.test(range) ? `a number ${range}` : range;
    }
  }
}

const inRange = (s: ParamSpec, n: number) =>
  (s.min === undefined || n >= s.min) && (s.max === undefined || n <= s.max) &&
  (s.exclusiveMin === undefined || n > s.exclusiveMin) && (s.exclusiveMax === undefined || n < s.exclusiveMax);

/** `v` as the parameter's declared type, or undefined if it is not one of the values it allows. */
function coerce(spec: ParamSpec, v: unknown): ParamValue | undefined {
  switch (spec.type) {
    case 'string':
      return typeof v === 'string' && (spec.pattern === undefined || new RegExp(`^(?:${spec.pattern})$`, 'u').test(v)) ? v : undefined;
    case 'enum':
      return typeof v === 'string' && (spec.values ?? []).includes(v) ? v : undefined;
    case 'boolean':
      return v === true || v === 'true' ? true : v === false || v === 'false' ? false : undefined;
    default: {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n) || (spec.type === 'integer' && !Number.isInteger(n))) return undefined;
      return inRange(spec, n) ? n : undefined;
    }
  }
}

/** A value as an error message quotes it: as JSON (so a string shows its quotes), cut short. */
function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export interface ParamsCheck {
  params: Record<string, ParamValue>;
  problems: ParamProblem[];
  /** Given names the schema does not declare. */
  unknown: string[];
}

/** Checks given values against a schema, one problem per bad parameter; defaults fill what is not given. */
export function checkParams(schema: ParamSchema, given: Record<string, unknown>): ParamsCheck {
  const unknown = Object.keys(given).filter((name) => !Object.hasOwn(schema, name));
  const params: Record<string, ParamValue> = {};
  const problems: ParamProblem[] = [];
  for (const [name, spec] of Object.entries(schema)) {
    const v = given[name];
    if (v === undefined || (spec.required && v === '')) {
      if (spec.default !== undefined) params[name] = spec.default;
      else if (spec.required) problems.push({ param: name, problem: `required (${spec.description})` });
      continue;
    }
    const value = coerce(spec, v);
    if (value === undefined) problems.push({ param: name, problem: `must be ${allowedText(spec)} (got ${shown(v)})` });
    else params[name] = value;
  }
  return { params, problems, unknown };
}

/** Validated, defaulted parameters for a job of this type, or a JobTypeError that names every bad one. */
export function parseParams(type: AnyJobType, given: Record<string, unknown>): Record<string, ParamValue> {
  const r = checkParams(type.params, given);
  if (r.unknown.length === 0 && r.problems.length === 0) {
    const extra = type.check?.(r.params);
    if (extra === undefined) return r.params;
    r.problems.push(extra);
  }
  const known = Object.keys(type.params);
  const msgs = [
    ...(r.unknown.length ? [`unknown parameter${r.unknown.length > 1 ? 's' : ''} ${r.unknown.map((x) => shown(x)).join(', ')} (${type.name} takes ${known.length ? known.join(', ') : 'none'})`] : []),
    ...r.problems.map((p) => `parameter "${p.param}": ${p.problem}`),
  ];
  throw new JobTypeError(`job type "${type.name}": ${msgs.join('; ')}`);
}

function specProblems(name: string, spec: ParamSpec): string[] {
  if (typeof spec !== 'object' || spec === null) return ['must be an object {type, description, ...}'];
  const out: string[] = [];
  const numeric = spec.type === 'number' || spec.type === 'integer';
  if (!TYPES.includes(spec.type)) out.push(`type must be one of ${TYPES.join(', ')} (got ${shown(spec.type)})`);
  if (typeof spec.description !== 'string' || spec.description.trim() === '' || /\n/.test(spec.description)) out.push('needs a one-line description');
  if (spec.required && spec.default !== undefined) out.push('is required and has a default; give it one or the other');
  for (const bound of ['min', 'max', 'exclusiveMin', 'exclusiveMax'] as const) {
    const b = spec[bound];
    if (b !== undefined && (!numeric || !Number.isFinite(b))) out.push(`${bound} must be a number, and only a number or integer parameter has one`);
  }
  if (spec.min !== undefined && spec.exclusiveMin !== undefined) out.push('has both min and exclusiveMin');
  if (spec.max !== undefined && spec.exclusiveMax !== undefined) out.push('has both max and exclusiveMax');
  const lo = spec.min ?? spec.exclusiveMin;
  const hi = spec.max ?? spec.exclusiveMax;
  if (lo !== undefined && hi !== undefined && lo > hi) out.push(`allows nothing (${allowedText(spec)})`);
  if ((spec.type === 'enum') !== (spec.values !== undefined)) out.push('an enum parameter lists its values, and only an enum parameter');
  if (spec.values !== undefined && (!Array.isArray(spec.values) || spec.values.length === 0 || !spec.values.every((v) => typeof v === 'string'))) out.push('values must be a non-empty list of strings');
  if (spec.pattern !== undefined) {
    if (spec.type !== 'string') out.push('only a string parameter has a pattern');
    try {
      new RegExp(spec.pattern, 'u');
    } catch (err) {
      out.push(`pattern is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if (out.length === 0 && spec.default !== undefined && coerce(spec, spec.default) !== spec.default) {
    out.push(`default ${shown(spec.default)} is not ${allowedText(spec)}`);
  }
  return out.map((p) => `parameter "${name}" ${p}`);
}

/** What is wrong with a job type's declared parameters and settings (empty when nothing is). */
export function schemaProblems(type: AnyJobType): string[] {
  const params = type.params as unknown as { safeParse?: unknown };
  if (typeof params.safeParse === 'function') {
    return ['declares params as a zod schema; declare each parameter as {type, default, description, ...} instead (see "Your own job types" in README.md)'];
  }
  const out = Object.entries(type.params).flatMap(([name, spec]) => (NAME.test(name) ? specProblems(name, spec) : [`parameter ${shown(name)}: a name is a letter, then letters, digits or _`]));
  if (type.partitions !== undefined && type.partitions !== 'by-size' && type.partitions !== 'per-worker') out.push(`partitions must be by-size or per-worker (got ${shown(type.partitions)})`);
  if (type.outputFormat !== undefined && type.outputFormat !== 'text' && type.outputFormat !== 'csv') out.push(`outputFormat must be text or csv (got ${shown(type.outputFormat)})`);
  const stages = isIterative(type) ? (type.stages as unknown as Record<string, unknown> | null | undefined) : undefined;
  const named = (k: string) => typeof stages?.[k] === 'string' && (stages[k] as string).trim() !== '';
  if (stages !== undefined && (typeof stages !== 'object' || !named('setup') || !named('output'))) out.push(`stages must be {setup, output}, each a name in words (got ${shown(stages)})`);
  return out;
}

/** A job type as plain JSON: what `tandem job types`, `GET /api/job-types` and the console's form show. */
export function describeType(type: AnyJobType): JobTypeDescription {
  const params = Object.entries(type.params).map(([name, spec]): ParamDescription => {
    const { values, ...rest } = spec;
    return { name, ...rest, required: spec.required === true, ...(values ? { values: [...values] } : {}), allowed: allowedText(spec) };
  });
  return {
    name: type.name, description: type.description, formats: [...type.formats], iterative: isIterative(type),
    partitions: type.partitions ?? 'by-size', outputFormat: type.outputFormat ?? 'text', params,
    ...(isIterative(type) && type.stages ? { stages: { setup: type.stages.setup, output: type.stages.output } } : {}),
  };
}
