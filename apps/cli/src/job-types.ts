/**
 * Job types in the CLI's words, all read from their declared schemas (JobTypeDescription): the list
 * that `tandem job types` prints and `job run --help` / `job submit --help` end with, and flags made
 * from a type's parameters. Nothing here knows a job type by name.
 */
import { Option, type Command } from 'commander';
import { partitionRuleText, type JobTypeDescription, type JobTypesView, type ParamDescription } from '@tandem/shared';
import { loadRegistry } from '@tandem/jobs';
import { configFrom } from './options.ts';
import { table } from './format.ts';

const defaultText = (p: ParamDescription) => (p.required ? 'required' : p.default === undefined ? '-' : p.default === '' ? '""' : String(p.default));

/** One job type: what it does and reads, then a table of its parameters. */
export function typeText(t: JobTypeDescription & { hash?: string }): string {
  const head = [
    `${t.name}${t.iterative ? ' (iterative)' : ''}: ${t.description}`,
    `  reads ${t.formats.join(' or ')} datasets; partitions unless --partitions: ${partitionRuleText(t.partitions)}`,
    ...(t.hash ? [`  from the jobs folder; its file's hash: ${t.hash}`] : []),
  ];
  if (t.params.length === 0) return [...head, '  no parameters'].join('\n');
  const rows = [['PARAMETER', 'TYPE', 'DEFAULT', 'ALLOWED', 'DESCRIPTION'], ...t.params.map((p) => [p.name, p.type, defaultText(p), p.allowed, p.description])];
  return [...head, table(rows).replace(/^/gm, '  ')].join('\n');
}

export const typesText = (types: JobTypeDescription[]) => types.map(typeText).join('\n\n');

/** `tandem job types`: the primary's types, then what each live process runs from its jobs folder, then the alerts. */
export function clusterTypesText(v: JobTypesView): string {
  const rows = [['PROCESS', 'JOBS-FOLDER TYPES (NAME@HASH)'], ...v.processes.map((p) => [`${p.role} ${p.name}`, Object.entries(p.types).map(([n, h]) => `${n}@${h}`).join(' ') || '-'])];
  return [
    `Job types of the primary master ${v.master}:`, '', typesText(v.types), '',
    'Reported by each master and worker:', table(rows),
    ...(v.alerts.length ? ['', ...v.alerts.map((a) => `ALERT: ${a}`)] : ['', 'every master and worker runs the same job types']),
  ].join('\n');
}

/**
 * The job types this CLI knows (built-in and --jobs-dir), as the end of a help text. Loading them
 * imports the jobs folder's modules, so it is done only when help is asked for; a folder that
 * cannot be loaded is reported there rather than stopping the command.
 */
export async function typesHelp(cmd: Command): Promise<string> {
  const asked = process.argv.slice(2).some((a) => a === '--help' || a === '-h' || a === 'help');
  if (!asked) return '';
  try {
    const registry = await loadRegistry(configFrom(cmd).TANDEM_JOBS_DIR);
    return `\nJob types and their parameters (give each as --param NAME=VALUE):\n\n${typesText(registry.describe())}\n`;
  } catch (err) {
    return `\n(the job types cannot be listed: ${(err as Error).message})\n`;
  }
}

/** A `--NAME <value>` flag per parameter, described and defaulted from the schema; values stay strings for the schema to check. */
export function paramFlags(cmd: Command, params: ParamDescription[]): Command {
  for (const p of params) {
    const opt = new Option(`--${p.name} <value>`, `${p.description}; ${p.allowed}${p.required ? '; required' : ''}`);
    if (p.default !== undefined) opt.default(String(p.default), String(p.default));
    cmd.addOption(opt);
  }
  return cmd;
}
