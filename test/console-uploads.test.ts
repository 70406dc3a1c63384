// Scripted uploads through the console (issue 13): every curl example in README.md runs with the
// real curl against a test console and stores exactly the file; multipart and raw bodies, the
// 415 for anything else, the 413 that publishes nothing, the multipart rules (one file part,
// fields before it, the form token before the file), PUT's 409, and JSON job parameters as
// numbers and booleans checked against the job type's schema; what stores data (or must store none)
// also on a Redis Cluster, from the same definition.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDataset, readSplit, scanKeys, type DatasetMeta } from '@tandem/shared';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { startCluster, type Cluster, type TestRedisLike } from './harness/cluster.ts';
import { PLATFORM_TOPOLOGIES } from './harness/topologies.ts';
import { call } from './harness/http.ts';

const README_URL = 'http://127.0.0.1:7300';
const TOKEN = 'uploads-test-token-0123456789';

/** Every curl command in README.md: the lines of its code blocks, and inline code with a URL, that start with `curl `. */
export function readmeCurls(readme: string): string[] {
  const out: string[] = [];
  const fence = /^```[^\n]*\n([\s\S]*?)^```/gm;
  for (const block of readme.matchAll(fence)) {
    for (const line of block[1]!.split('\n')) if (/^curl\s/.test(line.trim())) out.push(line.trim());
  }
  const prose = readme.replace(fence, '');
  for (const span of prose.matchAll(/`(curl\s[^`]*https?:\/\/[^`]+)`/g)) out.push(span[1]!.replaceAll('\\|', '|'));
  return out;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a shell command line (a README example) from the repository's root. */
function sh(line: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', line], { cwd: repoRoot, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** curl with arguments (no shell): -sS, and the status code on its own last line. */
function curl(args: string[], env: Record<string, string> = {}): Promise<{ status: number; json: Record<string, any>; text: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-w', '\n%{http_code}', ...args], { cwd: repoRoot, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && !stdout) return reject(new Error(`curl ${args.join(' ')}: ${stderr}`));
      const cut = stdout.lastIndexOf('\n');
      const text = stdout.slice(0, cut);
      let json = {};
      try {
        json = JSON.parse(text);
      } catch {
        // a page
      }
      resolve({ status: Number(stdout.slice(cut + 1)), json, text });
    });
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const topology of PLATFORM_TOPOLOGIES) describe(`scripted uploads through the console, on ${topology.name}`, { timeout: 300_000 }, () => {
  let c: Cluster<TestRedisLike>;
  let url: string;
  let locked: string;
  let tmp: string;
  let csrf: string;
  before(async () => {
    const redis = await topology.start();
    try {
      c = await startCluster({ name: `console-uploads${topology.cluster ? '-cluster' : ''}`, workers: 1, redis });
    } catch (err) {
      await redis.stop();
      throw err;
    }
    ({ url } = await c.startConsole({ TANDEM_CONSOLE_UPLOAD_MAX_BYTES: '2000000' }));
    ({ url: locked } = await c.startConsole({ TANDEM_CONSOLE_TOKEN: TOKEN, TANDEM_CONSOLE_UPLOAD_MAX_BYTES: '2000000' }));
    csrf = /<meta name="csrf-token" content="([^"]+)">/.exec((await call(`${url}/datasets`)).text)![1]!;
    tmp = mkdtempSync(join(tmpdir(), 'tandem-uploads-'));
  });
  after(async () => {
    await c?.stop();
    await c?.redis.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const redis = () => c.redis.client();
  const stored = async (meta: DatasetMeta) => {
    const parts: Buffer[] = [];
    for (let s = 0; s < meta.splits; s++) parts.push(await readSplit(redis(), c.keys, meta, s));
    return Buffer.concat(parts);
  };
  /** Every key of dataset `name`: its metadata and any split, published or left behind. */
  const keysOf = async (name: string) => {
    const found: string[] = [];
    // On every primary of a Redis Cluster.
    for (const pattern of [c.keys.datasetMeta(name), `${c.keys.prefix}:ds:{${name}:*`]) for await (const batch of scanKeys(redis(), pattern)) found.push(...batch);
    return [...new Set(found)];
  };
  const tmpFile = (name: string, content: Buffer | string) => {
    const path = join(tmp, name);
    writeFileSync(path, content);
    return path;
  };

  test('every curl example in README.md runs, and stores exactly the file it names', async () => {
    const examples = readmeCurls(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
    assert.ok(examples.length >= 5, `the README's curl examples: ${examples.join('\n')}`);
    const uploads = examples.filter((e) => e.includes('/api/datasets'));
    assert.ok(uploads.some((e) => / -F /.test(e)) && uploads.some((e) => / -T /.test(e)) && uploads.some((e) => /--data-binary/.test(e)), 'multipart, PUT and raw POST are shown');
    for (const example of examples) {
      const needsToken = example.includes('$TANDEM_CONSOLE_TOKEN');
      const line = example.replaceAll(README_URL, needsToken ? locked : url);
      const run = await sh(line, needsToken ? { TANDEM_CONSOLE_TOKEN: TOKEN } : {});
      assert.equal(run.code, 0, `${example}: ${run.stderr}`);
      const reply = JSON.parse(run.stdout) as { ok: boolean; dataset?: DatasetMeta; jobId?: string; error?: string };
      assert.equal(reply.ok, true, `${example}: ${run.stdout}`);
      if (example.includes('/api/jobs')) {
        const status = (await call(`${url}/api/jobs/${reply.jobId}`)).json;
        const sent = JSON.parse(/-d '([^']+)'/.exec(example)![1]!) as { params: Record<string, unknown> };
        for (const [k, v] of Object.entries(sent.params)) assert.equal(status.params[k], v, `${example}: parameter ${k} arrives as sent, typed`);
        continue;
      }
      const path = /(?:-F file=@|-T |--data-binary @)(\S+)/.exec(example)![1]!;
      const file = readFileSync(join(repoRoot, path));
      const meta = (await getDataset(redis(), c.keys, reply.dataset!.name))!;
      assert.deepEqual(meta, reply.dataset, `${example}: the answer is what was published`);
      assert.equal(meta.sourceSha256, sha256(file), `${example}: the bytes received are the file's`);
      const body = await stored(meta);
      if (meta.format === 'text') assert.ok(body.equals(file), `${example}: stored byte for byte`);
      else {
        assert.equal(meta.format, 'edges', example);
        const want = file.toString('utf8').split('\n').slice(1).filter((l) => l !== '').map((l) => `${l.replace(',', '\t')}\n`).join('');
        assert.equal(body.toString('utf8'), want, `${example}: the edge list, normalized to src<TAB>dst`);
      }
      assert.doesNotMatch(body.toString('utf8', 0, 200), /Content-Disposition|^--/m, 'no multipart envelope in the dataset');
    }
  });

  if (!topology.cluster) test('multipart: the name from a field, the query or the file name; the format from the part\'s filename', async () => {
    const tri = tmpFile('tri.csv', 'a,b\nb,c\nc,a\n');
    const fromQuery = await curl(['-F', `file=@${tri}`, `${url}/api/datasets?name=x`]);
    assert.equal(fromQuery.status, 201, fromQuery.text);
    assert.deepEqual([fromQuery.json.dataset.name, fromQuery.json.dataset.format, fromQuery.json.dataset.records], ['x', 'edges', 3]);
    assert.equal((await stored(fromQuery.json.dataset)).toString(), 'a\tb\nb\tc\nc\ta\n');
    const fromFile = await curl(['-F', `file=@${tri}`, `${url}/api/datasets`]);
    assert.equal(fromFile.status, 201, fromFile.text);
    assert.equal(fromFile.json.dataset.name, 'tri', 'the file name without its extension');
    const asText = await curl(['-F', 'name=tri-text', '-F', 'format=text', '-F', `file=@${tri}`, `${url}/api/datasets`]);
    assert.equal(asText.status, 201, asText.text);
    assert.equal((await stored(asText.json.dataset)).toString(), 'a,b\nb,c\nc,a\n', 'format=text keeps the bytes');
    const taken = await curl(['-F', 'name=x', '-F', `file=@${tri}`, `${url}/api/datasets`]);
    assert.equal(taken.status, 409);
    const replaced = await curl(['-F', 'name=x', '-F', 'replace=1', '-F', `file=@${tmpFile('two.csv', 'p,q\n')}`, `${url}/api/datasets`]);
    assert.equal(replaced.status, 201, replaced.text);
    assert.equal(replaced.json.dataset.records, 1);
  });

  test('multipart mistakes are a 400 naming the part, and publish nothing', async () => {
    const f = tmpFile('m.txt', 'one\ntwo\n');
    const cases: [string[], RegExp][] = [
      [['-F', 'name=m1'], /no file part: send the file as a part named file \(curl -F file=@PATH\)/],
      [['-F', 'name=m2', '-F', `file=@${f}`, '-F', `other=@${f}`], /a second file part: an upload is exactly one file/],
      [['-F', `file=@${f}`, '-F', 'name=m3'], /field "name" came after the file part: send the fields \(name, format, replace, filename\) before the file/],
      [['-F', 'name=m4', '-F', `file=<${f}`], /part "file" has no filename, so it is not a file/],
      [['-F', 'name=m5', '-F', 'colour=red', '-F', `file=@${f}`], /unknown field "colour": an upload takes _csrf, name, format, replace, filename and one file part/],
      [['-F', 'name=bad name', '-F', `file=@${f}`], /invalid dataset name "bad name"/],
      [['-F', 'name=m6', '-F', `label=${'x'.repeat(5000)}`, '-F', `file=@${f}`], /unknown field "label"/],
      [['-F', 'name=m7', '-F', `format=${'x'.repeat(5000)}`, '-F', `file=@${f}`], /field "format" is longer than 4096 bytes/],
      [['-H', 'Content-Type: multipart/form-data', '--data-binary', 'junk'], /malformed multipart\/form-data: Multipart: Boundary not found/],
    ];
    for (const [args, message] of cases) {
      const r = await curl([...args, `${url}/api/datasets`]);
      assert.ok(r.status === 400 || r.status === 413, `${args.join(' ')}: ${r.status} ${r.text}`);
      assert.match(r.json.error, message, args.join(' '));
    }
    for (const name of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']) assert.deepEqual(await keysOf(name), [], `${name}: nothing kept`);
    const page = await curl(['--form-string', 'name=<img src=x>', '-F', `file=@${f}`, `${url}/datasets`]);
    assert.equal(page.status, 400, 'the form\'s action answers with the form again');
    assert.match(page.text, /<p class="result error" role="alert">invalid dataset name &quot;&lt;img src=x&gt;&quot;/, 'the reason, escaped');
  });

  if (!topology.cluster) test('a body that is neither multipart nor a file is a 415 listing the accepted types', async () => {
    const f = tmpFile('j.txt', 'hello\n');
    const cases: string[][] = [
      ['-H', 'Content-Type: application/json', '-d', '{"a":1}', `${url}/api/datasets?name=j1`],
      ['-d', 'hello', `${url}/api/datasets?name=j2`],
      ['-X', 'POST', '-H', 'Content-Type:', '--data-binary', `@${f}`, `${url}/api/datasets?name=j3`],
      ['-F', `file=@${f}`, '-H', 'Content-Type: application/xml', `${url}/api/datasets?name=j5`],
    ];
    for (const args of cases) {
      const r = await curl(args);
      assert.equal(r.status, 415, `${args.join(' ')}: ${r.text}`);
      assert.match(r.json.error, /is not an upload: send multipart\/form-data with one file part \(curl -F file=@PATH\), or the file itself as application\/octet-stream, text\/plain, text\/csv/);
    }
    for (const args of [['-T', f, '-H', 'Content-Type: application/json'], ['-X', 'PUT', '-F', `file=@${f}`]]) {
      const put = await curl([...args, `${url}/api/datasets/j4`]);
      assert.equal(put.status, 415, `${args.join(' ')}: ${put.text}`);
      assert.match(put.json.error, /is not an upload by PUT: send the file itself as application\/octet-stream, text\/plain, text\/csv or with no Content-Type \(curl -T PATH\); multipart goes to POST \/api\/datasets/);
    }
    const json = await curl(['-H', 'Content-Type: application/json', '-d', '{}', `${url}/api/datasets?name=j1`]);
    assert.match(json.json.error, /^Content-Type "application\/json" is not an upload/);
    const bare = await curl(['-X', 'POST', '-H', 'Content-Type:', '--data-binary', `@${f}`, `${url}/api/datasets?name=j3`]);
    assert.match(bare.json.error, /^a body without a Content-Type is not an upload/);
    const form = await curl(['-H', 'Content-Type: application/json', '-d', '{}', `${url}/datasets`]);
    assert.equal(form.status, 415, 'the form\'s action too');
    assert.match(form.text, /is not an upload/);
    for (const n of ['j1', 'j2', 'j3', 'j4', 'j5']) assert.deepEqual(await keysOf(n), [], `${n}: nothing kept`);
  });

  test('raw bodies: POST with a file type, PUT to the name (409 when taken, unless replace=1), and a PUT without a name says where to', async () => {
    const f = tmpFile('r.txt', 'alpha\nbeta\n');
    for (const type of ['application/octet-stream', 'text/plain', 'text/plain; charset=utf-8', 'text/csv']) {
      const name = `r-${type.replace(/[^a-z]/g, '')}`;
      const r = await curl(['-H', `Content-Type: ${type}`, '--data-binary', `@${f}`, `${url}/api/datasets?name=${name}&format=text`]);
      assert.equal(r.status, 201, `${type}: ${r.text}`);
      assert.equal((await stored(r.json.dataset)).toString(), 'alpha\nbeta\n', type);
    }
    const put = await curl(['-T', f, `${url}/api/datasets/r-put`]);
    assert.equal(put.status, 201, put.text);
    const again = await curl(['-T', f, `${url}/api/datasets/r-put`]);
    assert.equal(again.status, 409);
    assert.match(again.json.error, /dataset "r-put" already exists; tick "replace" \(API: replace=1\)/);
    const replaced = await curl(['-T', tmpFile('r2.txt', 'gamma\n'), `${url}/api/datasets/r-put?replace=1`]);
    assert.equal(replaced.status, 201, replaced.text);
    assert.equal((await stored(replaced.json.dataset)).toString(), 'gamma\n');
    const trailing = await curl(['-T', tmpFile('tri2.csv', 'a,b\n'), `${url}/api/datasets/`]);
    assert.equal(trailing.status, 201, `curl -T to a URL ending in / appends the file's name: ${trailing.text}`);
    assert.deepEqual([trailing.json.dataset.name, trailing.json.dataset.format], ['tri2.csv', 'edges']);
    const stdin = await sh(`printf 'from\\nstdin\\n' | curl -sS -T - ${url}/api/datasets/r-stdin`);
    assert.equal(JSON.parse(stdin.stdout).dataset.records, 2, 'a chunked body from stdin');
    const old = await curl(['-T', f, `${url}/api/datasets?name=g`]);
    assert.equal(old.status, 404);
    assert.match(old.json.error, /PUT the file to \/api\/datasets\/NAME/);
  });

  test('Expect: 100-continue: an upload too large by its Content-Length gets its 413 instead of the go-ahead; one that fits gets 100 Continue, then is stored', async () => {
    /** Sends the headers only and returns the first status line the console answers with. */
    const firstStatus = (path: string, length: number) => new Promise<{ line: string; socket: Socket }>((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const socket = connect(Number(port), hostname, () => {
        socket.write(`PUT ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: text/plain\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`);
      });
      socket.once('data', (chunk) => resolve({ line: chunk.toString('latin1').split('\r\n')[0]!, socket }));
      socket.once('error', reject);
    });
    const big = await firstStatus('/api/datasets/expect-big', 3_000_000);
    big.socket.destroy();
    assert.equal(big.line, 'HTTP/1.1 413 Payload Too Large', 'refused on its headers, before the client sends a byte');
    assert.deepEqual(await keysOf('expect-big'), []);
    const body = 'one\ntwo\n';
    const fits = await firstStatus('/api/datasets/expect-fits', body.length);
    assert.equal(fits.line, 'HTTP/1.1 100 Continue');
    const answer = new Promise<string>((resolve) => {
      let text = '';
      fits.socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (/\r\n\r\n[\s\S]*\}/.test(text)) resolve(text);
      });
    });
    fits.socket.write(body);
    const reply = await answer;
    fits.socket.destroy();
    assert.match(reply.split('\r\n')[0]!, /^HTTP\/1\.1 201 /);
    const meta = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)).dataset as DatasetMeta;
    assert.equal((await stored(meta)).toString(), body);
  });

  test('over the upload limit: 413, and nothing published (multipart, raw, and chunked without a length)', async () => {
    const big = tmpFile('big.txt', `${'x'.repeat(99)}\n`.repeat(20_001));
    const cases: [string, string[]][] = [
      ['big1', ['-F', 'name=big1', '-F', `file=@${big}`, `${url}/api/datasets`]],
      ['big2', ['-T', big, `${url}/api/datasets/big2`]],
      ['big3', ['-H', 'Transfer-Encoding: chunked', '-H', 'Content-Type: text/plain', '--data-binary', `@${big}`, `${url}/api/datasets?name=big3`]],
      ['big4', ['-H', 'Transfer-Encoding: chunked', '-F', 'name=big4', '-F', `file=@${big}`, `${url}/api/datasets`]],
    ];
    for (const [name, args] of cases) {
      const r = await curl(args);
      assert.equal(r.status, 413, `${name}: ${r.text}`);
      assert.match(r.json.error, /this console accepts up to 1\.9 MiB per upload \(TANDEM_CONSOLE_UPLOAD_MAX_BYTES\)/, name);
      assert.deepEqual(await keysOf(name), [], `${name}: nothing kept`);
    }
    const fits = await curl(['-F', 'name=fits', '-F', `file=@${tmpFile('fits.txt', `${'x'.repeat(99)}\n`.repeat(19_999))}`, `${url}/api/datasets`]);
    assert.equal(fits.status, 201, `just under the limit, with the multipart envelope on top: ${fits.text}`);
  });

  test('a multipart upload cut off mid-file publishes nothing, and the console carries on', async () => {
    const boundary = 'cutoffboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\ncut\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.txt"\r\n\r\n`;
    await new Promise<void>((resolve) => {
      const req = request(`${url}/api/datasets`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': '1500000' } });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(head);
      req.write(`${'z'.repeat(99)}\n`.repeat(5000), () => req.destroy());
    });
    assert.deepEqual(await keysOf('cut'), [], 'nothing kept');
    const again = await curl(['-F', 'name=cut', '-F', `file=@${tmpFile('cut.txt', 'whole\n')}`, `${url}/api/datasets`]);
    assert.equal(again.status, 201, `the console still answers, and the name is free: ${again.text}`);
    assert.equal((await stored(again.json.dataset)).toString(), 'whole\n');
  });

  if (!topology.cluster) test('a browser\'s multipart form needs its form token before the file: a wrong, late or missing one stores nothing', async () => {
    const f = tmpFile('b.txt', 'browser\n');
    const browser = ['-H', `Origin: ${url}`, '-H', 'Sec-Fetch-Site: same-origin'];
    const cases: [string, string[], number, RegExp][] = [
      ['b1', ['-F', '_csrf=wrong', '-F', 'name=b1', '-F', `file=@${f}`], 403, /missing or stale form token: the _csrf field must come before the file part/],
      ['b2', ['-F', 'name=b2', '-F', `file=@${f}`], 403, /missing or stale form token/],
      ['b3', ['-F', 'name=b3', '-F', `file=@${f}`, '-F', `_csrf=${csrf}`], 403, /the _csrf field must come before the file part/],
      ['b4', ['-F', `_csrf=${csrf}`, '-F', 'name=b4'], 400, /no file part/],
      ['b5', ['-F', '_csrf=wrong', '-F', 'name=b5'], 403, /missing or stale form token/],
    ];
    for (const [name, args, status, message] of cases) {
      for (const route of ['/api/datasets', '/datasets']) {
        const r = await curl([...browser, ...args, `${url}${route}`]);
        assert.equal(r.status, status, `${name} ${route}: ${r.text}`);
        assert.match(r.json.error ?? r.text, message, `${name} ${route}`);
      }
      assert.deepEqual(await keysOf(name), [], `${name}: nothing kept`);
    }
    const raw = await curl([...browser, '-H', 'Content-Type: text/plain', '--data-binary', `@${f}`, `${url}/api/datasets?name=b6`]);
    assert.equal(raw.status, 403, 'a raw body from a browser needs the X-CSRF-Token header');
    const other = await curl(['-H', 'Origin: https://evil.example', '-H', 'Sec-Fetch-Site: cross-site', '-F', `_csrf=${csrf}`, '-F', 'name=b7', '-F', `file=@${f}`, `${url}/datasets`]);
    assert.equal(other.status, 403, 'a cross-site form is refused even with the token');
    const good = await curl([...browser, '-F', `_csrf=${csrf}`, '-F', 'name=b8', '-F', `file=@${f}`, `${url}/datasets`]);
    assert.equal(good.status, 303, good.text);
    for (const n of ['b6', 'b7']) assert.deepEqual(await keysOf(n), [], `${n}: nothing kept`);
    const lockedNoToken = await curl(['-F', 'name=b9', '-F', `file=@${f}`, `${locked}/api/datasets`]);
    assert.equal(lockedNoToken.status, 401, 'a locked console needs its token');
    assert.deepEqual(await keysOf('b9'), []);
  });

  if (!topology.cluster) test('JSON job parameters: numbers and booleans as well as strings, each checked against the declared schema', async () => {
    await curl(['-T', tmpFile('p.txt', 'one\ntwo\n'), `${url}/api/datasets/ptext`]);
    const submit = (params: unknown) => call(`${url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'paramtypes', dataset: 'ptext', params }) });
    const typed = await submit({ flag: true, count: 3, ratio: 0.25, label: 'x' });
    assert.equal(typed.status, 201, typed.text);
    assert.deepEqual((await call(`${url}/api/jobs/${typed.json.jobId}`)).json.params, { flag: true, count: 3, ratio: 0.25, label: 'x' });
    const strings = await submit({ flag: 'false', count: '7', ratio: '1' });
    assert.equal(strings.status, 201, strings.text);
    assert.deepEqual((await call(`${url}/api/jobs/${strings.json.jobId}`)).json.params, { flag: false, count: 7, ratio: 1, label: '' }, 'strings come back as the declared types');
    const bad: [unknown, RegExp][] = [
      [{ flag: 1 }, /parameter "flag": must be true or false \(got 1\)/],
      [{ flag: 'yes' }, /parameter "flag": must be true or false \(got "yes"\)/],
      [{ count: true }, /parameter "count": must be a whole number from 1 to 100 \(got true\)/],
      [{ count: 2.5 }, /parameter "count": must be a whole number from 1 to 100 \(got 2\.5\)/],
      [{ ratio: false }, /parameter "ratio": must be from 0 to 1 \(got false\)/],
      [{ label: 5 }, /parameter "label": must be text \(got 5\)/],
      [{ label: ['x'] }, /params\.label/],
    ];
    for (const [params, message] of bad) {
      const r = await submit(params);
      assert.equal(r.status, 400, `${JSON.stringify(params)}: ${r.text}`);
      assert.match(r.json.error, message, JSON.stringify(params));
    }
  });
});
