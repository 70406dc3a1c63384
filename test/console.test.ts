// The web console (issue 5) over HTTP, against real processes: every page and API route, uploads
// good and bad, jobs started from the form and followed, bull-board, the token, cross-site
// requests, escaping and body limits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { jobDataIO, roundOutput, scanJobKeys, setJobValues } from '@tandem/shared';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { startCluster, type Cluster } from './harness/cluster.ts';
import { referenceWordCount } from './harness/reference.ts';
import { call } from './harness/http.ts';
import { waitFor } from './harness/wait.ts';

const emma = readFileSync(join(repoRoot, 'datasets/austen-persuasion.txt'));
const deps = readFileSync(join(repoRoot, 'datasets/debian-python3-deps.csv'));

const csrfOf = (page: string) => /<meta name="csrf-token" content="([^"]+)">/.exec(page)![1];

describe('console over HTTP', { timeout: 300_000 }, () => {
  let c: Cluster;
  let url: string;
  let csrf: string;
  /** What a page of the console sends with a form or a script's request. */
  let browser: Record<string, string>;
  before(async () => {
    c = await startCluster({ name: 'console', workers: 2 });
    ({ url } = await c.startConsole({ TANDEM_CONSOLE_UPLOAD_MAX_BYTES: '2000000' }));
    csrf = csrfOf((await call(`${url}/`)).text);
    browser = { origin: url, 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrf };
  });
  after(async () => c?.stop());

  const upload = (name: string, body: Buffer | string, query: Record<string, string> = {}, headers: Record<string, string> = {}) =>
    call(`${url}/api/datasets?${new URLSearchParams({ name, ...query })}`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream', ...headers } });

  test('pages: overview, cluster, datasets, jobs and the new-job form render, with security headers', async () => {
    const home = await call(`${url}/`);
    assert.equal(home.status, 200);
    assert.match(home.text, /<title>Overview · Tandem<\/title>/);
    assert.match(home.text, /<a href="\/queues\/" class="ext">Queues \(bull-board\)<\/a>/, 'bull-board is linked from every page');
    assert.match(home.text, new RegExp(`primary <code class="url" title="${c.masters[0].url}">${c.masters[0].url}</code>`), 'a URL wraps to fit its card, and is whole in its title');
    assert.match(home.text, /<p class="big">2<\/p><p>online<\/p>/, 'two workers online');
    assert.match(home.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(home.headers.get('x-frame-options'), 'DENY');
    const fragment = await call(`${url}/?fragment=1`);
    assert.doesNotMatch(fragment.text, /<html/, 'a fragment is the live part only');
    const cluster = await call(`${url}/cluster`);
    assert.match(cluster.text, /<th>View number<\/th><td>1<\/td>/);
    assert.match(cluster.text, /<td>map<\/td>/);
    const api = (await call(`${url}/api/cluster`)).json;
    assert.equal(api.view.view.primary, c.masters[0].url);
    assert.equal(api.masters[0].role, 'primary');
    assert.equal(api.view.queues.workersOnline, 2);
    for (const path of ['/datasets', '/jobs', '/jobs/new']) assert.equal((await call(`${url}${path}`)).status, 200, path);
    const types = (await call(`${url}/api/job-types`)).json.types as { name: string; iterative: boolean }[];
    assert.deepEqual(types.filter((t) => ['wordcount', 'pagerank'].includes(t.name)).map((t) => [t.name, t.iterative]), [['pagerank', true], ['wordcount', false]]);
    assert.equal((await call(`${url}/static/console.js`)).status, 200);
  });

  test('uploads stream into the dataset store; each bad one is refused with its reason and leaves nothing', async () => {
    const text = await upload('persuasion', emma, { filename: 'austen-persuasion.txt' }, browser);
    assert.equal(text.status, 201, text.text);
    assert.equal(text.json.dataset.format, 'text');
    assert.equal(text.json.dataset.records, 8328);
    const graph = await upload('deps', deps, { filename: 'debian-python3-deps.csv' });
    assert.equal(graph.status, 201, 'a script without a browser\'s headers needs no form token on an open console');
    assert.equal(graph.json.dataset.format, 'edges', 'detected from the .csv file name');
    const page = await call(`${url}/datasets/deps`);
    assert.match(page.text, /python3-a38 → openssl/);
    assert.match(page.text, /19,519 edges/);
    const list = (await call(`${url}/api/datasets`)).json.datasets as { name: string }[];
    assert.deepEqual(list.map((d) => d.name), ['deps', 'persuasion']);
    assert.equal((await call(`${url}/api/datasets/deps?lines=2`)).json.head.length, 2);

    const bad: [string, Buffer | string, Record<string, string>, number, RegExp][] = [
      ['threecols', 'src,dst\na,b\na,b,c\n', { format: 'edges' }, 400, /dataset "threecols": line 3 has 3 columns, expected 2 \(src,dst\)/],
      ['binary', Buffer.from([0x68, 0x69, 0x0a, 0x00, 0xff]), {}, 400, /line 2 contains a NUL byte/],
      ['empty', '', {}, 400, /the file is empty/],
      ['latin1', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), {}, 400, /line 1 is not valid UTF-8/],
      ['persuasion', 'other text\n', {}, 409, /dataset "persuasion" already exists; tick "replace"/],
      ['bad name', 'x\n', {}, 400, /invalid dataset name "bad name"/],
      ['fmt', 'x\n', { format: 'json' }, 400, /format must be text, edges or auto/],
    ];
    // Larger than the limit: refused from its Content-Length, before the body is read, so the
    // answer comes while the client still sends (fetch would give up on the early close; curl does not).
    const big = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${url}/api/datasets?name=big`, { method: 'POST', headers: { ...browser, 'content-type': 'application/octet-stream', 'content-length': '2000001' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(65_536, 0x61));
    });
    assert.equal(big.status, 413);
    assert.match(big.body, /the file is 1\.9 MiB; this console accepts up to 1\.9 MiB per upload \(TANDEM_CONSOLE_UPLOAD_MAX_BYTES\)/);
    for (const [name, body, q, status, message] of bad) {
      const r = await upload(name, body, q, browser);
      assert.equal(r.status, status, `${name}: ${r.text}`);
      assert.match(r.json.error, message, name);
    }
    const after = (await call(`${url}/api/datasets`)).json.datasets as { name: string; records: number }[];
    assert.deepEqual(after.map((d) => [d.name, d.records]), [['deps', 19519], ['persuasion', 8328]], 'nothing half written, nothing replaced');
    const replaced = await upload('persuasion', 'now\nsmaller\n', { replace: '1' }, browser);
    assert.equal(replaced.status, 201);
    assert.equal(replaced.json.dataset.records, 2);
    assert.equal((await upload('persuasion', emma, { replace: '1' }, browser)).status, 201);
  });

  test('a job started from the form runs; its page, events, timeline, output and download follow it', async () => {
    const started = await call(`${url}/jobs`, {
      method: 'POST', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, type: 'wordcount', dataset: 'persuasion', partitions: '2', params: '' }).toString(),
    });
    assert.equal(started.status, 303, started.text);
    const id = /^\/jobs\/(\w+)$/.exec(started.headers.get('location')!)![1];
    const first = (await call(`${url}/api/jobs/${id}`)).json;
    const next = await call(`${url}/api/jobs/${id}?after=${first.version}`);
    assert.notEqual(next.json.version, first.version, 'the long poll answers with a newer version');
    await waitFor(async () => (await call(`${url}/api/jobs/${id}`)).json.phase === 'done', { what: 'the job to finish' });
    const page = await call(`${url}/jobs/${id}`);
    assert.match(page.text, /<span class="badge done">done<\/span> wordcount on <a href="\/datasets\/persuasion">persuasion<\/a>/);
    assert.match(page.text, /<svg[^>]*class="timeline"/);
    assert.match(page.text, /class="attempt committed"/);
    assert.match(page.text, /<td>task committed<\/td>/);
    assert.match(page.text, /href="\/jobs\/\w+\/output" download/);
    const reference = referenceWordCount(emma.toString('utf8'));
    assert.equal(page.text.includes(reference.split('\n').slice(0, 3).join('\n')), true, 'the first lines of the output');
    const download = await call(`${url}/jobs/${id}/output`);
    assert.equal(download.text, reference);
    assert.match(download.headers.get('content-disposition') ?? '', /attachment; filename="\w+-wordcount\.txt"/);
    assert.deepEqual((await call(`${url}/api/jobs/${id}/output?lines=2`)).json.lines, reference.split('\n').slice(0, 2));
    const events = (await call(`${url}/api/jobs/${id}/events`)).json.events as { event: { what: string } }[];
    assert.ok(events.some((e) => e.event.what === 'job done'));
    const list = await call(`${url}/jobs`);
    assert.match(list.text, new RegExp(`href="/jobs/${id}"`));
  });

  test("the cluster page's throughput charts show the job's tasks and bytes, and update in its live fragment; bull-board gets BullMQ's metrics", async () => {
    // The job of the test above ran: the workers' reports carry its tasks, the console samples them every 5 s.
    const peak = (page: string, chart: string) => Number(new RegExp(`<b>${chart}</b>: now [^<]*peak ([\\d.]+)`).exec(page)?.[1] ?? 0);
    let fragment = '';
    await waitFor(async () => {
      fragment = (await call(`${url}/cluster?fragment=1`)).text;
      return peak(fragment, 'Tasks per second') > 0;
    }, { what: 'the cluster page to chart the finished tasks', timeoutMs: 90_000, intervalMs: 1000 });
    assert.match(fragment, /<h2>Throughput<\/h2>/);
    assert.match(fragment, /<figure id="chart-tasks">[\s\S]*?<svg[^>]*class="time-chart"[\s\S]*?<polyline class="line"/);
    assert.ok(peak(fragment, 'MB per second') > 0, 'the job read and wrote bytes');
    assert.match(fragment, /<figure id="chart-queues">/);
    const page = await call(`${url}/cluster`);
    assert.match(page.text, /<div id="live" data-fragment="\/cluster\?fragment=1" data-every="2000">[\s\S]*<figure id="chart-bytes">/, 'the charts are in the live part, which the page swaps in every 2 s');
    // bull-board's throughput chart reads BullMQ's own metrics, which the workers keep.
    for (const queue of ['map', 'reduce']) {
      const board = (await call(`${url}/queues/api/queues/${queue}/metrics`)).json as { completed: { meta: { count: number } } | null };
      assert.ok((board.completed?.meta.count ?? 0) > 0, `${queue}: BullMQ counted completed tasks (${JSON.stringify(board)})`);
    }
  });

  test('PageRank from the API (parameters as JSON numbers or strings): the page shows its iterations and its convergence chart', async () => {
    const r = await call(`${url}/api/jobs`, { method: 'POST', headers: { ...browser, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'pagerank', dataset: 'deps', params: { iterations: 30, tol: '1e-9' } }) });
    assert.equal(r.status, 201, r.text);
    await waitFor(async () => (await call(`${url}/api/jobs/${r.json.jobId}`)).json.phase === 'done', { what: 'PageRank to finish' });
    const page = await call(`${url}/jobs/${r.json.jobId}`);
    assert.match(page.text, /<svg[^>]*class="convergence"/);
    assert.match(page.text, /\d+ of at most 30 iterations \(done\)/);
    // The task timeline's bars name the stage or the iteration; no round index is shown above the raw event log.
    const shown = page.text.slice(0, page.text.indexOf('<h2>Events</h2>'));
    for (const stage of ['building the graph, step 1 of 2', 'building the graph, step 2 of 2', 'iteration 1', 'writing ranks']) assert.match(shown, new RegExp(`<title>(map|reduce) \\d+ \\(${stage}\\)`), stage);
    assert.doesNotMatch(shown, /round \d/);
    assert.match(page.text, /node,rank\npython3,0\.2111997/);
    const csv = await call(`${url}/jobs/${r.json.jobId}/output`);
    assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
    assert.equal(csv.text.split('\n').length, 5712 + 2);
  });

  test('--verify from the form (a checkbox) and the API: the page says every task ran twice; an iterative type is refused with the reason', async () => {
    assert.match((await call(`${url}/jobs/new`)).text, /<input type="checkbox" name="verify" value="1"> Verify/);
    const started = await call(`${url}/jobs`, {
      method: 'POST', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, type: 'wordcount', dataset: 'persuasion', partitions: '2', verify: '1' }).toString(),
    });
    assert.equal(started.status, 303, started.text);
    const id = /^\/jobs\/(\w+)$/.exec(started.headers.get('location')!)![1];
    await waitFor(async () => (await call(`${url}/api/jobs/${id}`)).json.phase === 'done', { what: 'the verified job to finish' });
    const s = (await call(`${url}/api/jobs/${id}`)).json;
    assert.equal(s.verify.tasks, s.maps.total + s.reduces.total);
    assert.match((await call(`${url}/jobs/${id}`)).text, /<p class="verify">verified: every task ran twice, outputs identical/);
    assert.equal((await call(`${url}/jobs/${id}/output`)).text, referenceWordCount(emma.toString('utf8')));
    const refused = await call(`${url}/api/jobs`, { method: 'POST', headers: { ...browser, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'pagerank', dataset: 'deps', verify: true }) });
    assert.equal(refused.status, 400);
    assert.match(refused.json.error, /--verify runs key\/value job types only; "pagerank" is an iterative job type/);
    const bad = await call(`${url}/api/jobs`, { method: 'POST', headers: { ...browser, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'wordcount', dataset: 'persuasion', verify: 'yes' }) });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /verify/);
  });

  test('the form says what is wrong: missing pattern, unknown dataset, bad partitions, bad parameter values', async () => {
    const submit = (fields: Record<string, string>) => call(`${url}/jobs`, {
      method: 'POST', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
    });
    const cases: [Record<string, string>, RegExp][] = [
      [{ type: 'grep', dataset: 'persuasion' }, /job type &quot;grep&quot;: parameter &quot;pattern&quot;: required \(the regular expression to match/],
      [{ type: 'grep', dataset: 'persuasion', 'p.grep.pattern': '   ' }, /parameter &quot;pattern&quot;: required/],
      [{ type: 'wordcount', dataset: 'nosuch' }, /dataset &quot;nosuch&quot; does not exist/],
      [{ type: 'wordcount', dataset: 'persuasion', partitions: '0' }, /partitions must be a whole number from 1 to 1024/],
      [{ type: 'pagerank', dataset: 'deps', 'p.pagerank.iterations': 'abc' }, /parameter &quot;iterations&quot;: must be a whole number from 1 to 10000 \(got &quot;abc&quot;\)/],
      [{ type: 'pagerank', dataset: 'persuasion' }, /job type &quot;pagerank&quot; reads edges datasets; dataset &quot;persuasion&quot; is text/],
      [{ type: 'pagerank', dataset: 'deps', 'p.pagerank.damping': '2' }, /parameter &quot;damping&quot;: must be between 0 and 1 \(exclusive\) \(got &quot;2&quot;\)/],
      [{ type: 'wordcount', dataset: 'persuasion', 'p.wordcount.__proto__': 'x' }, /unknown parameter &quot;__proto__&quot;/],
    ];
    for (const [fields, message] of cases) {
      const r = await submit(fields);
      assert.equal(r.status, 400, JSON.stringify(fields));
      assert.match(r.text, message, JSON.stringify(fields));
      assert.match(r.text, /<form method="post" action="\/jobs"/, 'the form again, to correct');
    }
  });

  test('through the API, parameter values that are not what the schema allows are refused, naming the parameter and the range', async () => {
    const submit = (params: unknown) => call(`${url}/api/jobs`, { method: 'POST', headers: { ...browser, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'pagerank', dataset: 'deps', params }) });
    const jobsBefore = (await call(`${url}/api/jobs`)).json.jobs.length;
    const abc = await submit({ iterations: 'abc' });
    assert.equal(abc.status, 400, abc.text);
    assert.equal(abc.json.error, 'job type "pagerank": parameter "iterations": must be a whole number from 1 to 10000 (got "abc")');
    const far = await submit({ iterations: 100_000 });
    assert.equal(far.status, 400, far.text);
    assert.match(far.json.error, /parameter "iterations": must be a whole number from 1 to 10000 \(got 100000\)/);
    const unknown = await submit({ alpha: 0.5 });
    assert.equal(unknown.status, 400, unknown.text);
    assert.match(unknown.json.error, /unknown parameter "alpha" \(pagerank takes iterations, damping, tol\)/);
    const proto = await submit(JSON.parse('{"__proto__": "x"}'));
    assert.equal(proto.status, 400, proto.text);
    assert.match(proto.json.error, /unknown parameter "__proto__"/);
    const nested = await submit({ iterations: { n: 3 } });
    assert.equal(nested.status, 400, 'a value that is neither a string, a number nor a boolean');
    assert.match(nested.json.error, /params\.iterations/);
    assert.equal((await call(`${url}/api/jobs`)).json.jobs.length, jobsBefore, 'no job was created');
  });

  test("the new-job form is drawn from the job types' schemas: an input per parameter with its kind, default, bounds and description", async () => {
    const page = (await call(`${url}/jobs/new?type=pagerank`)).text;
    assert.match(page, /<fieldset class="params" data-for="pagerank">/, 'the chosen type is shown');
    assert.match(page, /<fieldset class="params" data-for="wordcount" hidden>[\s\S]*?No parameters\./);
    assert.match(page, /<input name="p\.pagerank\.iterations" type="number" step="1" min="1" max="10000" value="20">/);
    assert.match(page, /<input name="p\.pagerank\.damping" type="number" step="any" min="0" max="1" value="0\.85">/);
    assert.match(page, /<input name="p\.pagerank\.tol" type="number" step="any" min="0" value="1e-8">/);
    assert.match(page, /iterations <span class="hint">iterations at most; a whole number from 1 to 10000<\/span>/);
    assert.match(page, /pattern <span class="hint">the regular expression to match \(JavaScript syntax\); text; required<\/span>/);
    assert.match(page, /partitions unless set: one per worker online/);
    assert.match(page, /<input name="p\.grep\.pattern" value="" data-required>/);
    assert.match(page, /<input name="p\.grep\.flags" pattern="\[imsu\]\*" value="">/);
    // A type from the jobs folder gets its form the same way: nothing in the console knows it.
    assert.match(page, /<select name="p\.timing\.phase" data-required><option value="" selected><\/option><option>map<\/option><option>reduce<\/option><\/select>/);
    assert.match(page, /<input name="p\.timing\.sleepMs" type="number" step="1" min="0" value="1000">/);
    assert.match(page, /<option value="deps" data-format="edges">/, 'PageRank reads edge lists');
    assert.match(page, /<option value="persuasion" data-format="text" disabled>/, 'and not text');
    assert.match(page, /<noscript><p class="hint">Another job type: .*<a href="\/jobs\/new\?type=wordcount">wordcount<\/a>/);
    const forDataset = (await call(`${url}/jobs/new?dataset=deps`)).text;
    assert.match(forDataset, /<option value="grep" data-formats="text,edges" selected>/, 'without a type, the first one that reads the dataset');
    assert.match(forDataset, /<option value="deps" data-format="edges" selected>/);
    const again = await call(`${url}/jobs`, {
      method: 'POST', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, type: 'pagerank', dataset: 'deps', 'p.pagerank.iterations': '0', 'p.pagerank.tol': '<b>' }).toString(),
    });
    assert.equal(again.status, 400);
    assert.match(again.text, /<input name="p\.pagerank\.iterations" type="number" step="1" min="1" max="10000" value="0">/, 'the form again, with what was posted');
    assert.match(again.text, /<input name="p\.pagerank\.tol" type="number" step="any" min="0" value="&lt;b&gt;">/, 'escaped');
    const api = (await call(`${url}/api/job-types`)).json.types as { name: string; params: unknown[]; outputFormat: string }[];
    const pagerank = api.find((t) => t.name === 'pagerank')!;
    assert.equal(pagerank.outputFormat, 'csv');
    assert.deepEqual(pagerank.params.map((p) => (p as { name: string }).name), ['iterations', 'damping', 'tol']);
    assert.deepEqual(pagerank.params[0], { name: 'iterations', type: 'integer', default: 20, min: 1, max: 10_000, required: false, description: 'iterations at most', allowed: 'a whole number from 1 to 10000' });
  });

  test('user strings are escaped; a running job can be cancelled from its page', async () => {
    const evil = '<script>alert(1)</script>';
    const r = await call(`${url}/api/jobs`, { method: 'POST', headers: { ...browser, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'grep', dataset: 'persuasion', params: { pattern: evil } }) });
    assert.equal(r.status, 201, r.text);
    const page = await call(`${url}/jobs/${r.json.jobId}`);
    assert.doesNotMatch(page.text, /<script>alert/);
    assert.match(page.text, /<code>pattern=&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/code>/);
    const slow = await call(`${url}/api/jobs`, { method: 'POST', headers: { ...browser, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'straggler', dataset: 'persuasion', params: { dir: '/tmp', hangMs: '60000' } }) });
    assert.equal(slow.status, 201, slow.text);
    const id = slow.json.jobId;
    // The job page's button asks first (a page, no JavaScript needed); the job runs on until the answer is yes.
    const form = { ...browser, 'content-type': 'application/x-www-form-urlencoded' };
    const asked = await call(`${url}/jobs/${id}/cancel`, { method: 'POST', headers: form, body: `_csrf=${encodeURIComponent(csrf)}&clientId=console-form-c1&requestId=1` });
    assert.equal(asked.status, 200);
    assert.match(asked.text, new RegExp(`<h1>Cancel job <code>${id}</code>\\?</h1>`));
    assert.match(asked.text, /<input type="hidden" name="clientId" value="console-form-c1"><input type="hidden" name="requestId" value="1"><input type="hidden" name="confirm" value="yes"><button class="danger">Yes, cancel the job<\/button>/, 'the question carries the form\'s ids on');
    assert.match(asked.text, new RegExp(`<a class="button" href="/jobs/${id}">No, let it run</a>`));
    assert.notEqual((await call(`${url}/api/jobs/${id}`)).json.phase, 'cancelled');
    const unconfirmedNoToken = await call(`${url}/jobs/${id}/cancel`, { method: 'POST', headers: { ...form, 'x-csrf-token': '' }, body: 'confirm=yes' });
    assert.equal(unconfirmedNoToken.status, 403, 'the confirmation needs the form token too');
    const cancel = await call(`${url}/jobs/${id}/cancel`, { method: 'POST', headers: form, body: `_csrf=${encodeURIComponent(csrf)}&clientId=console-form-c1&requestId=1&confirm=yes` });
    assert.equal(cancel.status, 303);
    assert.equal((await call(`${url}/api/jobs/${id}`)).json.phase, 'cancelled');
    const again = await call(`${url}/api/jobs/${id}/cancel`, { method: 'POST', headers: browser });
    assert.equal(again.status, 409, 'cancelling a cancelled job conflicts with its state');
    assert.equal(again.json.code, 'conflict');
    assert.match(again.json.error, /already cancelled/);
  });

  test("a dataset is deleted from its page, after a confirmation; without the form token, refused", async () => {
    assert.equal((await upload('doomed', 'one\ntwo\n', { filename: 'doomed.txt' }, browser)).status, 201);
    const page = await call(`${url}/datasets/doomed`);
    assert.match(page.text, /<form method="post" action="\/datasets\/doomed\/delete" class="inline"><input type="hidden" name="_csrf" value="[^"]+"><button class="danger">Delete the dataset<\/button><\/form>/);
    const form = { ...browser, 'content-type': 'application/x-www-form-urlencoded' };
    const asked = await call(`${url}/datasets/doomed/delete`, { method: 'POST', headers: form, body: `_csrf=${encodeURIComponent(csrf)}` });
    assert.equal(asked.status, 200);
    assert.match(asked.text, /<h1>Delete dataset doomed\?<\/h1>/);
    assert.match(asked.text, /text, 2 lines, .*jobs reading it now fail/s);
    assert.match(asked.text, /<input type="hidden" name="confirm" value="yes"><button class="danger">Yes, delete doomed<\/button>/);
    assert.equal((await call(`${url}/api/datasets/doomed`)).status, 200, 'still there until the answer is yes');
    const noToken = await call(`${url}/datasets/doomed/delete`, { method: 'POST', headers: { ...form, 'x-csrf-token': '' }, body: 'confirm=yes' });
    assert.equal(noToken.status, 403);
    assert.equal((await call(`${url}/api/datasets/doomed`)).status, 200);
    const deleted = await call(`${url}/datasets/doomed/delete`, { method: 'POST', headers: form, body: `_csrf=${encodeURIComponent(csrf)}&confirm=yes` });
    assert.equal(deleted.status, 303);
    assert.equal(deleted.headers.get('location'), '/datasets');
    assert.equal((await call(`${url}/api/datasets/doomed`)).status, 404);
    const twice = await call(`${url}/datasets/doomed/delete`, { method: 'POST', headers: form, body: `_csrf=${encodeURIComponent(csrf)}&confirm=yes` });
    assert.equal(twice.status, 404);
    assert.match(twice.text, /dataset &quot;doomed&quot; does not exist/);
  });

  test('cross-site requests, stale form tokens and oversized bodies are refused; unknown things are 404', async () => {
    const job = JSON.stringify({ type: 'wordcount', dataset: 'persuasion' });
    const json = { 'content-type': 'application/json' };
    const crossSite = await call(`${url}/api/jobs`, { method: 'POST', headers: { ...json, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }, body: job });
    assert.equal(crossSite.status, 403);
    assert.match(crossSite.json.error, /refused a cross-site request/);
    const otherOrigin = await call(`${url}/jobs`, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${csrf}&type=wordcount&dataset=persuasion` });
    assert.equal(otherOrigin.status, 403, 'a form posted from another site, even with a token it somehow has');
    const noToken = await call(`${url}/api/jobs`, { method: 'POST', headers: { ...json, 'sec-fetch-site': 'same-origin' }, body: job });
    assert.equal(noToken.status, 403);
    assert.match(noToken.json.error, /missing or stale form token/);
    const uploadNoToken = await upload('sneaky', 'x\n', {}, { origin: url });
    assert.equal(uploadNoToken.status, 403);
    const big = await call(`${url}/api/jobs`, { method: 'POST', headers: { ...browser, ...json }, body: JSON.stringify({ type: 'wordcount', dataset: 'persuasion', params: { x: 'y'.repeat(100_000) } }) });
    assert.equal(big.status, 413);
    assert.equal((await call(`${url}/nowhere`)).status, 404);
    assert.match((await call(`${url}/nowhere`)).text, /<title>Not found · Tandem<\/title>/);
    assert.equal((await call(`${url}/api/nowhere`)).json.ok, false);
    assert.equal((await call(`${url}/jobs/jnosuchjob`)).status, 404);
    assert.equal((await call(`${url}/api/jobs/jnosuchjob`)).status, 404);
    assert.equal((await call(`${url}/datasets/nosuch`)).status, 404);
  });

  test("the cluster page's gc forms: a dry run lists job data no job owns, the other frees it; without the form token, refused", async () => {
    const r = c.redis.client();
    await setJobValues(jobDataIO(r, c.keys), 'jconsoleorphan', [{ at: roundOutput(0, 0), value: Buffer.alloc(5000, 'o') }]);
    const page = await call(`${url}/cluster`);
    assert.match(page.text, /<form method="post" action="\/cluster\/gc" class="inline"><input type="hidden" name="_csrf" value="[^"]+"><input type="hidden" name="dryRun" value="1"><button>List what gc would free<\/button><\/form>/);
    const form = (fields: Record<string, string>, headers: Record<string, string> = browser) =>
      call(`${url}/cluster/gc`, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    const dry = await form({ _csrf: csrf, dryRun: '1' });
    assert.equal(dry.status, 200);
    assert.match(dry.text, /Would free <b>1<\/b> keys \(<b>[\d.]+ KiB<\/b>\) of 1 job that no job in the table owns\.[\s\S]*<code>jconsoleorphan<\/code>/);
    assert.equal((await scanJobKeys(r, c.keys)).has('jconsoleorphan'), true);
    const refused = await form({ dryRun: '' }, { origin: url, 'sec-fetch-site': 'same-origin' });
    assert.equal(refused.status, 403, 'no form token');
    assert.equal((await scanJobKeys(r, c.keys)).has('jconsoleorphan'), true);
    const freed = await form({ _csrf: csrf });
    assert.match(freed.text, /Freed <b>1<\/b> keys/);
    assert.equal((await scanJobKeys(r, c.keys)).has('jconsoleorphan'), false);
  });

  test('bull-board at /queues shows the map and reduce queues, read-only', async () => {
    const board = await call(`${url}/queues/`);
    assert.equal(board.status, 200);
    assert.match(board.text, /<title>/);
    assert.doesNotMatch(board.text, /(href|src)="(https?:)?\/\//, 'nothing from another site, such as web fonts');
    assert.match(board.text, /static\/css\/main\.[\w.]+\.css/, 'its own styles are still linked');
    const config = JSON.parse(/<script id="__UI_CONFIG__" type="application\/json">([\s\S]*?)<\/script>/.exec(board.text)![1]);
    assert.deepEqual(config.miscLinks, [{ text: 'Back to the console', url: '/' }], 'a link back to the console');
    assert.match(board.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const queues = (await call(`${url}/queues/api/queues`)).json.queues as { name: string; readOnlyMode: boolean }[];
    assert.deepEqual(queues.map((q) => q.name).sort(), ['map', 'reduce']);
    assert.ok(queues.every((q) => q.readOnlyMode));
  });

  test('with TANDEM_CONSOLE_TOKEN every page, API and bull-board needs the token: login cookie or bearer header', async () => {
    const token = 'correct-horse-battery';
    const locked = await c.startConsole({ TANDEM_CONSOLE_TOKEN: token });
    const u = locked.url;
    const home = await call(`${u}/`);
    assert.equal(home.status, 303);
    assert.equal(home.headers.get('location'), '/login?next=%2F');
    for (const path of ['/api/jobs', '/api/datasets', '/queues/api/queues']) assert.equal((await call(`${u}${path}`)).status, 401, path);
    const board = await call(`${u}/queues/`);
    assert.equal(board.status, 303, 'bull-board too');
    assert.equal((await call(`${u}/static/console.css`)).status, 200, 'the style sheet is public');
    const wrong = await call(`${u}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: u }, body: 'token=guess&next=%2Fcluster' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /That is not the token/);
    const login = await call(`${u}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: u }, body: `token=${token}&next=%2Fcluster` });
    assert.equal(login.status, 303);
    assert.equal(login.headers.get('location'), '/cluster');
    const cookie = login.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.doesNotMatch(cookie, new RegExp(token), 'the cookie is not the token');
    const session = cookie.split(';')[0];
    const page = await call(`${u}/cluster`, { headers: { cookie: session } });
    assert.equal(page.status, 200);
    const lockedCsrf = csrfOf(page.text);
    assert.equal((await call(`${u}/queues/api/queues`, { headers: { cookie: session } })).status, 200);
    assert.equal((await call(`${u}/api/jobs`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await call(`${u}/api/jobs`, { headers: { authorization: 'Bearer nope' } })).status, 401);
    const job = JSON.stringify({ type: 'wordcount', dataset: 'persuasion' });
    const noCsrf = await call(`${u}/api/jobs`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json' }, body: job });
    assert.equal(noCsrf.status, 403, 'a cookie alone cannot change anything');
    const withCsrf = await call(`${u}/api/jobs`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json', 'x-csrf-token': lockedCsrf, origin: u }, body: job });
    assert.equal(withCsrf.status, 201, withCsrf.text);
    const script = await call(`${u}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: job });
    assert.equal(script.status, 201, 'a script with the bearer token needs no form token');
    const outside = await call(`${u}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}&next=//evil.example/` });
    assert.equal(outside.headers.get('location'), '/', 'login never sends the browser to another site');
    const logout = await call(`${u}/logout`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded', origin: u }, body: `_csrf=${lockedCsrf}` });
    assert.match(logout.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal((await call(`${u}/cluster`, { headers: { cookie: session } })).status, 303, 'logout revoked the session: its cookie replayed gets the login form');
    assert.equal((await call(`${u}/api/jobs`, { headers: { cookie: session } })).status, 401);
    const again = await call(`${u}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: u }, body: `token=${token}&next=%2F` });
    assert.notEqual(again.headers.get('set-cookie')!.split(';')[0], session, 'each login is a new session');
    const logs = readdirSync(c.outDir).filter((f) => f.startsWith('console-')).map((f) => readFileSync(join(c.outDir, f), 'utf8'));
    const log = logs.find((l) => l.includes('"token":"required"'))!;
    assert.match(log, /"url":"http:\/\/127\.0\.0\.1:\d+\/"/, 'it listens on 127.0.0.1 by default');
    assert.match(log, /"token":"required"/);
  });
});
