// Least privilege under the real RBAC authorizer: the chart's RBAC is installed in a fresh release namespace,
// the adapter runs in-process as its ServiceAccount (a TokenRequest token), the main scenario runs (create →
// Flux objects → Deployed → retry → delete), and every API request the adapter makes is recorded. No request
// may be denied, and every (resource, verb) the chart grants must have been used; the one exception is
// allow-listed below with its reason and checked with a SubjectAccessReview instead.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import YAML from 'yaml';
import { FINALIZER, FLUX_FINALIZER, REQUESTED_AT_ANNOTATION, workflowIdFor } from '../../src/workflow/constants';
import { startAdapter, type AdapterHandle } from '../../src/commands/adapter';
import { loadConfig } from '../../src/config';
import { fluxObjectName } from '../../src/plan/names';
import { KubeClient, KubeError, type KubeObject, type Verb } from '../../src/kube/client';
import { paths } from '../../src/kube/paths';
import { createLogger } from '../../src/log';
import { ensureBuilt } from '../../src/testenv/build';
import { retryUpdate } from '../../src/workflow/defs';
import { helmTemplate, manifestPath, parseManifests, repoRoot, type Manifest } from '../../scripts/render-deploy';
import { fastFlags } from '../support/adapter';
import {
  createHelmTemplate,
  createKubeconfigSecret,
  createKustomizeTemplate,
  createNamespace,
  createServiceSet,
  createSmp,
  eventually,
  getServiceSet,
  setFluxStatus,
  testEnv,
  uniqueName,
} from '../support/env';

/** The kubeconfig user of the ServiceAccount identity: requests of clients using it are recorded. */
const SA_USER = 'ksm-flux-serviceaccount';
const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

/**
 * Granted but not exercised by the scenario, each with why it is granted; the test checks with a
 * SubjectAccessReview that the ServiceAccount holds it.
 */
const ALLOWED_UNUSED: Record<string, string> = {
  // HelmReleases/Kustomizations carry a controller ownerReference to their ServiceSet with
  // blockOwnerDeletion: true. With the OwnerReferencesPermissionEnforcement admission plugin (off in this
  // test control plane, on in some distributions) the apply that sets it is authorized against
  // `update servicesets/finalizers`; the adapter never calls that subresource itself.
  'k0rdent.mirantis.com/servicesets/finalizers:update': 'OwnerReferencesPermissionEnforcement',
  // Read only for services whose values are Go templates or that name valuesFrom (none in this scenario;
  // test/integration/values.test.ts covers them).
  'core/configmaps:get': 'valuesFrom ConfigMaps',
  'cluster.x-k8s.io/clusters:get': 'values templates (.Cluster)',
  'lib.projectsveltos.io/sveltosclusters:get': 'values templates (.Cluster of adopted/mgmt clusters)',
};

interface Rec {
  verb: Verb;
  path: string;
  status: number;
}
const records: Rec[] = [];

function isServiceAccountClient(c: KubeClient): boolean {
  return c.kc.getCurrentUser()?.name === SA_USER;
}

// Every client the adapter builds comes from KubeClient.fromDefault: chain a recorder in front of the
// onRequest hook it sets (status of every non-watch request, including 201 for an apply that creates).
const fromDefault = KubeClient.fromDefault.bind(KubeClient);
KubeClient.fromDefault = (kubeconfigPath?: string) => {
  const c = fromDefault(kubeconfigPath);
  if (isServiceAccountClient(c)) {
    let inner: KubeClient['onRequest'];
    Object.defineProperty(c, 'onRequest', {
      configurable: true,
      get: () => (verb: Verb, p: string, status: number) => {
        records.push({ verb, path: p, status });
        inner?.(verb, p, status);
      },
      set: (f: KubeClient['onRequest']) => (inner = f),
    });
  }
  return c;
};
// Watches do not report through onRequest: record each, and a denial rejects at once with its status.
const watch = Object.getOwnPropertyDescriptor(KubeClient.prototype, 'watch')!.value as (
  this: KubeClient,
  ...args: Parameters<KubeClient['watch']>
) => Promise<void>;
KubeClient.prototype.watch = async function (this: KubeClient, ...args: Parameters<KubeClient['watch']>) {
  if (!isServiceAccountClient(this)) return watch.apply(this, args);
  const rec: Rec = { verb: 'watch', path: args[0], status: 200 };
  records.push(rec);
  try {
    await watch.apply(this, args);
  } catch (e) {
    if (e instanceof KubeError) rec.status = e.status;
    throw e;
  }
};

interface Target {
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

/** API group, resource[/subresource], namespace and name of a request path. */
function parsePath(p: string): Target {
  const seg = p.split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  const core = seg[0] === 'api';
  const group = core ? '' : seg[1]!;
  let rest = seg.slice(core ? 2 : 3);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, sub] = rest;
  return {
    group,
    resource: sub ? `${resource}/${sub}` : resource!,
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
  };
}

const key = (group: string, resource: string, verb: string) => `${group || 'core'}/${resource}:${verb}`;

/** The RBAC verbs a recorded request was authorized for (an apply that created: patch and create). */
function verbsOf(r: Rec): string[] {
  return r.verb === 'patch' && r.status === 201 ? ['patch', 'create'] : [r.verb];
}

const denied = (r: Rec) => r.status === 401 || r.status === 403;
/** Authorization comes first: any answer but 401/403 (e.g. 404 for the Lease's first read) means allowed. */
const authorized = (r: Rec) => r.status !== 0 && !denied(r);

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Grant {
  /** Set for a Role's rules: the grant holds in this namespace only. */
  namespace?: string;
  resourceNames?: string[];
}

/** Every (group/resource, verb) the rules grant. */
function grants(roles: Manifest[]): Map<string, Grant> {
  const out = new Map<string, Grant>();
  for (const role of roles) {
    for (const rule of role.rules as Rule[]) {
      for (const g of rule.apiGroups)
        for (const res of rule.resources)
          for (const v of rule.verbs) {
            assert.ok(!out.has(key(g, res, v)), `${key(g, res, v)} is granted once`);
            out.set(key(g, res, v), {
              ...(role.kind === 'Role' ? { namespace: role.metadata.namespace } : {}),
              ...(rule.resourceNames ? { resourceNames: rule.resourceNames } : {}),
            });
          }
    }
  }
  return out;
}

describe('RBAC: the chart grants exactly what the adapter uses', () => {
  const env = testEnv();
  const { kube } = env;
  const releaseNs = uniqueName('ksmf-rbac');
  const ns = uniqueName('rbac-ss');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-rbac-'));
  let rbac: Manifest[];
  let saName: string;
  let watcherFlags: Map<string, string>;
  let adapter: AdapterHandle | undefined;
  let connection: Connection | undefined;
  let smpName: string;

  const sar = async (attrs: Record<string, string>): Promise<boolean> => {
    const r = await kube.create<{ status: { allowed: boolean } }>(
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: `system:serviceaccount:${releaseNs}:${saName}`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${releaseNs}`, 'system:authenticated'],
          resourceAttributes: attrs,
        },
      },
    );
    return r.status.allowed;
  };

  before(async () => {
    await ensureBuilt(['helm']);
    const all = parseManifests(await helmTemplate({ namespace: releaseNs }));
    // The adapter's identity; the chart's kustomize-controller (kcm mode) has its own, checked in chart.test.ts.
    rbac = all.filter(
      (o) =>
        RBAC_KINDS.includes(o.kind) &&
        (o.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/component'] !==
          'kustomize-controller',
    );
    assert.deepEqual(rbac.map((o) => o.kind).sort(), [...RBAC_KINDS].sort());
    saName = rbac.find((o) => o.kind === 'ServiceAccount')!.metadata.name;
    // The identity flags the chart gives the watcher (adapter name, lease) are the ones this test runs with.
    const argsOf = (o: Manifest) =>
      (o as unknown as { spec: { template: { spec: { containers: { args: string[] }[] } } } }).spec.template.spec
        .containers[0]!.args;
    const watcherArgs = argsOf(all.find((o) => o.kind === 'Deployment' && argsOf(o)[0] === 'watcher')!);
    watcherFlags = new Map(
      watcherArgs
        .filter((a) => a.startsWith('--') && a.includes('='))
        .map((a) => [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
    );

    await createNamespace(kube, releaseNs);
    for (const o of rbac) await kube.apply(manifestPath(o), o, 'ksm-flux-rbac-test');

    // A token for the ServiceAccount, and a kubeconfig with it: server and CA from the admin kubeconfig.
    const tr = await kube.create<{ status: { token: string } }>(
      `/api/v1/namespaces/${releaseNs}/serviceaccounts/${saName}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    );
    const admin = new k8s.KubeConfig();
    admin.loadFromFile(env.kubeconfig);
    const cluster = admin.getCurrentCluster()!;
    const caData = cluster.caData ?? fs.readFileSync(cluster.caFile!).toString('base64');
    const kubeconfig = path.join(tmp, 'kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'testenv', cluster: { server: cluster.server, 'certificate-authority-data': caData } }],
        users: [{ name: SA_USER, user: { token: tr.status.token } }],
        contexts: [{ name: 'sa', context: { cluster: 'testenv', user: SA_USER } }],
        'current-context': 'sa',
      }),
      { mode: 0o600 },
    );
    // The identity really is the ServiceAccount: it may not do what the chart does not grant.
    const probe = KubeClient.fromDefault(kubeconfig);
    await assert.rejects(probe.list('/api/v1/namespaces/default/pods'), (e) => e instanceof KubeError && e.forbidden);
    probe.close();
    records.length = 0;

    const cfg = loadConfig(
      {
        kubeconfig,
        'temporal-address': env.temporalAddress,
        'temporal-namespace': env.temporalNamespace,
        'task-queue': `tq-${uniqueName('rbac')}`,
        'adapter-name': watcherFlags.get('adapter-name')!,
        'adapter-namespace': releaseNs, // in a pod: POD_NAMESPACE, the release namespace
        'leader-elect': watcherFlags.get('leader-elect')!,
        'lease-name': watcherFlags.get('lease-name')!,
        'lease-duration': '3s',
        'log-level': process.env.LOG_LEVEL ?? 'warn',
        ...fastFlags,
      },
      {},
    );
    adapter = await startAdapter('run', cfg, createLogger(cfg.logLevel, 'ksm-flux-rbac-test'));
    connection = await Connection.connect({ address: env.temporalAddress });
  });

  after(async () => {
    await adapter?.stop();
    await connection?.close();
    if (smpName) await kube.delete(paths.smp(smpName));
    for (const o of rbac ?? []) if (!o.metadata.namespace) await kube.delete(manifestPath(o));
    await kube.delete(paths.namespace(ns));
    await kube.delete(paths.namespace(releaseNs));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs the main scenario as the ServiceAccount: create, Deployed, retry, delete', async () => {
    const adapterName = watcherFlags.get('adapter-name')!;
    await eventually(
      'the watcher leads and is synced',
      async () => adapter!.elector?.isLeader && adapter!.watcher?.()?.synced,
    );

    smpName = uniqueName('smp-rbac');
    await createNamespace(kube, ns);
    await createSmp(kube, { name: smpName, adapterName, adapterNamespace: releaseNs });
    await createHelmTemplate(kube, ns, 'nginx-1-0-0');
    await createKustomizeTemplate(kube, ns, 'app-ks');
    await createKubeconfigSecret(kube, ns, 'cluster1');
    const ss = await createServiceSet(kube, {
      namespace: ns,
      name: 'cd',
      provider: smpName,
      labels: { 'ksm.k0rdent.mirantis.com/adapter': adapterName },
      services: [
        { name: 'nginx', namespace: 'web', template: 'nginx-1-0-0', version: '1.0.0' },
        { name: 'app', namespace: 'apps', template: 'app-ks' },
      ],
    });
    const uid = ss.metadata.uid!;
    const hr = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('cd', 'web', 'nginx') };
    const ks = { kind: 'Kustomization' as const, namespace: ns, name: fluxObjectName('cd', 'apps', 'app') };

    await eventually(
      'HelmRelease and Kustomization',
      async () => (await kube.get(paths.flux(hr))) && kube.get(paths.flux(ks)),
    );
    // Flux's own finalizer, as helm-controller adds it: deletion then waits for Flux to let go.
    await kube.mergePatch(paths.flux(hr), { metadata: { finalizers: [FLUX_FINALIZER] } }, 'rbac-test-flux');
    const provisioning = await eventually('Provisioning status', async () => {
      const o = await getServiceSet(kube, ns, 'cd');
      return o?.status?.services?.length === 2 && o;
    });
    assert.ok(provisioning.metadata.finalizers.includes(FINALIZER), 'our finalizer');

    await setFluxStatus(kube, hr, { ready: 'True', reason: 'InstallSucceeded' });
    await setFluxStatus(kube, ks, { ready: 'True', reason: 'ReconciliationSucceeded' });
    await eventually('Deployed', async () => (await getServiceSet(kube, ns, 'cd'))?.status?.deployed === true);

    // A manual retry (as `ksm-flux retry` sends it): the pass asks Flux to reconcile both objects.
    const client = new Client({ connection: connection!, namespace: env.temporalNamespace });
    const outcome = await client.workflow
      .getHandle(workflowIdFor(uid))
      .executeUpdate(retryUpdate, { args: [{ reason: 'rbac test' }] });
    assert.equal(outcome.lastError, undefined);
    for (const ref of [hr, ks]) {
      const o = await kube.get<KubeObject>(paths.flux(ref));
      assert.ok(
        (o?.metadata.annotations as Record<string, string>)?.[REQUESTED_AT_ANNOTATION],
        `${ref.kind} reconcile requested`,
      );
    }

    await kube.delete(paths.serviceSet(ns, 'cd'));
    await eventually(
      'HelmRelease being deleted',
      async () => (await kube.get(paths.flux(hr)))?.metadata.deletionTimestamp,
    );
    // Flux uninstalled the release and lets go.
    await kube.mergePatch(paths.flux(hr), { metadata: { finalizers: null } }, 'rbac-test-flux');
    await eventually(
      'Flux objects gone',
      async () => !(await kube.get(paths.flux(hr))) && !(await kube.get(paths.flux(ks))),
    );
    await eventually('ServiceSet gone', async () => !(await getServiceSet(kube, ns, 'cd')), 30_000);

    // Let the Lease be renewed at least once more, then stop: watches end and the Lease is released.
    await new Promise((r) => setTimeout(r, 1500));
    await adapter!.stop();
    adapter = undefined;
  });

  it('was never denied, used every granted (resource, verb), and nothing else', async (t) => {
    assert.ok(records.length > 0, 'requests were recorded');
    const deniedReqs = records.filter(denied);
    assert.deepEqual(
      deniedReqs.map((r) => `${r.status} ${r.verb} ${r.path}`),
      [],
      'no request of the adapter was denied (a permission is missing)',
    );

    const roles = rbac.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    const granted = grants(roles);
    const used = new Map<string, number>();
    const outOfScope: string[] = [];
    for (const r of records.filter(authorized)) {
      const tgt = parsePath(r.path);
      for (const v of verbsOf(r)) {
        const k = key(tgt.group, tgt.resource, v);
        used.set(k, (used.get(k) ?? 0) + 1);
        // A Role's grant holds only in its namespace, and a rule with resourceNames only for those names.
        const g = granted.get(k);
        if (g?.namespace !== undefined && tgt.namespace !== g.namespace) outOfScope.push(`${v} ${r.path}`);
        if (g?.resourceNames && v !== 'create' && !g.resourceNames.includes(tgt.name ?? ''))
          outOfScope.push(`${v} ${r.path}`);
      }
    }
    assert.deepEqual(outOfScope, [], 'namespaced and named grants are used only where they apply');

    // The table of what the adapter did, per resource.
    const byResource = new Map<string, string[]>();
    for (const k of [...new Set([...granted.keys(), ...used.keys()])].sort()) {
      const [res, verb] = k.split(':') as [string, string];
      const n = used.get(k);
      byResource.set(res, [
        ...(byResource.get(res) ?? []),
        n ? `${verb} (${n})` : `${verb} (unused: ${ALLOWED_UNUSED[k] ?? 'NOT ALLOWED'})`,
      ]);
    }
    const lines = [
      `${'group/resource'.padEnd(52)} verbs used (requests)`,
      ...[...byResource]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([res, verbs]) => `${res.padEnd(52)} ${verbs.join(', ')}`),
    ];
    for (const l of lines) t.diagnostic(l);
    fs.mkdirSync(path.join(repoRoot, 'test-artifacts'), { recursive: true });
    fs.writeFileSync(path.join(repoRoot, 'test-artifacts', 'rbac-verbs-used.txt'), `${lines.join('\n')}\n`);

    const notGranted = [...used.keys()].filter((k) => !granted.has(k));
    assert.deepEqual(notGranted, [], 'everything the adapter did is granted by the chart itself');
    const unused = [...granted.keys()].filter((k) => !used.has(k)).sort();
    assert.deepEqual(
      unused,
      Object.keys(ALLOWED_UNUSED).sort(),
      'every granted (resource, verb) is used, or allow-listed with its reason',
    );

    for (const k of Object.keys(ALLOWED_UNUSED)) {
      const m = /^(.*?)\/([^:]*):(.*)$/.exec(k)!;
      const [resource, subresource] = m[2]!.split('/') as [string, string | undefined];
      assert.equal(
        await sar({
          group: m[1] === 'core' ? '' : m[1]!,
          resource,
          ...(subresource ? { subresource } : {}),
          verb: m[3]!,
          namespace: ns,
          name: 'cd',
        }),
        true,
        `${k} is granted (${ALLOWED_UNUSED[k]})`,
      );
    }
  });

  it('denies what the adapter does not need (SubjectAccessReview)', async () => {
    const k0 = 'k0rdent.mirantis.com';
    const cases: Record<string, string>[] = [
      { group: '', resource: 'secrets', verb: 'create', namespace: ns },
      { group: '', resource: 'configmaps', verb: 'update', namespace: ns },
      { group: '', resource: 'events', verb: 'create', namespace: ns },
      { group: k0, resource: 'servicesets', verb: 'create', namespace: ns },
      { group: k0, resource: 'servicesets', verb: 'update', namespace: ns },
      { group: k0, resource: 'servicesets', verb: 'delete', namespace: ns },
      { group: k0, resource: 'servicesets', subresource: 'status', verb: 'update', namespace: ns },
      { group: k0, resource: 'statemanagementproviders', verb: 'patch' },
      { group: k0, resource: 'servicetemplates', verb: 'patch', namespace: ns },
      { group: k0, resource: 'clusterdeployments', verb: 'list', namespace: ns },
      { group: 'helm.toolkit.fluxcd.io', resource: 'helmreleases', verb: 'update', namespace: ns },
      {
        group: 'helm.toolkit.fluxcd.io',
        resource: 'helmreleases',
        subresource: 'status',
        verb: 'patch',
        namespace: ns,
      },
      { group: 'kustomize.toolkit.fluxcd.io', resource: 'kustomizations', verb: 'deletecollection', namespace: ns },
      { group: 'source.toolkit.fluxcd.io', resource: 'helmcharts', verb: 'get', namespace: ns },
      { group: 'events.k8s.io', resource: 'events', verb: 'list', namespace: ns },
      {
        group: 'coordination.k8s.io',
        resource: 'leases',
        verb: 'get',
        namespace: 'default',
        name: watcherFlags.get('lease-name')!,
      },
      {
        group: 'coordination.k8s.io',
        resource: 'leases',
        verb: 'update',
        namespace: releaseNs,
        name: 'some-other-lease',
      },
      {
        group: 'coordination.k8s.io',
        resource: 'leases',
        verb: 'delete',
        namespace: releaseNs,
        name: watcherFlags.get('lease-name')!,
      },
    ];
    const allowed: string[] = [];
    for (const c of cases) if (await sar(c)) allowed.push(JSON.stringify(c));
    assert.deepEqual(allowed, []);
  });
});
