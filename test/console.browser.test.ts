// The console in a real browser (Debian's Chromium driven by playwright-core): upload a text file
// through the form, start a word count from the job form, watch its page reach done without a
// reload, download the output and compare it with the reference; the same for PageRank on a CSV;
// then bull-board's queues, which load nothing from another site; every page at 400 px wide;
// and the upload form with JavaScript off. Screenshots go to test-output/console-browser/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildGraph, powerIteration } from '@tandem/jobs';
import { parse } from 'csv-parse/sync';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { startCluster, type Cluster } from './harness/cluster.ts';
import { referenceWordCount } from './harness/reference.ts';

const book = join(repoRoot, 'datasets/austen-persuasion.txt');
const graph = join(repoRoot, 'datasets/debian-python3-deps.csv');

describe('console in a browser', { timeout: 300_000 }, () => {
  let c: Cluster;
  let url: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const shots = () => c.outDir;
  /** The jobs run from the forms, by type. */
  const jobs: Record<string, string> = {};

  before(async () => {
    c = await startCluster({ name: 'console-browser', workers: 2 });
    ({ url } = await c.startConsole());
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
    page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
    // This machine has no internet: a page that reached for another site would log an error here.
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${page.url()}: ${m.text()}`);
    });
  });
  after(async () => {
    await browser?.close();
    await c?.stop();
  });

  /** Uploads a file through the datasets page's form and lands on the dataset's page. */
  async function uploadThroughForm(file: string, name: string): Promise<void> {
    await page.goto(`${url}/datasets`);
    await page.setInputFiles('#upload-form input[name=file]', file);
    assert.equal(await page.inputValue('#upload-form input[name=name]'), name, 'the name comes from the file name');
    await page.click('#upload-form button[type=submit]');
    // A function, not a string: the console's Content-Security-Policy forbids eval.
    const full = () => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document.querySelector('#upload-form .pct')?.textContent === '100%';
    await page.waitForFunction(full, undefined, { timeout: 30_000 });
    await page.waitForURL(`${url}/datasets/${name}`, { timeout: 30_000 });
  }

  /** Submits a file on the datasets page's form that it refuses; the reason it shows. */
  async function refusedUpload(p: Page, base: string, file: string, content: string): Promise<string> {
    const path = join(c.outDir, file);
    writeFileSync(path, content);
    await p.goto(`${base}/datasets`);
    await p.setInputFiles('#upload-form input[name=file]', path);
    await p.click('#upload-form button[type=submit]');
    const error = p.locator('#upload-form .result.error');
    await error.waitFor({ timeout: 30_000 });
    return (await error.textContent()) ?? '';
  }

  /** Starts a job from the form and waits, on its page, for the live view to say done. */
  async function runFromForm(type: string, dataset: string, fields: Record<string, string> = {}): Promise<string> {
    await page.goto(`${url}/jobs/new?dataset=${dataset}`);
    await page.selectOption('#job-type', type);
    for (const [name, value] of Object.entries(fields)) await page.fill(`input[name="${name}"]`, value);
    await page.click('#new-job button[type=submit]');
    await page.waitForURL(/\/jobs\/j\w+$/);
    const id = page.url().split('/').pop()!;
    // The page is not reloaded: its script follows the job and swaps in each new state.
    await page.waitForSelector('#live .badge.done', { timeout: 60_000 });
    return id;
  }

  async function download(): Promise<string> {
    const [file] = await Promise.all([page.waitForEvent('download'), page.click('a[download]')]);
    return readFileSync(await file.path(), 'utf8');
  }

  test('upload a book through the form, run a word count from the job form, download the output', async () => {
    await uploadThroughForm(book, 'austen-persuasion');
    assert.match(await page.textContent('table.kv') ?? '', /8,328 lines/);
    await page.screenshot({ path: join(shots(), 'dataset.png'), fullPage: true });
    jobs.wordcount = await runFromForm('wordcount', 'austen-persuasion');
    assert.match(await page.textContent('#live') ?? '', /map: 1\/1 tasks/);
    assert.equal(await page.locator('svg.timeline rect.attempt').count() >= 2, true, 'a bar per attempt on the task timeline');
    await page.screenshot({ path: join(shots(), 'job.png'), fullPage: true });
    assert.equal(await download(), referenceWordCount(readFileSync(book, 'utf8')));
  });

  test('upload a graph, run PageRank from the form: the convergence chart and the ranks', async () => {
    await uploadThroughForm(graph, 'debian-python3-deps');
    assert.match(await page.textContent('table.kv') ?? '', /edges/, 'a .csv file is taken as an edge list');
    jobs.pagerank = await runFromForm('pagerank', 'debian-python3-deps', { 'p.pagerank.tol': '1e-10', 'p.pagerank.iterations': '100' });
    assert.equal(await page.locator('svg.convergence circle').count(), 22, 'one point per iteration');
    const events = page.locator('details#events');
    assert.equal(await events.evaluate((d) => (d as unknown as { open: boolean }).open), false, 'the events list starts closed');
    assert.match(await events.locator('summary').textContent() ?? '', /^All \d+ events from the master and the workers/);
    assert.equal(await page.locator('table.events.latest tbody tr').count(), 5, 'the latest events are shown anyway');
    await events.locator('summary').click();
    assert.equal(await events.locator('table.events').isVisible(), true, 'the summary opens the list');
    await page.screenshot({ path: join(shots(), 'pagerank.png'), fullPage: false });
    const ranks = parse(await download(), { from_line: 2 }) as [string, string][];
    const g = buildGraph(parse(readFileSync(graph), { from_line: 2 }) as [string, string][]);
    const want = powerIteration(g, { tol: 1e-10, iterations: 100 }).ranks;
    assert.equal(ranks.length, g.ids.length);
    const got = new Map(ranks.map(([id, r]) => [id, Number(r)]));
    g.ids.forEach((id, i) => assert.ok(Math.abs(got.get(id)! - want[i]) < 1e-12, id));
  });

  test('a bad file is refused on the form with the line that is wrong, and nothing is kept', async () => {
    const error = await refusedUpload(page, url, 'bad-graph.csv', 'src,dst\na,b\nb,c,d\n');
    assert.match(error, /dataset "bad-graph": line 3 has 3 columns, expected 2 \(src,dst\)/);
    // Chromium logs the refusal (a 400) as a failed resource; that one was asked for.
    const expected = problems.findIndex((p) => p.endsWith('/datasets: Failed to load resource: the server responded with a status of 400 (Bad Request)'));
    assert.ok(expected >= 0);
    problems.splice(expected, 1);
    await page.screenshot({ path: join(shots(), 'datasets.png'), fullPage: true });
    await page.reload();
    assert.doesNotMatch(await page.textContent('main') ?? '', /bad-graph/, 'no half-written dataset');
  });

  test('without JavaScript the upload form still works: a plain multipart POST, then the dataset\'s page or the reason', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 1000 } });
    const plain = await context.newPage();
    const file = join(c.outDir, 'tri.csv');
    writeFileSync(file, 'a,b\nb,c\nc,a\n');
    try {
      await plain.goto(`${url}/datasets`);
      await plain.fill('#upload-form input[name=name]', 'tri-nojs');
      await plain.setInputFiles('#upload-form input[name=file]', file);
      await plain.click('#upload-form button[type=submit]');
      await plain.waitForURL(`${url}/datasets/tri-nojs`);
      assert.match(await plain.textContent('table.kv') ?? '', /3 edges/);
      assert.match(await plain.textContent('pre.head') ?? '', /^a → b\nb → c\nc → a$/);
      // No name: the file's name without its extension, as the script would have proposed.
      await plain.goto(`${url}/datasets`);
      await plain.setInputFiles('#upload-form input[name=file]', file);
      await plain.click('#upload-form button[type=submit]');
      await plain.waitForURL(`${url}/datasets/tri`);
      // A refusal: the form again, with the reason.
      assert.equal(await refusedUpload(plain, url, 'bad-nojs.csv', 'src,dst\na,b\nb,c,d\n'), 'dataset "bad-nojs": line 3 has 3 columns, expected 2 (src,dst); a file that is not a graph can be stored as lines of text instead (format text: --format text)');
      await plain.screenshot({ path: join(shots(), 'datasets-nojs.png'), fullPage: true });
      // A console with a token: log in and upload, all without scripts (the session's form token rides in the form).
      const locked = await c.startConsole({ TANDEM_CONSOLE_TOKEN: 'browser-nojs-token' });
      await plain.goto(`${locked.url}/datasets`);
      await plain.waitForURL(/\/login\?next=%2Fdatasets$/);
      await plain.fill('input[name=token]', 'browser-nojs-token');
      await plain.click('form button[type=submit]');
      await plain.waitForURL(`${locked.url}/datasets`);
      await plain.fill('#upload-form input[name=name]', 'tri-locked');
      await plain.setInputFiles('#upload-form input[name=file]', file);
      await plain.click('#upload-form button[type=submit]');
      await plain.waitForURL(`${locked.url}/datasets/tri-locked`);
    } finally {
      await context.close();
    }
  });

  test('the jobs list and the new-job form, fitted to PageRank', async () => {
    await page.goto(`${url}/jobs`);
    assert.equal(await page.locator('table.jobs tbody tr').count(), 2);
    await page.screenshot({ path: join(shots(), 'jobs.png'), fullPage: true });
    await page.goto(`${url}/jobs/new`);
    await page.selectOption('#job-type', 'pagerank');
    assert.equal(await page.isVisible('fieldset[data-for="pagerank"]'), true);
    assert.equal(await page.isVisible('fieldset[data-for="grep"]'), false);
    assert.equal(await page.locator('#job-dataset option:not([disabled])').allTextContents().then((o) => o.every((t) => t.includes('edges'))), true, 'only edge lists for PageRank');
    await page.screenshot({ path: join(shots(), 'new-job.png'), fullPage: true });
  });

  test('with a token, the console asks for it first', async () => {
    const locked = await c.startConsole({ TANDEM_CONSOLE_TOKEN: 'browser-test-token' });
    await page.goto(`${locked.url}/cluster`);
    await page.waitForURL(/\/login\?next=%2Fcluster$/);
    await page.screenshot({ path: join(shots(), 'login.png') });
    await page.fill('input[name=token]', 'browser-test-token');
    await page.click('form button[type=submit]');
    await page.waitForURL(`${locked.url}/cluster`);
    assert.match(await page.textContent('main') ?? '', /Acknowledged by the primary/);
  });

  test('the overview and the cluster page; bull-board shows the map and reduce queues', async () => {
    await page.goto(`${url}/`);
    assert.match(await page.textContent('#live') ?? '', /2\s*online/);
    await page.screenshot({ path: join(shots(), 'overview.png'), fullPage: true });
    await page.goto(`${url}/cluster`);
    assert.match(await page.textContent('main') ?? '', /Acknowledged by the primary\s*yes/);
    assert.match(await page.textContent('main') ?? '', /2 workers online/);
    await page.screenshot({ path: join(shots(), 'cluster.png'), fullPage: true });
    const origin = new URL(url).origin;
    const requested: string[] = [];
    const record = (r: { url(): string }) => requested.push(r.url());
    page.on('request', record);
    await page.click('a[href="/queues/"]');
    await page.waitForURL(`${url}/queues/`);
    await page.getByText('reduce', { exact: true }).first().waitFor({ timeout: 30_000 });
    await page.getByText('map', { exact: true }).first().waitFor();
    await page.waitForLoadState('networkidle');
    page.off('request', record);
    await page.screenshot({ path: join(shots(), 'queues.png') });
    assert.ok(requested.some((u) => u.includes('/queues/static/')), 'bull-board loads its own files');
    assert.deepEqual(requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:')), [], 'bull-board asks nothing of another site (web fonts)');
    assert.deepEqual(problems, [], 'no script errors and no blocked resources on the console\'s pages or bull-board\'s');
  });

  test('bull-board links back to the console', async () => {
    await page.goto(`${url}/queues/`);
    // bull-board puts its miscLinks in a menu, behind the header's one menu button.
    await page.locator('header [aria-haspopup="menu"]').click();
    await page.getByRole('menuitem', { name: 'Back to the console' }).click();
    await page.waitForURL(`${url}/`);
    assert.match(await page.textContent('h1') ?? '', /Overview/);
  });

  test('at 400 px wide no page scrolls sideways, and the masters\' URLs fit their card', async () => {
    const narrow = await browser.newPage({ viewport: { width: 400, height: 800 } });
    narrow.on('pageerror', (e) => problems.push(`${narrow.url()}: ${e.message}`));
    type Element = { scrollWidth: number; clientWidth: number; title: string; textContent: string; closest(s: string): { getBoundingClientRect(): { right: number } }; getBoundingClientRect(): { right: number } };
    const width = () => narrow.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    try {
      for (const [name, path] of [['overview', '/'], ['cluster', '/cluster'], ['wordcount job', `/jobs/${jobs.wordcount}`], ['pagerank job', `/jobs/${jobs.pagerank}`], ['jobs', '/jobs']]) {
        await narrow.goto(`${url}${path}`);
        assert.ok(await width() <= 400, `the ${name} page is ${await width()} px wide at a 400 px viewport`);
        await narrow.screenshot({ path: join(shots(), `narrow-${name.replace(' ', '-')}.png`), fullPage: true });
        if (!name.endsWith('job')) continue;
        await narrow.locator('details#events summary').click();
        assert.ok(await width() <= 400, `the ${name} page, its events open, is ${await width()} px wide at a 400 px viewport`);
      }
      // The cards are narrowest in a wide window (five in a row) and full width in a narrow one.
      for (const width of [400, 1280, 1100]) {
        await narrow.setViewportSize({ width, height: 800 });
        await narrow.goto(`${url}/`);
        const urls = narrow.locator('.card code.url');
        assert.ok(await urls.count() >= 1, 'the primary at least');
        for (const el of await urls.all()) {
          const m = await el.evaluate((e) => {
            const x = e as unknown as Element;
            return { scroll: x.scrollWidth, client: x.clientWidth, title: x.title, text: x.textContent, right: x.getBoundingClientRect().right, card: x.closest('.card').getBoundingClientRect().right };
          });
          assert.ok(m.scroll <= m.client, `${width} px: ${m.text} overflows its element (${m.scroll} > ${m.client} px)`);
          assert.ok(m.right <= m.card, `${width} px: ${m.text} overflows its card (${m.right} > ${m.card} px)`);
          assert.equal(m.title, m.text, 'the whole URL in the title');
        }
      }
    } finally {
      await narrow.close();
    }
  });
});
