// At-most-once with many requests in flight (issue 11, failure 3), against real processes: one
// MasterClient shared by many concurrent callers through a proxy that loses replies, the master's
// window of replies per client, the console's forms and Idempotency-Key, and submits through the
// console across primary kills.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { MasterClient, putDataset, type JobStatus } from '@tandem/shared';
import { kill, startCluster, type Cluster } from './harness/cluster.ts';
import { startDroppingProxy } from './harness/proxy.ts';
import { call } from './harness/http.ts';
import { waitFor } from './harness/wait.ts';

const scenario = (lines: string[]) => console.log(`\n  scenario:\n${lines.map((l) => `    ${l}`).join('\n')}\n`);

/** The primary's whole job table, read through a fresh client. */
async function allJobs(c: Cluster): Promise<JobStatus[]> {
  return c.client().list();
}

const hidden = (page: string, name: string) => new RegExp(`<input type="hidden" name="${name}" value="([^"]+)">`).exec(page)?.[1];

describe('at-most-once with many requests in flight', { timeout: 300_000 }, () => {
  let c: Cluster;
  let consoleUrl: string;
  let browser: Record<string, string>;
  let csrf: string;
  before(async () => {
    c = await startCluster({ name: 'sessions', workers: 0, masters: 2 });
    await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from('a b c\nb c d\n')]), { name: 'tiny', format: 'text', splitBytes: 1024 });
    await c.replicated();
    ({ url: consoleUrl } = await c.startConsole());
    const home = await call(`${consoleUrl}/`);
    csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(home.text)![1];
    browser = { origin: consoleUrl, 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrf };
  });
  after(async () => c?.stop());

  test('(c,1), (c,2), then a retry of (c,1) make two jobs; a retry below firstUnanswered is refused, naming the request', async () => {
    scenario(['client c sends submit 1, then submit 2, then submit 1 again (both 1 and 2 unanswered)', 'then submit 3 saying firstUnanswered=3, then submit 1 again']);
    const primary = c.masters[(await c.replicated()).primary].url;
    const send = (requestId: string, firstUnanswered = '1') => call(`${primary}/jobs`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clientId: 'many-in-flight', requestId, firstUnanswered, type: 'wordcount', dataset: 'tiny' }),
    });
    const one = await send('1');
    const two = await send('2');
    const again = await send('1');
    assert.equal(one.status, 200, one.text);
    assert.notEqual(one.json.jobId, two.json.jobId);
    assert.equal(again.json.jobId, one.json.jobId, 'the retry gets the first reply');
    await send('3', '3');
    const late = await send('1');
    assert.equal(late.status, 409, late.text);
    assert.match(late.json.error, /^request 1 of client many-in-flight is older than its window/);
    const named = await send('r-1');
    assert.equal(named.status, 400);
    assert.match(named.json.error, /requestId: expected a positive integer/);
    const mine = (await allJobs(c)).filter((j) => j.submittedBy.clientId === 'many-in-flight');
    assert.deepEqual(mine.map((j) => j.submittedBy.requestId).sort(), ['1', '2', '3'], 'one job per request, none applied twice');
  });

  test('150 concurrent submits through one MasterClient, a proxy losing every third reply: exactly one job per acknowledged submit', async () => {
    const N = 150;
    scenario([`${N} callers share one MasterClient (more than its window of 100 in flight at once)`, 'a proxy in front of the primary applies every request but drops every third reply', 'every caller retries until answered; the job table must hold exactly one job per acknowledged submit']);
    const primary = c.masters[(await c.replicated()).primary].url;
    const proxy = await startDroppingProxy(primary, (req, n) => req.method === 'POST' && n % 3 === 0);
    try {
      const client = new MasterClient({ masterUrl: proxy.url, retryDelayMs: 1, retryForMs: 120_000 });
      const acked = await Promise.all(Array.from({ length: N }, () => client.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 })));
      assert.ok(proxy.dropped >= N / 3, `replies were lost (${proxy.dropped} of ${proxy.forwarded})`);
      assert.equal(new Set(acked).size, N, 'every caller was told of its own job');
      const mine = (await allJobs(c)).filter((j) => j.submittedBy.clientId === client.clientId);
      assert.deepEqual(mine.map((j) => j.id).sort(), [...acked].sort(), 'the jobs are exactly the acknowledged ones');
      assert.equal(new Set(mine.map((j) => j.submittedBy.requestId)).size, N);
      assert.equal(client.firstUnanswered, N + 1, 'nothing left in flight');
    } finally {
      await proxy.close();
    }
  });

  test('a console form posted twice (double click) and again (browser retry) makes one job, and all three land on it', async () => {
    scenario(['render the new-job form, post it twice at once, then once more', 'send a JSON submit twice with one Idempotency-Key, and once with another key']);
    const form = await call(`${consoleUrl}/jobs/new`);
    const clientId = hidden(form.text, 'clientId');
    const requestId = hidden(form.text, 'requestId');
    assert.match(clientId ?? '', /^console-form-[0-9a-f-]{36}$/, 'the form carries its own client id');
    assert.equal(requestId, '1');
    const second = hidden((await call(`${consoleUrl}/jobs/new`)).text, 'clientId');
    assert.notEqual(second, clientId, 'every render gets its own ids');
    const post = () => call(`${consoleUrl}/jobs`, {
      method: 'POST', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, clientId: clientId!, requestId: requestId!, type: 'wordcount', dataset: 'tiny', partitions: '1' }).toString(),
    });
    const posts = [...(await Promise.all([post(), post()])), await post()];
    for (const p of posts) assert.equal(p.status, 303, p.text);
    assert.equal(new Set(posts.map((p) => p.headers.get('location'))).size, 1, 'all three redirect to the same job');
    const made = (await allJobs(c)).filter((j) => j.submittedBy.clientId === clientId);
    assert.deepEqual(made.map((j) => `/jobs/${j.id}`), [posts[0].headers.get('location')]);

    const api = (key: string) => call(`${consoleUrl}/api/jobs`, {
      method: 'POST', headers: { ...browser, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ type: 'wordcount', dataset: 'tiny' }),
    });
    const [a, b] = await Promise.all([api('script-run-7'), api('script-run-7')]);
    const other = await api('script-run-8');
    assert.equal(a.status, 201, a.text);
    assert.equal(b.json.jobId, a.json.jobId, 'the same key gets the same job');
    assert.notEqual(other.json.jobId, a.json.jobId, 'another key is another job');
    const both = await call(`${consoleUrl}/api/jobs`, {
      method: 'POST', headers: { ...browser, 'content-type': 'application/json', 'idempotency-key': 'k' },
      body: JSON.stringify({ type: 'wordcount', dataset: 'tiny', clientId: 'x', requestId: '1' }),
    });
    assert.equal(both.status, 400);
    assert.match(both.json.error, /either an Idempotency-Key header or clientId and requestId, not both/);
    const cancelForm = await call(`${consoleUrl}${posts[0].headers.get('location')}`);
    assert.match(cancelForm.text, /action="\/jobs\/\w+\/cancel" class="inline"><input type="hidden" name="_csrf" value="[^"]+"><input type="hidden" name="clientId" value="console-form-/, 'the cancel form carries its ids too');
  });

  test('300 submits through the console, replayed by browsers and scripts, across 2 primary kills: jobs created == distinct acknowledged submits', async () => {
    const BROWSERS = 10;
    const EACH = 30;
    scenario([
      `${BROWSERS} browsers each submit ${EACH} jobs through the console (one shared MasterClient behind it): forms, Idempotency-Key scripts and plain API calls`,
      'a third of the named submits are sent twice at once (double click), and every failed one is sent again until answered (browser retry)',
      'the primary is SIGKILLed after 100 and after 200 acknowledged submits (restarted as backup between)',
      'then: one job per distinct acknowledged named submit, and plain calls made no more jobs than were sent',
    ]);
    const named = new Map<string, string>(); // form or key -> job id it was told
    let plainAcked = 0;
    let plainUnknown = 0;
    let sent = 0;
    const before = new Set((await allJobs(c)).map((j) => j.id));
    const submitOnce = async (k: number, i: number): Promise<void> => {
      const kind = (k + i) % 3;
      if (kind === 2) {
        const r = await call(`${consoleUrl}/api/jobs`, { method: 'POST', headers: { ...browser, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'wordcount', dataset: 'tiny' }) }).catch(() => null);
        if (r?.status === 201) plainAcked++;
        else plainUnknown++;
        return;
      }
      let send: () => Promise<string | null>;
      let name: string;
      if (kind === 0) {
        const form = await call(`${consoleUrl}/jobs/new`);
        name = hidden(form.text, 'clientId')!;
        const body = new URLSearchParams({ _csrf: csrf, clientId: name, requestId: hidden(form.text, 'requestId')!, type: 'wordcount', dataset: 'tiny', partitions: '1' }).toString();
        send = async () => {
          const r = await call(`${consoleUrl}/jobs`, { method: 'POST', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' }, body }).catch(() => null);
          return r?.status === 303 ? r.headers.get('location')!.replace('/jobs/', '') : null;
        };
      } else {
        name = `key-${k}-${i}`;
        send = async () => {
          const r = await call(`${consoleUrl}/api/jobs`, { method: 'POST', headers: { ...browser, 'content-type': 'application/json', 'idempotency-key': name }, body: JSON.stringify({ type: 'wordcount', dataset: 'tiny' }) }).catch(() => null);
          return r?.status === 201 ? (r.json.jobId as string) : null;
        };
      }
      const replies = i % 3 === 0 ? await Promise.all([send(), send()]) : [await send()];
      let told = replies.find((r) => r !== null) ?? null;
      while (!told) told = await send();
      for (const r of replies) if (r !== null) assert.equal(r, told, `${name}: both clicks were told the same job`);
      named.set(name, told);
    };
    // Browsers pass the halfway mark only once the first killed master is back as backup, so the
    // second kill also lands in the middle of the traffic.
    const acked = () => named.size + plainAcked;
    let backAgain!: () => void;
    const recovered = new Promise<void>((r) => (backAgain = r));
    const browsers = Array.from({ length: BROWSERS }, async (_, k) => {
      for (let i = 0; i < EACH; i++) {
        if (acked() >= 150) await recovered;
        sent++;
        await submitOnce(k, i);
      }
    });
    const nemesis = (async () => {
      for (const at of [100, 200]) {
        await waitFor(() => acked() >= at, { what: `${at} acknowledged submits`, timeoutMs: 120_000 });
        const { primary } = await c.replicated();
        await kill(c.masters[primary].proc);
        console.log(`    killed primary ${c.masters[primary].url} after ${acked()} acknowledged submits`);
        await c.startMaster(primary);
        await c.replicated(60_000);
        backAgain();
      }
    })();
    await Promise.all([...browsers, nemesis]);
    const created = (await allJobs(c)).filter((j) => !before.has(j.id));
    const namedJobs = created.filter((j) => j.submittedBy.clientId.startsWith('console-form-') || j.submittedBy.clientId.startsWith('idempotency-key:'));
    const plainJobs = created.length - namedJobs.length;
    console.log(`    ${sent} submits sent; ${named.size} named and ${plainAcked} plain acknowledged (${plainUnknown} plain unanswered); ${created.length} jobs created`);
    assert.equal(sent, BROWSERS * EACH);
    assert.equal(namedJobs.length, named.size, 'one job per distinct acknowledged named submit');
    assert.deepEqual(namedJobs.map((j) => j.id).sort(), [...named.values()].sort(), 'exactly the jobs the browsers were told');
    assert.ok(plainJobs >= plainAcked && plainJobs <= plainAcked + plainUnknown, `plain calls: ${plainJobs} jobs for ${plainAcked} acknowledged and ${plainUnknown} unanswered`);
  });
});
