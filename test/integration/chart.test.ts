// The Helm chart with the real helm binary: lint (also --strict), renderings with default values, TLS and
// custom replicas, deploy/ksm-flux.yaml kept equal to the default rendering, no RBAC wildcard, and every
// rendered object accepted by the real API server through server-side apply.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeError } from '../../src/kube/client';
import { requiredPermissions } from '../../src/rbac';
import { ensureBuilt } from '../../src/testenv/build';
import { pinnedSourceDir, pinnedSourceVersion } from '../../src/testenv/pinnedSources';
import { CHART_KUSTOMIZE_CONTROLLER_ARGS } from '../../src/testenv/fluxModes';
import { toolPaths, versions } from '../../src/testenv/versions';
import YAML from 'yaml';
import {
  chartDir,
  defaultRelease,
  deployFile,
  helm,
  helmTemplate,
  manifestPath,
  parseManifests,
  renderDeploy,
  type Manifest,
} from '../../scripts/render-deploy';
import { createNamespace, testEnv } from '../support/env';

const FIELD_MANAGER = 'ksm-flux-chart-test';

interface Container {
  name: string;
  image: string;
  command?: string[];
  args: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  securityContext: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface Deployment extends Manifest {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: Record<string, unknown>;
        containers: Container[];
        volumes: { name: string; secret?: { secretName: string } }[];
      };
    };
  };
}

interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  readinessRule: string;
}

interface Smp extends Manifest {
  spec: {
    adapter: ObjectRef;
    provisioner: ObjectRef[];
    provisionerCRDs: unknown[];
    selector: { matchLabels: Record<string, string> };
    suspend: boolean;
  };
}

interface Service extends Manifest {
  metadata: Manifest['metadata'] & { annotations: Record<string, string> };
  spec: { ports: unknown[]; selector: Record<string, string> };
}

/** The chart's own kustomize-controller (kcm mode), told apart from the adapter's objects by its component. */
const isKustomizeController = (o: Manifest) =>
  (o.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/component'] === 'kustomize-controller';

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
/** group|resource|verb of every rule. */
const ruleSet = (rules: Rule[]) =>
  new Set(
    rules.flatMap((r) =>
      r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}|${res}|${v}`))),
    ),
  );

function find<T extends Manifest = Manifest>(objs: Manifest[], kind: string, name?: string): T {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  assert.ok(o, `rendered ${kind}${name ? ` ${name}` : ''}`);
  return o as T;
}

function container(d: Deployment): Container {
  const cs = d.spec.template.spec.containers;
  assert.equal(cs.length, 1, `${d.metadata.name} has one container`);
  return cs[0]!;
}

/** Flag values by name from `--name=value` args. */
function flags(args: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of args) {
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1));
  }
  return m;
}

/** Every string anywhere inside a value. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

describe('chart charts/ksm-flux (real helm)', () => {
  const { kube } = testEnv();
  let defaults: Manifest[];
  let defaultText: string;

  before(async () => {
    await ensureBuilt(['helm']);
    defaultText = await helmTemplate();
    defaults = parseManifests(defaultText);
  });

  it('helm lint passes, also with --strict', async () => {
    for (const args of [
      ['lint', chartDir],
      ['lint', '--strict', chartDir],
    ]) {
      const r = await helm(args);
      assert.equal(r.code, 0, `helm ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders the expected objects with default values', () => {
    assert.deepEqual(defaults.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ClusterRole/ksm-flux-ksm-flux',
      'ClusterRole/ksm-flux-kustomize-controller-ksm-flux',
      'ClusterRoleBinding/ksm-flux-ksm-flux',
      'ClusterRoleBinding/ksm-flux-kustomize-controller-ksm-flux',
      'ConfigMap/ksm-flux-provider-config-schema',
      'Deployment/ksm-flux',
      'Deployment/ksm-flux-kustomize-controller',
      'Deployment/ksm-flux-worker',
      'Role/ksm-flux-kustomize-controller-leader-election',
      'Role/ksm-flux-leader-election',
      'RoleBinding/ksm-flux-kustomize-controller-leader-election',
      'RoleBinding/ksm-flux-leader-election',
      'Service/ksm-flux-metrics',
      'ServiceAccount/ksm-flux',
      'ServiceAccount/ksm-flux-kustomize-controller',
      'StateManagementProvider/ksm-flux',
    ]);
    for (const o of defaults) {
      if (['ClusterRole', 'ClusterRoleBinding', 'StateManagementProvider'].includes(o.kind))
        assert.equal(o.metadata.namespace, undefined, `${o.kind} is cluster-scoped`);
      else assert.equal(o.metadata.namespace, defaultRelease.namespace, `${o.kind} ${o.metadata.name} namespace`);
    }

    const watcher = find<Deployment>(defaults, 'Deployment', 'ksm-flux');
    const worker = find<Deployment>(defaults, 'Deployment', 'ksm-flux-worker');
    assert.equal(watcher.spec.replicas, 2);
    assert.equal(worker.spec.replicas, 2);
    const wc = container(watcher);
    const kc = container(worker);
    // The image's entrypoint is the ksm-flux CLI: no command, the mode is the first argument.
    assert.equal(wc.command, undefined);
    assert.equal(kc.command, undefined);
    assert.equal(wc.args[0], 'watcher');
    assert.equal(kc.args[0], 'worker');
    assert.equal(wc.image, 'ksm-flux:0.1.0');
    const wf = flags(wc.args);
    const kf = flags(kc.args);
    for (const f of [wf, kf]) {
      assert.equal(f.get('temporal-address'), 'temporal-frontend.temporal.svc:7233');
      assert.equal(f.get('temporal-namespace'), 'default');
      assert.equal(f.get('task-queue'), 'ksm-flux');
      assert.equal(f.get('adapter-name'), 'ksm-flux');
      assert.equal(f.get('log-level'), 'info');
      assert.equal(f.get('flux-mode'), 'kcm', "kcm's bundled Flux by default");
      assert.equal(f.get('metrics-addr'), ':8080');
      assert.equal(f.get('health-addr'), ':8081');
      assert.equal(f.has('temporal-tls'), false);
      assert.equal(f.has('kubeconfig'), false, 'in-cluster config');
    }
    assert.equal(wf.get('leader-elect'), 'true');
    assert.equal(wf.get('lease-name'), 'ksm-flux-watcher');
    assert.equal(kf.has('leader-elect'), false, 'workers need no election');
    assert.equal(kf.get('max-concurrent-activities'), '50');

    for (const d of [watcher, worker]) {
      const c = container(d);
      const pod = d.spec.template.spec;
      assert.equal(pod.serviceAccountName, 'ksm-flux');
      assert.deepEqual(
        c.env?.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom,
        { fieldRef: { fieldPath: 'metadata.namespace' } },
        'POD_NAMESPACE from the downward API',
      );
      assert.equal(
        c.env?.some((e) => e.name === 'KUBECONFIG'),
        false,
      );
      assert.deepEqual(
        c.ports.map((p) => [p.name, p.containerPort]),
        [
          ['metrics', 8080],
          ['health', 8081],
        ],
      );
      assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'health' });
      assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'health' });
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.runAsUser, 65532);
      assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels))
        assert.equal(d.spec.template.metadata.labels[k], v, `${d.metadata.name}'s selector matches its pods`);
    }

    const svc = find<Service>(defaults, 'Service', 'ksm-flux-metrics');
    assert.deepEqual(svc.spec.ports, [{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
    assert.equal(svc.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(svc.metadata.annotations['prometheus.io/port'], '8080');
    for (const d of [watcher, worker]) {
      const labels = d.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(svc.spec.selector))
        assert.equal(labels[k], v, `the metrics Service selects ${d.metadata.name}'s pods`);
    }

    const smp = find<Smp>(defaults, 'StateManagementProvider', 'ksm-flux');
    assert.equal(smp.apiVersion, 'k0rdent.mirantis.com/v1beta1');
    const { readinessRule, ...adapterRef } = smp.spec.adapter;
    assert.deepEqual(adapterRef, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'ksm-flux',
      namespace: 'ksm-flux',
    });
    assert.match(readinessRule, /^has\(self\.status\) && has\(self\.status\.availableReplicas\) && /);
    // kcm mode: kcm's own helm- and source-controller, and the chart's kustomize-controller.
    assert.deepEqual(
      smp.spec.provisioner.map((p) => `${p.apiVersion} ${p.kind} ${p.namespace}/${p.name}`),
      [
        'apps/v1 Deployment kcm-system/helm-controller',
        'apps/v1 Deployment kcm-system/source-controller',
        'apps/v1 Deployment ksm-flux/ksm-flux-kustomize-controller',
      ],
    );
    for (const p of smp.spec.provisioner) assert.match(p.readinessRule, /self\.status/);
    assert.deepEqual(smp.spec.provisionerCRDs, [
      { group: 'helm.toolkit.fluxcd.io', version: 'v2', resources: ['helmreleases'] },
      { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', resources: ['kustomizations'] },
      {
        group: 'source.toolkit.fluxcd.io',
        version: 'v1',
        resources: ['helmcharts', 'gitrepositories', 'ocirepositories', 'buckets'],
      },
    ]);
    assert.deepEqual(smp.spec.selector, { matchLabels: { 'ksm.k0rdent.mirantis.com/adapter': 'ksm-flux' } });
    assert.equal(smp.spec.suspend, false);
  });

  it('grants no RBAC wildcard', () => {
    const roles = defaults.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    assert.equal(roles.length, 4, "the adapter's and the kustomize-controller's");
    for (const r of roles) {
      const rules = r.rules as Record<string, unknown>[];
      assert.ok(rules.length > 0);
      for (const rule of rules) {
        assert.equal(rule.nonResourceURLs, undefined, `${r.kind} ${r.metadata.name}: no non-resource URLs`);
        for (const s of strings(rule)) assert.ok(!s.includes('*'), `${r.kind} ${r.metadata.name}: "${s}" in a rule`);
      }
    }
    const binding = find(defaults, 'ClusterRoleBinding', 'ksm-flux-ksm-flux');
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'ksm-flux', namespace: 'ksm-flux' }]);
    for (const b of defaults.filter((o) => o.kind.endsWith('Binding')))
      assert.notEqual(
        (b.roleRef as { name: string }).name,
        'cluster-admin',
        `${b.metadata.name}: no cluster-admin by default`,
      );
  });

  it('grants exactly the permissions `ksm-flux doctor` checks (src/rbac.ts)', () => {
    const granted = new Set<string>();
    for (const r of defaults.filter(
      (o) => (o.kind === 'ClusterRole' || o.kind === 'Role') && !isKustomizeController(o),
    )) {
      for (const rule of r.rules as {
        apiGroups: string[];
        resources: string[];
        verbs: string[];
        resourceNames?: string[];
      }[]) {
        for (const g of rule.apiGroups)
          for (const res of rule.resources)
            for (const v of rule.verbs)
              granted.add(
                `${g}|${res}|${v}|${r.kind === 'Role' ? 'ns' : 'cluster'}|${rule.resourceNames?.join(',') ?? ''}`,
              );
      }
    }
    const required = new Set(
      requiredPermissions('ksm-flux').map(
        (p) =>
          `${p.group}|${p.resource}${p.subresource ? `/${p.subresource}` : ''}|${p.verb}|${p.namespace ? 'ns' : 'cluster'}|${p.name ?? ''}`,
      ),
    );
    assert.deepEqual([...granted].sort(), [...required].sort());
  });

  it('deploy/ksm-flux.yaml is the current default rendering (npx tsx scripts/render-deploy.ts)', async () => {
    assert.ok(fs.existsSync(deployFile), 'deploy/ksm-flux.yaml exists');
    const file = fs.readFileSync(deployFile, 'utf8');
    assert.equal(file, await renderDeploy(), 'deploy/ksm-flux.yaml is stale: run npx tsx scripts/render-deploy.ts');
    // Formatting aside, the file holds exactly what helm rendered, and the Kustomization CRD kcm does not install.
    const withCrds = parseManifests(await helmTemplate({ includeCrds: true }));
    assert.deepEqual(parseManifests(file), withCrds);
    assert.deepEqual(
      withCrds
        .filter((o) => !defaults.some((d) => d.kind === o.kind && d.metadata.name === o.metadata.name))
        .map((o) => `${o.kind}/${o.metadata.name}`),
      ['CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io'],
    );
  });

  it('renders Temporal mTLS from an existing Secret and custom replicas', async () => {
    const objs = parseManifests(
      await helmTemplate({
        namespace: 'kcm-system',
        set: {
          'temporal.tls.enabled': true,
          'temporal.tls.existingSecret': 'temporal-client-tls',
          'temporal.address': 'temporal.example.internal:7233',
          'watcher.replicas': 3,
          'worker.replicas': 5,
          'adapter.name': 'flux-adapter',
        },
      }),
    );
    const watcher = find<Deployment>(objs, 'Deployment', 'flux-adapter');
    const worker = find<Deployment>(objs, 'Deployment', 'flux-adapter-worker');
    assert.equal(watcher.spec.replicas, 3);
    assert.equal(worker.spec.replicas, 5);
    for (const d of [watcher, worker]) {
      const c = container(d);
      const f = flags(c.args);
      assert.equal(f.get('temporal-tls'), 'true');
      assert.equal(f.get('temporal-address'), 'temporal.example.internal:7233');
      assert.equal(f.get('adapter-name'), 'flux-adapter');
      const mount = c.volumeMounts?.find((m) => m.name === 'temporal-tls');
      assert.ok(mount?.readOnly, 'TLS Secret mounted read-only');
      assert.equal(f.get('temporal-tls-cert'), `${mount.mountPath}/tls.crt`);
      assert.equal(f.get('temporal-tls-key'), `${mount.mountPath}/tls.key`);
      assert.equal(f.get('temporal-tls-ca'), `${mount.mountPath}/ca.crt`);
      assert.deepEqual(d.spec.template.spec.volumes.find((v) => v.name === 'temporal-tls')?.secret, {
        secretName: 'temporal-client-tls',
      });
    }
    const smp = find<Smp>(objs, 'StateManagementProvider');
    assert.equal(smp.spec.adapter.name, 'flux-adapter');
    assert.equal(smp.spec.adapter.namespace, 'kcm-system');
    assert.deepEqual(smp.spec.selector.matchLabels, { 'ksm.k0rdent.mirantis.com/adapter': 'flux-adapter' });

    // TLS without a Secret: system roots, no client certificate, nothing mounted.
    const plain = parseManifests(await helmTemplate({ set: { 'temporal.tls.enabled': true } }));
    const c = container(find<Deployment>(plain, 'Deployment', 'ksm-flux'));
    assert.equal(flags(c.args).get('temporal-tls'), 'true');
    assert.equal(flags(c.args).has('temporal-tls-cert'), false);
    assert.equal(
      c.volumeMounts?.some((m) => m.name === 'temporal-tls'),
      false,
    );
  });

  it('leaves out the Lease Role without leader election, and the SMP when asked', async () => {
    const objs = parseManifests(
      await helmTemplate({
        set: {
          'watcher.leaderElection.enabled': false,
          'watcher.replicas': 1,
          'stateManagementProvider.create': false,
        },
      }),
    );
    assert.deepEqual(
      // (The kustomize-controller's own election Role stays: it always elects, see kustomize-controller.yaml.)
      objs.filter(
        (o) => ['Role', 'RoleBinding', 'StateManagementProvider'].includes(o.kind) && !isKustomizeController(o),
      ),
      [],
    );
    assert.equal(flags(container(find<Deployment>(objs, 'Deployment', 'ksm-flux')).args).get('leader-elect'), 'false');
  });

  it("kcm mode ships a kustomize-controller filtered like kcm's Flux, with kustomize-controller's own RBAC and CRD", async () => {
    const kc = find<Deployment>(defaults, 'Deployment', 'ksm-flux-kustomize-controller');
    const c = container(kc);
    assert.equal(kc.spec.replicas, 1);
    assert.equal(
      c.image,
      `fluxcd/kustomize-controller:v${versions.kustomizeController}`,
      'the version the testenv builds',
    );
    // The same arguments the testenv starts its kustomize-controller with (src/testenv/fluxModes.ts).
    assert.deepEqual(c.args, [...CHART_KUSTOMIZE_CONTROLLER_ARGS]);
    assert.ok(c.args.includes('--watch-label-selector=k0rdent.mirantis.com/managed=true'));
    assert.deepEqual(c.env?.find((e) => e.name === 'RUNTIME_NAMESPACE')?.valueFrom, {
      fieldRef: { fieldPath: 'metadata.namespace' },
    });
    assert.equal(kc.spec.template.spec.serviceAccountName, 'ksm-flux-kustomize-controller');
    for (const [k, v] of Object.entries(kc.spec.selector.matchLabels))
      assert.equal(kc.spec.template.metadata.labels[k], v);
    // Its selector does not pick the adapter's pods, nor theirs it.
    for (const d of ['ksm-flux', 'ksm-flux-worker'].map((n) => find<Deployment>(defaults, 'Deployment', n))) {
      const sel = Object.entries(d.spec.selector.matchLabels);
      assert.ok(
        !sel.every(([k, v]) => kc.spec.template.metadata.labels[k] === v),
        `${d.metadata.name} selects only its pods`,
      );
    }

    // RBAC: at least what kustomize-controller declares it needs (config/rbac/role.yaml of its module zip).
    const mod = 'github.com/fluxcd/kustomize-controller';
    assert.equal(pinnedSourceVersion(mod), `v${versions.kustomizeController}`, 'tools/sources pins the built version');
    const dir = await pinnedSourceDir(mod);
    const upstream = YAML.parse(fs.readFileSync(path.join(dir, 'config', 'rbac', 'role.yaml'), 'utf8')) as {
      rules: Rule[];
    };
    const role = find(defaults, 'ClusterRole', 'ksm-flux-kustomize-controller-ksm-flux');
    const granted = ruleSet(role.rules as Rule[]);
    for (const need of ruleSet(upstream.rules)) assert.ok(granted.has(need), `kustomize-controller needs ${need}`);
    assert.deepEqual([...granted].sort(), [...ruleSet(upstream.rules)].sort(), 'and nothing more');
    const binding = find(defaults, 'ClusterRoleBinding', 'ksm-flux-kustomize-controller-ksm-flux');
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'ksm-flux-kustomize-controller', namespace: 'ksm-flux' },
    ]);
    const le = find(defaults, 'Role', 'ksm-flux-kustomize-controller-leader-election');
    assert.ok(ruleSet(le.rules as Rule[]).has('coordination.k8s.io|leases|update'));

    // crds/: the Kustomization CRD, byte for byte the one the testenv installs (from the same module zip).
    assert.equal(
      fs.readFileSync(path.join(chartDir, 'crds', 'kustomize.toolkit.fluxcd.io_kustomizations.yaml'), 'utf8'),
      fs.readFileSync(path.join(toolPaths().crdDir, 'kustomize.toolkit.fluxcd.io_kustomizations.yaml'), 'utf8'),
    );

    // Local (self-management) Kustomizations need cluster-admin: only when asked.
    const admin = parseManifests(await helmTemplate({ set: { 'kustomizeController.clusterAdmin': true } }));
    const adminBinding = admin.find(
      (o) => o.kind === 'ClusterRoleBinding' && (o.roleRef as { name: string }).name === 'cluster-admin',
    );
    assert.deepEqual(adminBinding?.subjects, [
      { kind: 'ServiceAccount', name: 'ksm-flux-kustomize-controller', namespace: 'ksm-flux' },
    ]);
  });

  it('kcm mode without the kustomize-controller: the SMP names only what runs', async () => {
    const objs = parseManifests(await helmTemplate({ set: { 'kustomizeController.enabled': false } }));
    assert.deepEqual(objs.filter(isKustomizeController), []);
    assert.deepEqual(
      find<Smp>(objs, 'StateManagementProvider').spec.provisioner.map((p) => `${p.namespace}/${p.name}`),
      ['kcm-system/helm-controller', 'kcm-system/source-controller'],
    );
  });

  it('standalone mode: no kustomize-controller of ours, the SMP names the separate Flux, the adapter is told', async () => {
    const objs = parseManifests(
      await helmTemplate({ set: { 'flux.mode': 'standalone', 'flux.standalone.namespace': 'flux' } }),
    );
    assert.deepEqual(objs.filter(isKustomizeController), [], 'a standalone Flux has its own');
    assert.deepEqual(
      find<Smp>(objs, 'StateManagementProvider').spec.provisioner.map((p) => `${p.namespace}/${p.name}`),
      ['flux/helm-controller', 'flux/kustomize-controller', 'flux/source-controller'],
    );
    for (const n of ['ksm-flux', 'ksm-flux-worker'])
      assert.equal(flags(container(find<Deployment>(objs, 'Deployment', n)).args).get('flux-mode'), 'standalone');
  });

  it('rejects invalid values (values.schema.json)', async () => {
    await assert.rejects(helmTemplate({ set: { 'flux.mode': 'both' } }), /flux\/mode/);
    await assert.rejects(helmTemplate({ set: { 'adapter.name': 'Not_A_Label' } }), /adapter\/name/);
    await assert.rejects(helmTemplate({ set: { 'temporal.address': 'no-port' } }), /temporal\/address/);
    await assert.rejects(helmTemplate({ set: { unknownKey: 1 } }), /additional properties 'unknownKey'/);
  });

  describe('applied to the API server', () => {
    const ns = defaultRelease.namespace;
    const applied: Manifest[] = [];

    before(async () => {
      await createNamespace(kube, ns).catch((e) => {
        if (!(e instanceof KubeError && e.conflict)) throw e;
      });
    });
    after(async () => {
      for (const o of applied.filter((x) => !x.metadata.namespace)) await kube.delete(manifestPath(o));
      await kube.delete(`/api/v1/namespaces/${ns}`);
    });

    it('accepts every object of the default rendering (server-side apply)', async () => {
      for (const o of defaults) {
        const got = await kube.apply(manifestPath(o), o, FIELD_MANAGER);
        applied.push(o);
        assert.equal(got.kind, o.kind);
        assert.equal(got.metadata.name, o.metadata.name);
      }
      for (const o of defaults) {
        const stored = await kube.get<Manifest>(manifestPath(o));
        assert.ok(stored, `${o.kind} ${o.metadata.name} stored`);
        for (const field of ['spec', 'rules', 'roleRef', 'subjects'] as const) {
          if (o[field] === undefined) continue;
          // Stored objects gain defaults; everything the chart set is kept as set.
          assert.deepEqual(pick(stored[field], o[field]), o[field], `${o.kind} ${o.metadata.name} ${field}`);
        }
      }
    });

    it('accepts the TLS rendering too (server-side apply, dry run)', async () => {
      const objs = parseManifests(
        await helmTemplate({
          set: {
            'temporal.tls.enabled': true,
            'temporal.tls.existingSecret': 'temporal-client-tls',
            'watcher.replicas': 3,
            'worker.replicas': 5,
          },
        }),
      );
      for (const o of objs) {
        const q = new URLSearchParams({ fieldManager: FIELD_MANAGER, force: 'true', dryRun: 'All' });
        const got = await kube.request<Deployment>('patch', `${manifestPath(o)}?${q}`, {
          body: o,
          contentType: 'application/apply-patch+yaml',
        });
        assert.equal(got.metadata.name, o.metadata.name);
        if (o.kind === 'Deployment' && !isKustomizeController(o)) assert.ok([3, 5].includes(got.spec.replicas));
      }
    });
  });
});

/** The part of `stored` that has the shape of `want` (objects by key, arrays by index). */
function pick(stored: unknown, want: unknown): unknown {
  if (Array.isArray(want)) return Array.isArray(stored) ? want.map((w, i) => pick(stored[i], w)) : stored;
  if (want && typeof want === 'object') {
    if (!stored || typeof stored !== 'object') return stored;
    const s = stored as Record<string, unknown>;
    return Object.fromEntries(Object.entries(want).map(([k, w]) => [k, pick(s[k], w)]));
  }
  return stored;
}
