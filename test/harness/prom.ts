/**
 * Prometheus's text format (version 0.0.4) as the tests read a /metrics answer: `# TYPE` lines and
 * samples `name{label="value",...} value`, label values unescaped. Anything else that is not a
 * comment or blank throws, naming the line, so a malformed answer fails the test that reads it.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  /** Each metric family's declared type (`counter`, `gauge`, `histogram`, ...). */
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+-?\\d+)?$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

/** A sample's value; the special values in any case, as Prometheus reads them (prom-client writes NaN as `Nan`). */
function parseValue(text: string): number {
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return Number.NaN;
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new Error(`not a number: ${text}`);
  return v;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const at = LABEL.lastIndex;
    const m = LABEL.exec(text);
    if (!m) throw new Error(`${where}: bad label set at character ${at}: ${text}`);
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

export function parseProm(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const where = `line ${i + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const t = /^#\s*TYPE\s+(\S+)\s+(\S+)$/.exec(line);
      if (t) types.set(t[1], t[2]);
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`${where}: not a sample: ${line}`);
    try {
      samples.push({ name: m[1], labels: m[2] ? parseLabels(m[2], where) : {}, value: parseValue(m[3]) });
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  });
  return { types, samples };
}

/** The samples named `name` whose labels include `labels`. */
export function samplesOf(s: Scrape, name: string, labels: Record<string, string> = {}): Sample[] {
  return s.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
}

/** The one sample named `name` with `labels`, its value; undefined when there is none; throws when several match. */
export function valueOf(s: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samplesOf(s, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
