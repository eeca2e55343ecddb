/**
 * deploy/kubernetes, checked against the Kubernetes API schema (kubernetes-models: the API's OpenAPI
 * schemas compiled to validators; no cluster and no network here): every manifest kustomization.yaml
 * lists parses and validates, and the pieces fit together: the sensor DaemonSet has what eBPF needs and
 * enrolls with a token from a Secret, the control plane reads its vigil.yaml and a ClickHouse server URL,
 * NATS runs deploy/nats-cluster's own configuration as three routed servers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import { CONFIG_ENV, ENROLL_TOKEN_ENV, ENROLL_URL_ENV, VigilConfigV1 } from '@vigil/schema';
import { CLI, REPO, tempDir } from '../support/harness.js';

const DIR = join(REPO, 'deploy', 'kubernetes');
/** The kinds the manifests may hold, each with the model that validates it against the API schema. */
const MODELS: Record<string, new (data: never) => { validate: () => void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
};

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as {
  namespace: string;
  resources: string[];
};
const objects: Obj[] = kustomization.resources.flatMap((file) => {
  const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8'));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file} parses`);
  return docs.map((d) => d.toJS() as Obj);
});
const find = (kind: string, name: string): Obj => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} is among the manifests`);
  return o;
};
const podOf = (o: Obj) => (o.spec as { template: { spec: IPodSpec } }).template.spec;
const envOf = (c: IContainer, name: string) => c.env?.find((e) => e.name === name);

test('every manifest in deploy/kubernetes is listed, parses and validates against the Kubernetes API schema', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  assert.deepEqual([...kustomization.resources].sort(), files.sort(), 'kustomization.yaml lists every manifest');
  assert.ok(objects.length >= 8);
  for (const o of objects) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    assert.ok(Model, `${o.apiVersion} ${o.kind} is a kind the test knows`);
    assert.doesNotThrow(() => new Model(o as never).validate(), `${o.kind} ${o.metadata.name} validates`);
    if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, kustomization.namespace);
  }
});

test('the validation is real: a broken DaemonSet is refused', () => {
  const ds = structuredClone(find('DaemonSet', 'vigil-sensor'));
  (podOf(ds) as { hostPID: unknown }).hostPID = 'yes';
  assert.throws(() => new DaemonSet(ds as never).validate(), /hostPID must be boolean/);
});

test('the sensor DaemonSet: host PID namespace, privileged, the kernel mounts eBPF needs, GPU taints tolerated, enrollment from a Secret', () => {
  const ds = find('DaemonSet', 'vigil-sensor');
  const pod = podOf(ds);
  assert.equal(pod.hostPID, true);
  const c = pod.containers[0]!;
  assert.equal(c.securityContext?.privileged, true);
  const hostPaths = new Map(pod.volumes!.filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
  const mounted = new Map(c.volumeMounts!.map((m) => [hostPaths.get(m.name), m.mountPath]));
  for (const path of ['/sys/kernel/debug', '/sys/kernel/tracing', '/sys/fs/bpf', '/sys/kernel/btf'])
    assert.equal(mounted.get(path), path, `${path} mounted at the same path`);
  assert.equal(mounted.get('/proc'), '/host/proc', "the host's /proc as host proc");
  assert.ok(
    pod.tolerations!.some((t) => t.key === 'nvidia.com/gpu' && t.operator === 'Exists' && t.effect === 'NoSchedule'),
  );
  assert.ok(Object.keys(pod.nodeSelector ?? {}).length > 0, 'a nodeSelector to start from');
  const token = envOf(c, ENROLL_TOKEN_ENV);
  assert.ok(token?.valueFrom?.secretKeyRef?.name, 'the enrollment token from a Secret');
  assert.equal(token.value, undefined, 'never the token itself');
  const url = new URL(envOf(c, ENROLL_URL_ENV)!.value!);
  const svc = find('Service', url.hostname.split('.')[0]!);
  assert.ok(svc.spec && (svc.spec as { ports: { port: number }[] }).ports.some((p) => p.port === Number(url.port)));
});

test('the control plane: one replica, a ClickHouse server URL from a Secret, vigil.yaml from its ConfigMap', () => {
  const d = find('Deployment', 'vigil-control-plane');
  assert.equal((d.spec as { replicas: number }).replicas, 1, 'one reads the stream');
  const pod = podOf(d);
  const c = pod.containers[0]!;
  assert.ok(c.args!.includes('--clickhouse=$(CLICKHOUSE_URL)'));
  assert.ok(envOf(c, 'CLICKHOUSE_URL')?.valueFrom?.secretKeyRef, 'the ClickHouse URL (and its password) from a Secret');
  const configPath = envOf(c, CONFIG_ENV)!.value!;
  const mount = c.volumeMounts!.find((m) => configPath.startsWith(`${m.mountPath}/`))!;
  const cmName = pod.volumes!.find((v) => v.name === mount.name)!.configMap!.name!;
  const file = configPath.slice(mount.mountPath.length + 1);
  const vigilYaml = find('ConfigMap', cmName).data![file]!;
  assert.equal(VigilConfigV1.safeParse(parse(vigilYaml)).success, true, 'vigil.yaml is valid');
  const svc = find('Service', 'vigil-control-plane');
  const selector = (svc.spec as { selector: Record<string, string> }).selector;
  const labels = (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
  for (const [k, v] of Object.entries(selector)) assert.equal(labels[k], v, 'the Service selects the pods');
});

test("NATS: three servers running deploy/nats-cluster's configuration, routed by the headless Service's names", () => {
  const sts = find('StatefulSet', 'vigil-nats');
  const spec = sts.spec as { replicas: number; serviceName: string };
  assert.equal(spec.replicas, 3);
  const conf = readFileSync(join(REPO, 'deploy', 'nats-cluster', 'nats-cluster.conf'), 'utf8');
  assert.equal(find('ConfigMap', 'vigil-nats').data!['nats-cluster.conf'], conf, 'the same file');
  const c = podOf(sts).containers[0]!;
  const vars = conf
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .flatMap((l) => [...l.matchAll(/\$([A-Z0-9_]+)/g)].map((m) => m[1]!));
  assert.equal(vars.length, 10, 'the variables the configuration reads');
  for (const name of vars) assert.ok(envOf(c, name), `${name} is set for nats-server`);
  const routes = [1, 2, 3].map((i) => envOf(c, `NATS_ROUTE_${i}`)!.value!);
  assert.deepEqual(
    routes,
    [0, 1, 2].map(
      (i) => `nats://vigil-nats-${i}.${spec.serviceName}.${kustomization.namespace}.svc.cluster.local:6222`,
    ),
  );
  assert.equal((find('Service', spec.serviceName).spec as { clusterIP: string }).clusterIP, 'None');
  // The sensor and the control plane are given all three.
  const natsFlag = (o: Obj) => podOf(o).containers[0]!.args!.find((a) => a.startsWith('--nats='))!;
  for (const o of [find('DaemonSet', 'vigil-sensor'), find('Deployment', 'vigil-control-plane')])
    assert.equal(natsFlag(o).split(',').length, 3, `${o.metadata.name} knows the three servers`);
});

test('NATS admits only user JWTs of the account the control plane signs: vigil.conf, auth.conf from a Secret beside it, checked by nats-server', () => {
  const sts = find('StatefulSet', 'vigil-nats');
  const pod = podOf(sts);
  const c = pod.containers[0]!;
  const confPath = c.args![c.args!.indexOf('-c') + 1]!;
  const mount = c.volumeMounts!.find((m) => confPath.startsWith(`${m.mountPath}/`))!;
  const sources = pod.volumes!.find((v) => v.name === mount.name)!.projected!.sources!;
  const cm = find('ConfigMap', sources.find((x) => x.configMap)!.configMap!.name!);
  const secret = sources.find((x) => x.secret)!.secret!;
  assert.equal(secret.name, 'vigil-nats-auth');
  assert.deepEqual(secret.items, [{ key: 'auth.conf', path: 'auth.conf' }]);
  // The folder as the pod sees it, with the authorization `vigil nats-config` prints as auth.conf.
  const dir = tempDir('k8s-nats');
  const etc = join(dir, 'etc');
  mkdirSync(etc);
  for (const [name, text] of Object.entries(cm.data!)) writeFileSync(join(etc, name), text);
  const printed = spawnSync(
    process.execPath,
    [
      CLI,
      'nats-config',
      '--secrets',
      join(dir, 'secrets'),
      '--resolver-dir',
      '/data/accounts',
      '--data-dir',
      join(dir, 'cp'),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(printed.status, 0, printed.stderr);
  writeFileSync(join(etc, 'auth.conf'), printed.stdout);
  const env = Object.fromEntries(c.env!.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  const checked = spawnSync('nats-server', ['-c', join(etc, confPath.slice(mount.mountPath.length + 1)), '-t'], {
    encoding: 'utf8',
    env: { ...process.env, ...env, NATS_SERVER_NAME: 'vigil-nats-0', NATS_STORE_DIR: join(dir, 'data') },
  });
  assert.equal(checked.status, 0, checked.stderr);
  assert.match(checked.stderr, /is valid/);
  assert.match(readFileSync(join(etc, 'auth.conf'), 'utf8'), /^operator: /m);

  // The control plane holds the operator keys (a Secret) and keeps what it enrolled on its volume.
  const cp = find('Deployment', 'vigil-control-plane');
  const cpPod = podOf(cp);
  const args = cpPod.containers[0]!.args!;
  const volumeAt = (flag: string) => {
    const path = args.find((a) => a.startsWith(`${flag}=`))!.slice(flag.length + 1);
    const m = cpPod.containers[0]!.volumeMounts!.find((v) => v.mountPath === path)!;
    return cpPod.volumes!.find((v) => v.name === m.name)!;
  };
  assert.equal(volumeAt('--nats-secrets').secret?.secretName, 'vigil-nats-secrets');
  const claim = volumeAt('--data-dir').persistentVolumeClaim!.claimName;
  assert.ok(find('PersistentVolumeClaim', claim), 'enrolled hosts and revocations survive a restart');
});
