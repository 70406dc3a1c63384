// docker-compose.yml as an operator reads it, checked with Debian's docker-compose (`config` only:
// no Docker daemon here): it validates with .env.example filled in, refuses to without the secret
// or the Redis password, and the resolved file has the multi-host properties: named images,
// healthchecks on /health, depends_on service_healthy, Redis unpublished and password-protected,
// the jobs folder and the cli's out/ folder mounted. .env.example lists every Tandem variable.
// docker-compose.cluster.yml, added to it, puts Tandem on a Redis Cluster of 3 primaries and 3 replicas.
// With `--profile metrics` (Debian's docker-compose 1.29 has profiles; its `config` lists every
// service whatever the profile), Prometheus scrapes every Tandem process of the file, as
// deploy/prometheus/prometheus.yml says, with the cluster secret from the file its entrypoint writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { configSchema } from '../shared/src/config.ts';

type Service = {
  image?: string; profiles?: string[]; build?: unknown; command?: string[]; entrypoint?: string[]; environment?: Record<string, string>;
  ports?: (string | { published?: number | string })[]; volumes?: (string | { source?: string; target?: string })[];
  healthcheck?: { test?: string[] }; depends_on?: Record<string, { condition?: string }>;
};

// What an operator's filled-in .env holds; the shell's values win over --env-file's. The processes'
// env file (TANDEM_ENV_FILE) carries one tuned variable, to see it reach every Tandem process.
const tmp = mkdtempSync(join(tmpdir(), 'tandem-compose-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const processEnvFile = join(tmp, 'tandem.env');
writeFileSync(processEnvFile, 'TANDEM_LOCK_MS=5000\nTANDEM_SECRET=\n');
const filled = { TANDEM_SECRET: 'test-secret-0123456789', TANDEM_REDIS_PASSWORD: 'testpassword42', TANDEM_ENV_FILE: processEnvFile };

function composeConfig(env: Record<string, string>, files = ['docker-compose.yml'], options: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker-compose', [...files.flatMap((f) => ['-f', f]), ...options, '--env-file', '.env.example', 'config'], {
    cwd: repoRoot,
    encoding: 'utf8',
    // Only what the test gives: a TANDEM_* variable of the machine running the test must not leak in.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('docker-compose is not installed: this test validates docker-compose.yml with it (apt-get install -y docker-compose; .ci/run installs it)');
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** docker-compose prints YAML; its own dependency PyYAML turns it into JSON, so no YAML parser is needed here. */
function parse(yaml: string): { services: Record<string, Service> } {
  const json = execFileSync('python3', ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: yaml, encoding: 'utf8' });
  return JSON.parse(json);
}

const tandemServices = ['view-service', 'master-a', 'master-b', 'worker', 'console', 'cli'];
const listeners: Record<string, number> = { 'view-service': 7000, 'master-a': 7100, 'master-b': 7100, console: 7300 };

test('docker-compose.yml validates with .env.example filled in, and has the multi-host properties', () => {
  console.log('scenario: docker-compose config with .env.example and a secret and Redis password');
  const r = composeConfig(filled);
  assert.equal(r.status, 0, `docker-compose config failed:\n${r.stderr}`);
  const { services } = parse(r.stdout);
  assert.deepEqual(Object.keys(services).sort(), ['cli', 'console', 'master-a', 'master-b', 'prometheus', 'redis', 'view-service', 'worker']);

  for (const name of tandemServices) {
    const s = services[name];
    assert.match(s.image ?? '', /^[a-z0-9][a-z0-9._\/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$/, `${name}: a pushable image name with a tag`);
    assert.ok(s.build, `${name}: built from the repository too`);
    assert.equal(s.environment?.TANDEM_SECRET, filled.TANDEM_SECRET, `${name}: gets the secret`);
    assert.equal(s.environment?.REDIS_URL, `redis://:${filled.TANDEM_REDIS_PASSWORD}@redis:6379`, `${name}: reaches Redis with the password`);
    assert.equal(s.environment?.TANDEM_LOCK_MS, '5000', `${name}: Tandem's variables come from the env file`);
    // The view service runs no job code, so it alone has no jobs folder.
    if (name === 'view-service') continue;
    assert.equal(s.environment?.TANDEM_JOBS_DIR, '/app/jobs.d', `${name}: loads the mounted job types`);
    const mounts = (s.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    assert.ok(mounts.some((m) => m.endsWith(':/app/jobs.d:ro')), `${name}: jobs folder mounted read-only (${mounts.join(', ')})`);
  }
  assert.equal(new Set(tandemServices.map((n) => services[n].image)).size, 1, 'one image for every Tandem process');

  for (const [name, port] of Object.entries(listeners)) {
    const s = services[name];
    const check = (s.healthcheck?.test ?? []).join(' ');
    // The image has no curl: node runs scripts/healthcheck.mjs (GET /health, over TLS when TANDEM_TLS_CERT is set; tested in tls.test.ts).
    assert.equal(check, `CMD node scripts/healthcheck.mjs ${port}`, `${name}: healthcheck against its own /health`);
    assert.equal(s.environment?.[{ 'view-service': 'TANDEM_VIEW_HOST', console: 'TANDEM_CONSOLE_HOST' }[name] ?? 'TANDEM_MASTER_HOST'], '0.0.0.0');
  }
  assert.match((services.redis.healthcheck?.test ?? []).join(' '), /redis-cli ping/);

  // Everything waits for what it needs to be healthy, not merely started.
  for (const name of ['view-service', 'master-a', 'master-b', 'worker', 'console', 'cli']) {
    const deps = services[name].depends_on ?? {};
    assert.ok(Object.keys(deps).length > 0, `${name}: depends on something`);
    for (const [dep, d] of Object.entries(deps)) assert.equal(d.condition, 'service_healthy', `${name} -> ${dep}`);
  }
  for (const name of ['master-a', 'master-b', 'console', 'cli']) assert.ok(services[name].depends_on?.['view-service'], `${name} waits for the view service`);

  const redis = services.redis;
  assert.equal(redis.ports, undefined, 'Redis is not published to the host by default');
  assert.match((redis.command ?? []).join(' '), /--requirepass "\$\$?REDISCLI_AUTH"/, 'redis-server gets a password');
  assert.equal(redis.environment?.REDISCLI_AUTH, filled.TANDEM_REDIS_PASSWORD, 'the password comes from the env file');

  // Published ports stay on this machine unless TANDEM_PUBLISH_ADDR says otherwise.
  for (const name of [...Object.keys(listeners), 'prometheus']) {
    for (const p of services[name].ports ?? []) assert.match(String(typeof p === 'string' ? p : JSON.stringify(p)), /^127\.0\.0\.1:/, `${name}: ${JSON.stringify(p)}`);
  }
  assert.ok((services.cli.volumes ?? []).some((v) => typeof v === 'string' && /:\/app\/out(:rw)?$/.test(v)), 'cli writes --out into a mounted folder');
});

test('docker-compose config refuses to run without the secret or the Redis password, naming the variable', () => {
  for (const missing of ['TANDEM_SECRET', 'TANDEM_REDIS_PASSWORD'] as const) {
    console.log(`scenario: docker-compose config with ${missing} left empty, as in .env.example`);
    const env: Record<string, string> = { ...filled };
    delete env[missing];
    const r = composeConfig(env);
    assert.notEqual(r.status, 0, `config passed without ${missing}`);
    assert.match(r.stderr, new RegExp(`set ${missing} in \\.env`));
  }
});

test('docker-compose.redis-host.yml publishes Redis for the other hosts', () => {
  const r = composeConfig(filled, ['docker-compose.yml', 'docker-compose.redis-host.yml']);
  assert.equal(r.status, 0, r.stderr);
  const ports = parse(r.stdout).services.redis.ports ?? [];
  assert.deepEqual(ports.map(String), ['0.0.0.0:6379:6379/tcp']);
});

test('.env.example documents every variable Tandem reads, with its default', () => {
  const text = readFileSync(join(repoRoot, '.env.example'), 'utf8');
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  for (const name of Object.keys(configSchema.shape)) {
    const line = text.split('\n').find((l) => new RegExp(`^#? ?${name}=`).test(l));
    assert.ok(line, `.env.example has no line for ${name} (shared/src/config.ts reads it)`);
    const value = line.slice(line.indexOf('=') + 1);
    assert.equal(value, String(defaults[name] ?? ''), `${name}: .env.example shows ${value}, the default is ${defaults[name]}`);
  }
});

test('docker-compose.cluster.yml runs Tandem on a Redis Cluster of 3 primaries and 3 replicas, formed by a one-shot service, with every node a seed in REDIS_URL', () => {
  const r = composeConfig(filled, ['docker-compose.yml', 'docker-compose.cluster.yml']);
  assert.equal(r.status, 0, r.stderr);
  const { services } = parse(r.stdout);
  const nodes = ['redis', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6'];
  assert.deepEqual(Object.keys(services).filter((n) => n.startsWith('redis')).sort(), [...nodes, 'redis-cluster-init'].sort());
  const volumes = new Set<string>();
  for (const name of nodes) {
    const s = services[name];
    const command = (s.command ?? []).join(' ');
    assert.match(command, /redis-server --cluster-enabled yes/, `${name}: a cluster node`);
    assert.match(command, /--appendonly yes/, `${name}: keeps an append-only file`);
    assert.match(command, /--requirepass "\$\$?REDISCLI_AUTH" --masterauth "\$\$?REDISCLI_AUTH"/, `${name}: requires the password, and a replica gives it to its primary`);
    assert.equal(s.environment?.REDISCLI_AUTH, filled.TANDEM_REDIS_PASSWORD);
    assert.equal(s.ports, undefined, `${name}: not published`);
    assert.match((s.healthcheck?.test ?? []).join(' '), /cluster_state:ok/, `${name}: healthy once the cluster is formed`);
    const data = (s.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((v) => /:\/data(:rw)?$/.test(v));
    assert.ok(data, `${name}: its data (and nodes.conf) on a volume`);
    volumes.add(data.split(':')[0]);
  }
  assert.equal(volumes.size, nodes.length, 'a volume of its own for each node');

  const init = services['redis-cluster-init'];
  const script = (init.command ?? []).join(' ');
  assert.match(script, /redis-cli --cluster create .* --cluster-replicas 1 --cluster-yes/, 'forms 3 primaries with a replica each');
  for (const n of nodes) assert.ok(script.includes(` ${n} `) || script.includes(` ${n}"`), `the one-shot service waits for ${n}`);
  assert.deepEqual(Object.keys(init.depends_on ?? {}).sort(), [...nodes].sort(), 'it starts once the nodes have started (they are healthy only once it has formed the cluster)');
  assert.equal(init.environment?.REDISCLI_AUTH, filled.TANDEM_REDIS_PASSWORD);

  const seeds = `redis://:${filled.TANDEM_REDIS_PASSWORD}@${nodes.map((n) => `${n}:6379`).join(',')}`;
  for (const name of tandemServices) {
    assert.equal(services[name].environment?.REDIS_URL, seeds, `${name}: every node is a seed`);
    const deps = services[name].depends_on ?? {};
    if (name !== 'cli') assert.equal(deps.redis?.condition, 'service_healthy', `${name}: waits for a formed cluster`);
  }
});

/** Each Tandem process's script, and the variables of the listener its /metrics is on (a worker has one of its own). */
const METRICS_LISTENER: Record<string, { host: string; port: string }> = {
  'dist/view-service.js': { host: 'TANDEM_VIEW_HOST', port: 'TANDEM_VIEW_PORT' },
  'dist/master.js': { host: 'TANDEM_MASTER_HOST', port: 'TANDEM_MASTER_PORT' },
  'dist/worker.js': { host: 'TANDEM_METRICS_HOST', port: 'TANDEM_METRICS_PORT' },
  'dist/console.js': { host: 'TANDEM_CONSOLE_HOST', port: 'TANDEM_CONSOLE_PORT' },
};

type ScrapeConfig = {
  job_name: string; authorization?: { type?: string; credentials_file?: string };
  static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; type?: string; port: number }[];
};

test('with --profile metrics, Prometheus scrapes every Tandem process of the compose file on its /metrics port, with the secret as a bearer token', () => {
  console.log('scenario: docker-compose --profile metrics config, and deploy/prometheus/prometheus.yml against it');
  const r = composeConfig(filled, ['docker-compose.yml'], ['--profile', 'metrics']);
  assert.equal(r.status, 0, `docker-compose --profile metrics config failed:\n${r.stderr}`);
  const { services } = parse(r.stdout);
  const p = services.prometheus;
  assert.deepEqual(p.profiles, ['metrics'], 'only with --profile metrics');
  assert.match(p.image ?? '', /^prom\/prometheus:v\d/, 'a pinned prom/prometheus');
  const config = (p.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((v) => v.includes(':/etc/prometheus/prometheus.yml'));
  assert.equal(config, `${join(repoRoot, 'deploy/prometheus/prometheus.yml')}:/etc/prometheus/prometheus.yml:ro`, 'the scrape config, read-only');
  assert.equal(p.environment?.TANDEM_SECRET, filled.TANDEM_SECRET, 'Prometheus gets the secret as the other services do');
  const script = (p.entrypoint ?? []).join(' ');
  const written = /printf %s "\$\$?TANDEM_SECRET" > (\S+)/.exec(script)?.[1];
  assert.ok(written, `the entrypoint writes the secret to a file (${script})`);
  assert.match(script, /exec \/bin\/prometheus --config\.file=\/etc\/prometheus\/prometheus\.yml /);

  // What Prometheus scrapes: host:port per job, the workers by their service name (one address per replica).
  const prom = parseYaml(readFileSync(join(repoRoot, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: ScrapeConfig[] };
  const scraped = new Set<string>();
  for (const job of prom.scrape_configs) {
    assert.deepEqual(job.authorization, { type: 'Bearer', credentials_file: written }, `${job.job_name}: the secret from the file the entrypoint writes`);
    for (const s of job.static_configs ?? []) for (const t of s.targets) scraped.add(t);
    for (const d of job.dns_sd_configs ?? []) {
      assert.equal(d.type, 'A', `${job.job_name}: every replica's address`);
      for (const n of d.names) scraped.add(`${n}:${d.port}`);
    }
  }
  // What should be: every service that runs a Tandem process, on the port it serves /metrics on, bound for the network.
  const expected = new Set<string>();
  for (const [name, s] of Object.entries(services)) {
    const script = (s.command ?? []).find((c) => c in METRICS_LISTENER);
    if (!script) continue;
    const listener = METRICS_LISTENER[script];
    assert.equal(s.environment?.[listener.host], '0.0.0.0', `${name}: ${listener.host} lets Prometheus in the network reach it`);
    assert.match(s.environment?.[listener.port] ?? '', /^\d+$/, `${name}: ${listener.port} is a fixed port`);
    expected.add(`${name}:${s.environment?.[listener.port]}`);
  }
  assert.deepEqual([...expected].sort(), ['console:7300', 'master-a:7100', 'master-b:7100', 'view-service:7000', 'worker:7400']);
  assert.deepEqual([...scraped].sort(), [...expected].sort(), 'the scrape targets are exactly the Tandem processes');

  const cluster = composeConfig(filled, ['docker-compose.yml', 'docker-compose.cluster.yml'], ['--profile', 'metrics']);
  assert.equal(cluster.status, 0, `with docker-compose.cluster.yml too: ${cluster.stderr}`);
});
