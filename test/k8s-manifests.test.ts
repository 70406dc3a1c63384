// deploy/k8s as an operator applies it, checked offline (no cluster, no kubectl): every YAML
// document under deploy/k8s/ parses and validates against the Kubernetes API schemas
// (kubernetes-models; the KEDA ScaledObject against @kubernetes-models/keda), and the manifests
// agree with each other and with the code:
// - kustomization.yaml lists every file of deploy/k8s/ and only those (alternatives/ stay out);
// - each container runs the command docker-compose.yml gives that process, listens where its env
//   says (TANDEM_*_HOST 0.0.0.0, TANDEM_*_PORT), and its containerPort, probes (GET /health),
//   Service targetPort and prometheus.io/port name that port;
// - every env name is a variable of shared/src/config.ts's configSchema (or a downward-API helper
//   that a later variable expands), the env each container gets (ConfigMap, Secret placeholders,
//   $(VAR) expanded as the kubelet does) passes configSchema, and secretKeyRefs name the Secret's keys;
// - every Service and the PodDisruptionBudget select the pods they are for;
// - the masters' StatefulSet has 2 replicas behind a headless Service, each advertising
//   http://<pod>.<service>.<namespace>.svc.cluster.local:<port>;
// - the ScaledObject (and the HPA alternative) scale the worker Deployment on METRICS.tasksPending;
// - every container has requests and limits, probes and a non-root, read-only securityContext.
// The schemas do not reject unknown fields, which is why the fields that matter are asserted here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Secret, Service, type IContainer, type IEnvVar, type IPodTemplateSpec } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { z } from 'zod';
import { configSchema } from '../shared/src/config.ts';
import { METRICS } from '../shared/src/metrics.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'deploy/k8s');

/** Every .yaml file under deploy/k8s/, relative to it. */
function yamlFiles(d = dir): string[] {
  return readdirSync(d).flatMap((name) => {
    const p = join(d, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(name) ? [relative(dir, p)] : [];
  });
}

// The kinds Tandem's manifests use, each with its schema. A kind not here fails the test.
const MODELS = {
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
} as const;
type Kind = keyof typeof MODELS;

// kustomize's own file has no Kubernetes schema: its few fields, by hand.
const kustomizationSchema = z.object({
  apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
  kind: z.literal('Kustomization'),
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  resources: z.array(z.string()).min(1),
}).strict();

interface Doc { file: string; kind: Kind; obj: { metadata?: { name?: string } } & Record<string, unknown> }

/** Every document of every file, each validated against its kind's schema (throws naming the file). */
function load(): { docs: Doc[]; kustomization: z.infer<typeof kustomizationSchema> } {
  const docs: Doc[] = [];
  let kustomization: z.infer<typeof kustomizationSchema> | undefined;
  for (const file of yamlFiles()) {
    for (const [i, d] of parseAllDocuments(readFileSync(join(dir, file), 'utf8')).entries()) {
      assert.deepEqual(d.errors.map((e) => e.message), [], `${file}: document ${i + 1} is not valid YAML`);
      const obj = d.toJS() as Doc['obj'] & { apiVersion?: string; kind?: string };
      if (file === 'kustomization.yaml') {
        const r = kustomizationSchema.safeParse(obj);
        assert.ok(r.success, `${file}: ${r.error?.message}`);
        kustomization = r.data;
        continue;
      }
      const kind = `${obj.apiVersion}/${obj.kind}`;
      assert.ok(kind in MODELS, `${file}: document ${i + 1} is a ${kind}, which this test has no schema for (add it to MODELS)`);
      const Model = MODELS[kind as Kind] as unknown as new (o: unknown) => { validate(): void };
      try {
        new Model(obj).validate();
      } catch (err) {
        assert.fail(`${file}: ${kind} ${obj.metadata?.name}: ${(err as Error).message}`);
      }
      docs.push({ file, kind: kind as Kind, obj });
    }
  }
  assert.ok(kustomization, 'deploy/k8s/kustomization.yaml is missing');
  return { docs, kustomization };
}

const { docs, kustomization } = load();
const inKustomization = (d: Doc) => kustomization.resources.includes(d.file);
const all = <K extends Kind>(kind: K, docsOf = docs) => docsOf.filter((d) => d.kind === kind).map((d) => d.obj as unknown as InstanceType<(typeof MODELS)[K]>);
const applied = docs.filter(inKustomization);
const one = <T>(items: T[], what: string): T => {
  assert.equal(items.length, 1, `expected exactly one ${what}, found ${items.length}`);
  return items[0];
};
const namespace = kustomization.namespace;
const secret = one(all('v1/Secret', applied), 'Secret');
const configMaps = all('v1/ConfigMap', applied);

/** The workloads that run pods, with their pod template and the name one of their pods gets. */
const workloads = [
  ...all('apps/v1/Deployment', applied).map((w) => ({ kind: 'Deployment', name: w.metadata!.name!, template: w.spec!.template, podName: `${w.metadata!.name}-7d4b9c-x2k8p`, w })),
  ...all('apps/v1/StatefulSet', applied).map((w) => ({ kind: 'StatefulSet', name: w.metadata!.name!, template: w.spec!.template, podName: `${w.metadata!.name}-0`, w })),
];
const containers = workloads.flatMap((wl) => (wl.template.spec?.containers ?? []).map((c) => ({ wl, c, where: `${wl.kind} ${wl.name}, container ${c.name}` })));

/** Each Tandem program (dist/NAME.js, as docker-compose.yml runs it) and the variables of its listener. */
const PROGRAMS: Record<string, { compose: string; host: string; port: string }> = {
  'dist/view-service.js': { compose: 'view-service', host: 'TANDEM_VIEW_HOST', port: 'TANDEM_VIEW_PORT' },
  'dist/master.js': { compose: 'master-a', host: 'TANDEM_MASTER_HOST', port: 'TANDEM_MASTER_PORT' },
  'dist/console.js': { compose: 'console', host: 'TANDEM_CONSOLE_HOST', port: 'TANDEM_CONSOLE_PORT' },
  'dist/worker.js': { compose: 'worker', host: 'TANDEM_METRICS_HOST', port: 'TANDEM_METRICS_PORT' },
};
const program = (c: IContainer, where: string) => {
  const script = (c.command ?? []).find((a) => a.startsWith('dist/'));
  assert.ok(script && PROGRAMS[script], `${where}: its command ${JSON.stringify(c.command)} runs none of ${Object.keys(PROGRAMS).join(', ')}`);
  return { script, ...PROGRAMS[script] };
};

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/**
 * The environment a container's process sees: its ConfigMaps (envFrom), then `env` in order, with
 * secretKeyRefs read from the Secret manifest, fieldRefs from the pod, and $(VAR) expanded as the
 * kubelet does (only variables defined before; `$$` is a `$`).
 */
function containerEnv(c: IContainer, podName: string, where: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    assert.ok(from.configMapRef, `${where}: envFrom takes ConfigMaps only (secrets by secretKeyRef, one by one)`);
    const cm = configMaps.find((m) => m.metadata?.name === from.configMapRef!.name);
    assert.ok(cm, `${where}: envFrom names ConfigMap ${from.configMapRef.name}, which deploy/k8s does not define`);
    Object.assign(env, cm.data);
  }
  const secretValues = { ...secret.stringData, ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) };
  for (const v of c.env ?? []) env[v.name] = valueOf(v, env, secretValues, podName, where);
  return env;
}

function valueOf(v: IEnvVar, env: Record<string, string>, secretValues: Record<string, string>, podName: string, where: string): string {
  if (v.value !== undefined) return v.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) => (name === undefined ? '$' : env[name] ?? m));
  const ref = v.valueFrom?.secretKeyRef;
  if (ref) {
    assert.equal(ref.name, secret.metadata?.name, `${where}: ${v.name} comes from Secret ${ref.name}, not from the Secret deploy/k8s defines`);
    assert.ok(ref.key in secretValues, `${where}: ${v.name} reads key ${ref.key}, which Secret ${ref.name} lacks (it has ${Object.keys(secretValues).join(', ')})`);
    return secretValues[ref.key];
  }
  const field = v.valueFrom?.fieldRef?.fieldPath;
  if (field === 'metadata.name') return podName;
  if (field === 'metadata.namespace') return namespace;
  assert.fail(`${where}: ${v.name} has a value source this test does not resolve (${JSON.stringify(v.valueFrom)})`);
}

test('kustomization.yaml lists every file of deploy/k8s/ and only those; alternatives/ stay out', () => {
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort();
  assert.deepEqual([...kustomization.resources].sort(), files);
  assert.equal(new Set(kustomization.resources).size, kustomization.resources.length, 'a file listed twice');
  const alternatives = yamlFiles().filter((f) => f.startsWith('alternatives/'));
  assert.ok(alternatives.length > 0, 'deploy/k8s/alternatives/ holds the HPA alternative');
  assert.equal(one(all('v1/Namespace', applied), 'Namespace').metadata?.name, namespace, 'the Namespace is the one kustomization.yaml puts everything in');
  // The alternatives are applied with -f, without kustomize: they name the namespace themselves.
  for (const d of docs.filter((x) => !inKustomization(x))) assert.equal((d.obj.metadata as { namespace?: string }).namespace, namespace, `${d.file}: metadata.namespace`);
});

test('every container runs its program as docker-compose.yml does, from the one image the Dockerfile builds', () => {
  assert.ok(existsSync(join(root, 'Dockerfile')), 'the image comes from the repository\'s Dockerfile');
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { command?: string[] }> };
  assert.ok(containers.length >= 4);
  for (const { c, where } of containers) {
    const p = program(c, where);
    assert.deepEqual(c.command, compose.services[p.compose].command, `${where}: the command docker-compose.yml gives ${p.compose}`);
  }
  assert.deepEqual([...new Set(containers.map(({ c }) => program(c, '').script))].sort(), Object.keys(PROGRAMS).sort(), 'each program runs in one workload');
  assert.equal(new Set(containers.map(({ c }) => c.image)).size, 1, 'one image for every process');
  assert.match(containers[0].c.image ?? '', /^[a-z0-9][a-z0-9._\/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'an image name with a tag');
});

test("every env name is a config variable, and each container's whole env passes configSchema", () => {
  const vars = new Set(Object.keys(configSchema.shape));
  for (const cm of configMaps) {
    for (const k of Object.keys(cm.data ?? {})) assert.ok(vars.has(k), `ConfigMap ${cm.metadata?.name}: ${k} is not a variable of shared/src/config.ts`);
  }
  for (const { wl, c, where } of containers) {
    const list = c.env ?? [];
    list.forEach((v, i) => {
      if (vars.has(v.name)) return;
      // A downward-API helper is allowed only as an input to a later variable's $(NAME).
      assert.ok(v.valueFrom?.fieldRef && list.slice(i + 1).some((w) => w.value?.includes(`$(${v.name})`)),
        `${where}: ${v.name} is not a variable of shared/src/config.ts (nor a fieldRef a later variable expands)`);
    });
    const env = containerEnv(c, wl.podName, where);
    const parsed = configSchema.safeParse(env);
    assert.ok(parsed.success, `${where}: its env does not pass configSchema: ${parsed.error?.message}`);
    assert.ok(env.TANDEM_SECRET, `${where}: listens on 0.0.0.0, which needs TANDEM_SECRET (requireSecretToBind)`);
    assert.ok(c.env?.some((v) => v.name === 'REDIS_URL' && v.valueFrom?.secretKeyRef), `${where}: REDIS_URL from the Secret`);
    assert.ok(c.env?.some((v) => v.name === 'TANDEM_SECRET' && v.valueFrom?.secretKeyRef), `${where}: TANDEM_SECRET from the Secret`);
  }
});

test('the Secret holds placeholders only, never a real secret', () => {
  const values = { ...secret.stringData, ...secret.data };
  assert.deepEqual(Object.keys(values).sort(), ['REDIS_URL', 'TANDEM_CONSOLE_TOKEN', 'TANDEM_SECRET']);
  for (const [k, v] of Object.entries(values)) assert.match(v, /REPLACE-ME/, `secret.yaml: ${k} must stay a REPLACE-ME placeholder in the repository`);
});

test('each process listens where its env says, and its ports, probes, annotations and Service agree', () => {
  for (const { wl, c, where } of containers) {
    const p = program(c, where);
    const cfg = configSchema.parse(containerEnv(c, wl.podName, where));
    const port = cfg[p.port as keyof typeof cfg] as number;
    assert.equal(cfg[p.host as keyof typeof cfg], '0.0.0.0', `${where}: ${p.host} must be 0.0.0.0 to be reached from outside the pod`);
    assert.ok(c.env?.some((v) => v.name === p.port), `${where}: ${p.port} set explicitly (the worker's default 0 takes a random port)`);
    assert.deepEqual((c.ports ?? []).map((x) => x.containerPort), [port], `${where}: containerPort is ${p.port}`);
    const portOf = (ref: number | string | undefined) => (typeof ref === 'string' ? c.ports?.find((x) => x.name === ref)?.containerPort : ref);
    for (const [name, probe] of [['readinessProbe', c.readinessProbe], ['livenessProbe', c.livenessProbe]] as const) {
      assert.ok(probe?.httpGet, `${where}: a ${name} (httpGet)`);
      assert.equal(probe.httpGet.path, '/health', `${where}: ${name} on /health`);
      assert.equal(portOf(probe.httpGet.port), port, `${where}: ${name} on ${p.port}`);
      assert.equal(probe.httpGet.scheme ?? 'HTTP', cfg.TANDEM_TLS_CERT ? 'HTTPS' : 'HTTP', `${where}: ${name} speaks TLS exactly when TANDEM_TLS_CERT is set`);
    }
    const ann = wl.template.metadata?.annotations ?? {};
    assert.equal(ann['prometheus.io/scrape'], 'true', `${where}: prometheus.io/scrape`);
    assert.equal(ann['prometheus.io/port'], String(port), `${where}: prometheus.io/port`);
    assert.equal(ann['prometheus.io/path'], '/metrics', `${where}: prometheus.io/path`);
  }
  for (const wl of workloads) assert.ok(matches(wl.w.spec?.selector.matchLabels, wl.template.metadata?.labels), `${wl.kind} ${wl.name}: its selector matches its pod template's labels`);
  const services = all('v1/Service', applied);
  assert.equal(services.length, 3, 'Services for the view service, the masters and the console');
  for (const s of services) {
    const name = `Service ${s.metadata?.name}`;
    const targets = workloads.filter((wl) => matches(s.spec?.selector, wl.template.metadata?.labels));
    assert.equal(targets.length, 1, `${name}: its selector ${JSON.stringify(s.spec?.selector)} matches the pods of one workload (matched ${targets.map((t) => t.name).join(', ') || 'none'})`);
    const c = targets[0].template.spec!.containers[0];
    const listens = configSchema.parse(containerEnv(c, targets[0].podName, name))[program(c, name).port as 'TANDEM_VIEW_PORT'];
    for (const sp of s.spec?.ports ?? []) {
      const target = typeof sp.targetPort === 'string' ? c.ports?.find((x) => x.name === sp.targetPort)?.containerPort : (sp.targetPort ?? sp.port);
      assert.equal(target, listens, `${name}: port ${sp.port} reaches the port ${targets[0].name} listens on`);
      assert.equal(sp.port, listens, `${name}: serves on the process's own port, as URLs name it`);
    }
  }
  // The view service's Service is the URL every process asks for the view.
  const viewUrl = new URL(configSchema.parse(Object.fromEntries(configMaps.flatMap((m) => Object.entries(m.data ?? {})))).TANDEM_VIEW_URL);
  const view = services.find((s) => s.metadata?.name === viewUrl.hostname);
  assert.ok(view, `TANDEM_VIEW_URL ${viewUrl} names no Service`);
  assert.equal(String(view.spec?.ports?.[0].port), viewUrl.port, 'TANDEM_VIEW_URL: the Service\'s port');
  assert.ok(workloads.some((wl) => matches(view.spec?.selector, wl.template.metadata?.labels) && program(wl.template.spec!.containers[0], wl.name).script === 'dist/view-service.js'), 'TANDEM_VIEW_URL: the view service');
});

test('every container has requests and limits, and a non-root, read-only securityContext', () => {
  const quantity = (q: string | number) => {
    const m = /^([\d.]+)(m|Ki|Mi|Gi)?$/.exec(String(q));
    assert.ok(m, `quantity ${q}`);
    return Number(m[1]) * ({ m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] ?? ''] ?? 1);
  };
  for (const { wl, c, where } of containers) {
    for (const r of ['cpu', 'memory']) {
      const req = c.resources?.requests?.[r];
      const lim = c.resources?.limits?.[r];
      assert.ok(req !== undefined && lim !== undefined, `${where}: requests and limits for ${r}`);
      assert.ok(quantity(req) <= quantity(lim), `${where}: ${r} request ${req} above its limit ${lim}`);
    }
    const pod = wl.template.spec?.securityContext;
    const sc = c.securityContext;
    assert.equal(sc?.runAsNonRoot ?? pod?.runAsNonRoot, true, `${where}: runAsNonRoot`);
    // The Dockerfile sets no USER, so runAsNonRoot needs a numeric user (the node image's `node`, 1000).
    assert.ok((sc?.runAsUser ?? pod?.runAsUser ?? 0) > 0, `${where}: a non-root runAsUser`);
    assert.equal(sc?.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
    assert.equal(sc?.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation false`);
    assert.deepEqual(sc?.capabilities?.drop, ['ALL'], `${where}: drops every capability`);
    // tsx (a jobs folder's .ts types) writes its cache under /tmp.
    const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
    assert.ok(tmp && wl.template.spec?.volumes?.some((v) => v.name === tmp.name && v.emptyDir), `${where}: a writable /tmp (emptyDir)`);
  }
});

test('the masters: a StatefulSet of 2 behind a headless Service, each advertising <pod>.<service>.<namespace>.svc, and a PDB', () => {
  const sts = one(all('apps/v1/StatefulSet', applied), 'StatefulSet');
  const template = sts.spec!.template as IPodTemplateSpec;
  const c = template.spec!.containers[0];
  assert.equal(program(c, 'masters').script, 'dist/master.js');
  assert.equal(sts.spec?.replicas, 2, 'two masters, primary and backup');
  const svc = all('v1/Service', applied).find((s) => s.metadata?.name === sts.spec?.serviceName);
  assert.ok(svc, `serviceName ${sts.spec?.serviceName} names no Service`);
  assert.equal(svc.spec?.clusterIP, 'None', 'the masters\' Service is headless (one DNS name per pod)');
  assert.ok(matches(svc.spec?.selector, template.metadata?.labels), 'the headless Service selects the masters');
  for (const i of [0, 1]) {
    const pod = `${sts.metadata?.name}-${i}`;
    const cfg = configSchema.parse(containerEnv(c, pod, 'masters'));
    assert.ok(cfg.TANDEM_MASTER_ADVERTISE_URL, 'TANDEM_MASTER_ADVERTISE_URL is set');
    const url = new URL(cfg.TANDEM_MASTER_ADVERTISE_URL);
    assert.equal(url.hostname, `${pod}.${svc.metadata?.name}.${namespace}.svc.cluster.local`, `master ${i}: the advertised host is its pod's DNS name`);
    assert.equal(Number(url.port), cfg.TANDEM_MASTER_PORT, `master ${i}: the advertised port is the one it listens on`);
  }
  const pdb = one(all('policy/v1/PodDisruptionBudget', applied), 'PodDisruptionBudget');
  assert.ok(matches(pdb.spec?.selector?.matchLabels, template.metadata?.labels), 'the PDB selects the masters');
  for (const wl of workloads.filter((w) => w.kind !== 'StatefulSet')) assert.ok(!matches(pdb.spec?.selector?.matchLabels, wl.template.metadata?.labels), `the PDB selects no ${wl.name} pod`);
  assert.ok(pdb.spec?.maxUnavailable === 1 || pdb.spec?.minAvailable === 1, 'one master at a time may be disrupted');
});

test('the workers: KEDA (and the HPA alternative) scale their Deployment on tandem_tasks_pending', () => {
  const pending = METRICS.tasksPending;
  assert.equal(pending.type, 'gauge');
  const worker = one(workloads.filter((wl) => program(wl.template.spec!.containers[0], wl.name).script === 'dist/worker.js'), 'worker workload');
  assert.equal(worker.kind, 'Deployment');
  assert.equal((worker.w as Deployment).spec?.replicas, undefined, 'the autoscaler owns the worker count: the Deployment sets none');
  assert.ok((worker.template.spec?.terminationGracePeriodSeconds ?? 30) >= 60, 'a SIGTERMed worker has time to finish or hand back its task');

  const so = one(all('keda.sh/v1alpha1/ScaledObject', applied), 'ScaledObject');
  assert.equal(so.spec.scaleTargetRef.name, worker.name, 'the ScaledObject scales the worker Deployment');
  assert.equal(so.spec.scaleTargetRef.kind ?? 'Deployment', 'Deployment');
  const min = so.spec.minReplicaCount ?? 0;
  const max = so.spec.maxReplicaCount ?? 100;
  assert.ok(min >= 1 && min < max, `replicas between ${min} and ${max}`);
  const trigger = one(so.spec.triggers.filter((t) => t.type === 'prometheus'), 'prometheus trigger');
  assert.equal(trigger.metadata.query, `sum(${pending.name})`, 'the query sums the primary\'s gauge (shared/src/metrics.ts)');
  assert.ok(Number(trigger.metadata.threshold) > 0, 'a positive threshold');
  assert.doesNotThrow(() => new URL(trigger.metadata.serverAddress), 'serverAddress is a URL');

  const hpa = one(all('autoscaling/v2/HorizontalPodAutoscaler').filter((h) => !applied.some((d) => d.obj === (h as unknown))), 'HPA in deploy/k8s/alternatives');
  assert.equal(hpa.spec?.scaleTargetRef.name, worker.name, 'the HPA scales the worker Deployment');
  assert.equal(hpa.spec?.scaleTargetRef.kind, 'Deployment');
  const external = one((hpa.spec?.metrics ?? []).filter((m) => m.type === 'External'), 'External metric');
  assert.equal(external.external?.metric.name, pending.name);
  assert.equal(external.external?.target.averageValue, trigger.metadata.threshold, 'the same pending tasks per worker as the ScaledObject');
  assert.deepEqual([hpa.spec?.minReplicas, hpa.spec?.maxReplicas], [min, max], 'the same bounds as the ScaledObject');
});
