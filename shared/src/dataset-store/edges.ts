/**
 * The edge-list normaliser, pure: a CSV edge list `src,dst` (RFC 4180 quoting, e.g. `"a,b",c`)
 * becomes `src<TAB>dst\n` lines, so workers need no CSV parser; records are edges. Empty lines are
 * skipped; CRLF line endings are accepted. The first non-empty row is skipped when it is a header
 * (see isHeader; HeaderMode forces it either way), and what became of it is noted (EdgeState.firstRow). Ids are taken verbatim (no trimming); an empty id, or an id containing a TAB, CR
 * or LF, is an error naming the file's line.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { dsErr } from './errors.ts';

const CSV_OPTS = { relax_column_count: true, record_delimiter: '\n' } as const;

/** How the first non-empty row is taken: by the header rule (auto), always as a header (yes), always as an edge (no). */
export type HeaderMode = 'auto' | 'yes' | 'no';

/** What became of the first non-empty row, when it was a header or looked like one (words, not numbers). */
export interface HeaderNote {
  line: number;
  /** The row as it was in the file. */
  text: string;
  header: boolean;
}

export interface EdgeState {
  /** A non-empty row was seen (so the header rule no longer applies). */
  sawRow: boolean;
  header?: HeaderMode;
  firstRow?: HeaderNote;
}

const columns = (n: number) => `${n} column${n === 1 ? '' : 's'}`;
/** A row of the wrong width: often the file is not a graph at all, but text that was meant as text. */
const wrongWidth = (n: number) => `has ${columns(n)}, expected 2 (src,dst); a file that is not a graph can be stored as lines of text instead (format text: --format text)`;

/**
 * Fields of one CSV line (no line break in it) in the strict RFC 4180 form, which is what csv-parse
 * accepts with its default options: fields separated by ',', a field either unquoted without any
 * '"', or wholly quoted with '""' standing for '"'. Returns null for anything else (a stray quote,
 * text after a closing quote, an unclosed quote), which then goes to csv-parse for its verdict.
 * csv-parse itself runs at a few MB/s, far too slow for the common case; the tests check that the
 * two agree.
 */
function splitCsvLine(text: string): string[] | null {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) === 34) {
      let val = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) return null;
        if (text.charCodeAt(q + 1) === 34) {
          val += text.slice(j, q + 1);
          j = q + 2;
          continue;
        }
        val += text.slice(j, q);
        i = q + 1;
        break;
      }
      out.push(val);
      if (i === n) return out;
      if (text.charCodeAt(i) !== 44) return null;
      i++;
    } else {
      const c = text.indexOf(',', i);
      const f = c === -1 ? text.slice(i) : text.slice(i, c);
      if (f.includes('"')) return null;
      out.push(f);
      if (c === -1) return out;
      i = c + 1;
    }
  }
}

/** Parses one CSV line with csv-parse; throws a DatasetError naming the line when it is not valid CSV. */
function parseCsvLine(name: string, line: number, text: string): string[] {
  let rows: string[][];
  try {
    rows = parseCsv(text, CSV_OPTS) as string[][];
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'CSV_QUOTE_NOT_CLOSED') {
      throw dsErr(name, `: line ${line} has a quoted id that is not closed on the same line (ids cannot contain line breaks)`);
    }
    throw dsErr(name, `: line ${line} is not valid CSV: ${err.message.replace(/ at line \d+/, '')}`);
  }
  if (rows.length !== 1) throw dsErr(name, `: line ${line} is not one CSV row`);
  return rows[0];
}

/** The normalized `src\tdst\n` line of one parsed row, or a DatasetError naming the line. */
function edgeLine(name: string, line: number, row: string[]): string {
  if (row.length !== 2) throw dsErr(name, `: line ${line} ${wrongWidth(row.length)}`);
  const [src, dst] = row;
  if (src === '') throw dsErr(name, `: line ${line} has an empty src id`);
  if (dst === '') throw dsErr(name, `: line ${line} has an empty dst id`);
  for (const id of row) {
    if (id.includes('\t')) throw dsErr(name, `: line ${line}: id ${JSON.stringify(id)} contains a TAB, which ids cannot contain`);
    if (/[\r\n]/.test(id)) throw dsErr(name, `: line ${line}: id ${JSON.stringify(id)} contains a line break, which ids cannot contain`);
  }
  return `${src}\t${dst}\n`;
}

/** The fields of one CSV line, or null when it is not one valid row. */
function fieldsOf(text: string): string[] | null {
  const fields = splitCsvLine(text);
  if (fields) return fields;
  try {
    const rows = parseCsv(text, CSV_OPTS) as string[][];
    return rows.length === 1 ? rows[0] : null;
  } catch {
    return null;
  }
}

const NUMBER = /^\s*[+-]?\d+(\.\d+)?\s*$/;
const words = (f: string[] | null): boolean => f !== null && f.length === 2 && !NUMBER.test(f[0]) && !NUMBER.test(f[1]);
const numbers = (f: string[] | null): boolean => f !== null && f.length === 2 && NUMBER.test(f[0]) && NUMBER.test(f[1]);

/** The next non-empty line of buf after the '\n' at `nl` (without its line ending), or null when the buffer ends first. */
function nextLine(buf: Buffer, nl: number): string | null {
  for (let start = nl + 1; start < buf.length;) {
    const end = buf.indexOf(10, start);
    if (end === -1) return null;
    const stop = end > start && buf[end - 1] === 13 ? end - 1 : end;
    if (stop > start) return buf.toString('utf8', start, stop);
    start = end + 1;
  }
  return null;
}

/**
 * The header rule (auto): the first non-empty row is a header, and is skipped, when it has two
 * fields that are `src` and `dst` after trimming spaces, in any letter case (`src,dst`, `SRC, DST`,
 * `"src","dst"`), or when both its fields are words (not numbers) and the row after it holds two
 * numbers (`source,target` above a numeric edge list). Any other first row is an edge: ids may be
 * names, so `a,b` above `b,c` is two edges (--header says otherwise).
 */
function isHeader(text: string, next: () => string | null): boolean {
  const fields = fieldsOf(text);
  if (fields?.length === 2 && fields[0].trim().toLowerCase() === 'src' && fields[1].trim().toLowerCase() === 'dst') return true;
  if (!words(fields)) return false;
  const after = next();
  return after !== null && numbers(fieldsOf(after));
}

/**
 * Normalizes a chunk of whole CSV lines (ending with '\n', valid UTF-8, no NUL) to `src\tdst\n`,
 * in place: buf is overwritten and the result is a prefix of it.
 * Lines without a quote, nearly all of them in practice, go through a byte loop that validates them
 * and rewrites the comma in place, since for them CSV is exactly "split at the one comma"; runs of
 * such lines are then moved as a whole. Lines with a quote are parsed one by one
 * (splitCsvLine, csv-parse for anything irregular). Errors name the first bad line.
 */
export function normalizeEdges(
  name: string,
  st: EdgeState,
  buf: Buffer,
  firstLine: number,
): { out: Buffer; records: number; lines: number } {
  const n = buf.length;
  // The output is compacted in place into buf[0, w): a line's output is never longer than the
  // line, so w never passes the line being read. Runs of kept plain lines [runStart, runEnd) are
  // moved down in one copy when the run ends.
  let w = 0;
  let runStart = 0;
  let runEnd = 0;
  const flushRun = () => {
    if (runEnd > runStart) {
      if (w !== runStart) buf.copyWithin(w, runStart, runEnd);
      w += runEnd - runStart;
    }
    runStart = runEnd;
  };
  let records = 0;
  let line = firstLine;
  let lineStart = 0;
  let commas = 0;
  let comma = -1;
  let crs = 0;
  let quote = false;
  let tab = false;
  const fail = (msg: string): never => {
    throw dsErr(name, `: line ${line} ${msg}`);
  };

  for (let i = 0; i < n; i++) {
    const b = buf[i];
    if (b > 44) continue;
    if (b === 44) {
      if (commas++ === 0) comma = i;
      continue;
    }
    if (b === 34) {
      quote = true;
      continue;
    }
    if (b === 9) {
      tab = true;
      continue;
    }
    if (b === 13) {
      crs++;
      continue;
    }
    if (b !== 10) continue;
    // The line is [lineStart, end); a CR right before the '\n' is a CRLF line ending.
    let end = i;
    if (crs > 0 && i > lineStart && buf[i - 1] === 13) {
      end = i - 1;
      crs--;
    }
    const first = !st.sawRow && end > lineStart;
    let header = false;
    if (first) {
      st.sawRow = true;
      const text = buf.toString('utf8', lineStart, end);
      const mode = st.header ?? 'auto';
      header = mode === 'yes' || (mode === 'auto' && isHeader(text, () => nextLine(buf, i)));
      if (header || words(fieldsOf(text))) st.firstRow = { line, text, header };
    }
    if (end === lineStart) {
      // empty line: skipped
    } else if (header) {
      // header: skipped
    } else if (quote) {
      const text = buf.toString('utf8', lineStart, end);
      const e = edgeLine(name, line, splitCsvLine(text) ?? parseCsvLine(name, line, text));
      flushRun();
      w += buf.write(e, w, 'utf8');
      records++;
    } else if (crs > 0) {
      fail('contains a carriage return inside an id (ids cannot contain line breaks)');
    } else if (tab) {
      fail('contains a TAB, which ids cannot contain');
    } else if (commas !== 1) {
      fail(wrongWidth(commas + 1));
    } else if (comma === lineStart) {
      fail('has an empty src id');
    } else if (comma === end - 1) {
      fail('has an empty dst id');
    } else {
      buf[comma] = 9;
      let keptEnd = i + 1;
      if (end !== i) {
        buf[end] = 10; // CRLF -> LF: keep [lineStart, end], drop the original '\n'
        keptEnd = end + 1;
      }
      if (lineStart === runEnd) runEnd = keptEnd;
      else {
        flushRun();
        runStart = lineStart;
        runEnd = keptEnd;
      }
      records++;
    }
    line++;
    lineStart = i + 1;
    commas = 0;
    crs = 0;
    quote = false;
    tab = false;
  }
  flushRun();
  return { out: buf.subarray(0, w), records, lines: line - firstLine };
}
