import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { DatasetError } from './errors.ts';
import { ingest, rejects } from './testing.ts';

const countLines = (b: Buffer) => b.reduce((n, x) => n + (x === 10 ? 1 : 0), 0);

// Through the pure upload pipeline (testing.ts): splits of 1024 bytes, input in chunks of 333.
describe('edge lists', () => {
  test('with and without a header, normalized to src<TAB>dst lines', async () => {
    const a = await ingest('src,dst\n1,2\n2,3\n3,1', { name: 'h', format: 'edges' });
    assert.equal(a.text, '1\t2\n2\t3\n3\t1\n');
    assert.equal(a.records, 3);
    assert.equal(a.sha256, createHash('sha256').update('1\t2\n2\t3\n3\t1\n').digest('hex'));
    assert.equal(a.sourceSha256, createHash('sha256').update('src,dst\n1,2\n2,3\n3,1').digest('hex'), 'the input as uploaded');
    // one chunk larger than a split: the caller's buffer is not the store's scratch space
    const one = Buffer.from('1,2\n2,3\n'.repeat(1000));
    const copy = Buffer.from(one);
    const big = await ingest(one, { name: 'one', format: 'edges', chunk: one.length });
    assert.deepEqual(one, copy);
    assert.equal(big.text, '1\t2\n2\t3\n'.repeat(1000));
    const b = await ingest('1,2\n2,3\n', { name: 'nh', format: 'edges' });
    assert.equal(b.text, '1\t2\n2\t3\n');
    assert.equal(b.records, 2);
    // the header rule: trimmed, any case, quoted or not; only the first non-empty row
    const c = await ingest('\n SRC , Dst \r\nsrc,dst\n', { name: 'h2', format: 'edges' });
    assert.equal(c.text, 'src\tdst\n');
    const d = await ingest('"src","DST"\na,b\n', { name: 'h3', format: 'edges' });
    assert.equal(d.text, 'a\tb\n');
    const e = await ingest('src,dst,x\n', { name: 'h4', format: 'edges' }).catch((x: Error) => x);
    assert.match(String(e), /line 1 has 3 columns, expected 2/);
  });

  test('a first row of words above numeric edges is a header, and said so; --header and --no-header force it', async () => {
    const a = await ingest('source,target\n1,2\n2,3\n', { name: 'st', format: 'edges' });
    assert.equal(a.text, '1\t2\n2\t3\n');
    assert.deepEqual(a.firstRow, { line: 1, text: 'source,target', header: true });
    const crlf = await ingest('\r\n"from","to"\r\n\r\n 7 , 8 \r\n', { name: 'ft', format: 'edges' });
    assert.equal(crlf.records, 1);
    assert.deepEqual(crlf.firstRow, { line: 2, text: '"from","to"', header: true });
    // Ids may be names: words above words are edges, noted so the caller can say --header.
    const names = await ingest('source,target\npython3,openssl\n', { name: 'nm', format: 'edges' });
    assert.equal(names.text, 'source\ttarget\npython3\topenssl\n');
    assert.deepEqual(names.firstRow, { line: 1, text: 'source,target', header: false });
    assert.equal((await ingest('1,2\n2,3\n', { name: 'num', format: 'edges' })).firstRow, undefined, 'a numeric first row is an edge, without a note');
    assert.equal((await ingest('src,dst\n1,2\n', { name: 'sd', format: 'edges' })).firstRow?.header, true);
    const forced = await ingest('source,target\npython3,openssl\n', { name: 'f', format: 'edges', header: 'yes' });
    assert.equal(forced.text, 'python3\topenssl\n');
    assert.equal((await ingest('7,8\n1,2\n', { name: 'f2', format: 'edges', header: 'yes' })).text, '1\t2\n', '--header skips even a numeric first row');
    const none = await ingest('src,dst\n1,2\n', { name: 'n', format: 'edges', header: 'no' });
    assert.equal(none.text, 'src\tdst\n1\t2\n');
    assert.deepEqual(none.firstRow, { line: 1, text: 'src,dst', header: false });
    // Only the first row: later rows are edges (or errors naming their line) whatever they hold.
    assert.equal((await ingest('1,2\nsource,target\n', { name: 'later', format: 'edges' })).text, '1\t2\nsource\ttarget\n');
    await rejects(ingest('source,target\n1,2\n3\n', { name: 'bad', format: 'edges' }), /^dataset "bad": line 3 has 1 column/);
  });

  test('quoted ids (commas, doubled quotes), CRLF and empty lines', async () => {
    const m = await ingest('"a,b",c\r\n\r\nd,"e ""quoted"""\r\n\nx y,z\n', { name: 'q', format: 'edges' });
    assert.equal(m.text, 'a,b\tc\nd\te "quoted"\nx y\tz\n');
    // "" is an empty id
    await rejects(ingest('"",x\n', { name: 'q2', format: 'edges' }), /^dataset "q2": line 1 has an empty src id$/);
    assert.equal(m.records, 3);
  });

  test('many splits, mixed quoting: same edges as csv-parse over the whole file', async () => {
    const rows: string[] = ['src,dst'];
    for (let i = 0; i < 5000; i++) {
      const s = `n${i % 97}`;
      const d = i % 13 === 0 ? `"v,${i}"` : i % 17 === 0 ? `"w""${i}"` : `m${(i * 31) % 1000}`;
      rows.push(i % 101 === 0 ? '' : `${s},${d}`);
    }
    const input = rows.join('\n') + '\n';
    const m = await ingest(input, { name: 'mix', format: 'edges', chunk: 500 });
    const want = (parseCsv(input, { skip_empty_lines: true }) as string[][]).slice(1);
    assert.equal(m.records, want.length);
    assert.equal(m.text, want.map(([s, d]) => `${s}\t${d}\n`).join(''));
    assert.equal(m.splitRecords.reduce((a, b) => a + b, 0), want.length);
    assert.ok(m.splits > 20);
    for (const [s, part] of m.parts.entries()) {
      assert.equal(countLines(part), m.splitRecords[s]);
      assert.ok(part.length <= 1024);
    }
    assert.deepEqual(m.text.split('\n').slice(0, 3), ['n1\tm31', 'n2\tm62', 'n3\tm93']);
  });

  test('random quoting agrees with csv-parse, line by line', async () => {
    let x = 42;
    const rnd = (n: number) => (x = (x * 1103515245 + 12345) & 0x7fffffff) % n;
    const alphabet = ['a', 'b', ',', '"', ' ', 'é', '日', "'"];
    const field = () => {
      let f = '';
      for (let i = 1 + rnd(5); i > 0; i--) f += alphabet[rnd(alphabet.length)];
      return f;
    };
    const q = (f: string) => (f.includes(',') || f.includes('"') || rnd(3) === 0 ? `"${f.replaceAll('"', '""')}"` : f);
    // valid rows: the whole file must equal csv-parse's reading
    const rows: string[] = [];
    for (let i = 0; i < 3000; i++) rows.push(`${q(field())},${q(field())}`);
    const input = rows.join('\n') + '\n';
    const m = await ingest(input, { name: 'rq', format: 'edges', chunk: 999 });
    const want = parseCsv(input) as string[][];
    assert.equal(m.text, want.map(([a, b]) => `${a}\t${b}\n`).join(''));
    // arbitrary short lines: accepted exactly when csv-parse reads them as two non-empty fields
    const chars = ['a', ',', '"', ' ', 'b'];
    for (let i = 0; i < 300; i++) {
      let line = '';
      for (let j = 1 + rnd(7); j > 0; j--) line += chars[rnd(chars.length)];
      let ref: string[][] | null;
      try {
        ref = parseCsv(line, { relax_column_count: true }) as string[][];
      } catch {
        ref = null;
      }
      const ok = ref !== null && ref.length === 1 && ref[0].length === 2 && ref[0][0] !== '' && ref[0][1] !== '' &&
        !(ref[0][0].trim().toLowerCase() === 'src' && ref[0][1].trim().toLowerCase() === 'dst');
      const got = await ingest(`x,y\n${line}\n`, { name: 'one', format: 'edges' }).then(
        (r) => r,
        (err: Error) => err,
      );
      if (ok) {
        assert.ok(!(got instanceof Error), `${JSON.stringify(line)}: ${String(got)}`);
        assert.equal(got.text, `x\ty\n${ref![0][0]}\t${ref![0][1]}\n`, JSON.stringify(line));
      } else {
        assert.ok(got instanceof DatasetError, `${JSON.stringify(line)} should fail, csv-parse: ${JSON.stringify(ref)}`);
        assert.match(got.message, /^dataset "one": line 2 /, JSON.stringify(line));
      }
    }
  });

  test('bad rows name the line', async () => {
    const head = 'src,dst\n' + 'a,b\n'.repeat(600); // lines 2..601, several splits cut first
    const cases: [string, RegExp][] = [
      ['1,2\n3,4\n5,6\n7,8\n9,10\n11,12\n13,14,15\n', /^dataset "g": line 7 has 3 columns, expected 2 \(src,dst\); a file that is not a graph can be stored as lines of text instead \(format text: --format text\)$/],
      [head + 'lonely\n', /^dataset "g": line 602 has 1 column, expected 2 \(src,dst\); a file that is not a graph can be stored as lines of text instead \(format text: --format text\)$/],
      [head + ',b\n', /^dataset "g": line 602 has an empty src id$/],
      [head + 'a,\n', /^dataset "g": line 602 has an empty dst id$/],
      [head + 'a\tb,c\n', /^dataset "g": line 602 contains a TAB/],
      [head + '"a\tb",c\n', /^dataset "g": line 602: id "a\\tb" contains a TAB/],
      [head + 'a,b\rc\n', /^dataset "g": line 602 contains a carriage return/],
      [head + '"a\nb",c\n', /^dataset "g": line 602 has a quoted id that is not closed on the same line/],
      [head + '"a"x,c\n', /^dataset "g": line 602 is not valid CSV: Invalid Closing Quote/],
      [head + '"a,b",c,d\n', /^dataset "g": line 602 has 3 columns/],
      // the first bad line wins, whether it is quoted or not
      ['a,b\n"x","y","z"\nc,d\nonly\n', /^dataset "g": line 2 has 3 columns/],
      ['a,b\n"x","y"\nc,d,e\n"p",""\n', /^dataset "g": line 3 has 3 columns/],
      ['src,dst\n', /^dataset "g": the file has no edges \(1 line: only a header or empty lines\)$/],
      ['\n\n', /^dataset "g": the file has no edges/],
      ['', /^dataset "g": the file is empty \(0 bytes\)$/],
    ];
    for (const [input, re] of cases) await rejects(ingest(input, { name: 'g', format: 'edges' }), re);
  });
});

