// Values as kcm users write them for the Sveltos provider, on the real API server: Go templates rendered with
// the cluster object, valuesFrom expanded per data key, what is not there yet waits, bad input is a named
// Failed, and rendered values never reach the Temporal history.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { REQUESTED_AT_ANNOTATION, workflowIdFor } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createCapiCluster, installCapiClusterCrd, installSveltosClusterCrd } from '../support/capi';
import { createServiceSet, eventsWith, eventually, getServiceSet, testEnv, uniqueName } from '../support/env';

describe('values (Go templates, valuesFrom) like Sveltos', () => {
  const { kube } = testEnv();
  const ns = uniqueName('vals');
  let adapter: TestAdapter;
  let smp: string;
  // Appears only in the cluster object's labels, hence only in rendered values.
  const marker = `m${Date.now().toString(36)}x`;
  const hr = (ss: string, svc: string) =>
    kube.get<any>(paths.flux({ kind: 'HelmRelease', namespace: ns, name: fluxObjectName(ss, 'web', svc) }));
  const entry = async (ss: string, svc: string) =>
    (await getServiceSet(kube, ns, ss))?.status?.services?.find((s: any) => s.name === svc);
  const stateOf = (ss: string, svc: string, state: string, re: RegExp = /.*/) =>
    eventually(`${ss}/${svc} ${state} with ${re}`, async () => {
      const e = await entry(ss, svc);
      return e?.state === state && re.test(e.failureMessage ?? '') && e;
    });
  /** What a service waits for is said in the FluxObjectsApplied condition (a Pending entry has no failureMessage). */
  const appliedCondition = async (ss: string) =>
    (await getServiceSet(kube, ns, ss))?.status?.conditions?.find((c: any) => c.type === 'FluxObjectsApplied');
  const cm = (name: string, data: Record<string, string>, annotations?: Record<string, string>) =>
    kube.apply(
      `/api/v1/namespaces/${ns}/configmaps/${name}`,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
        data,
      },
      'test',
    );

  before(async () => {
    await Promise.all([installCapiClusterCrd(kube), installSveltosClusterCrd(kube)]);
    adapter = await startTestAdapter();
    smp = await stage(adapter, ns, { helm: ['app'], clusters: ['cluster1', 'cluster2'] });
    await createCapiCluster(kube, ns, 'cluster1', { env: 'prod', marker });
  });
  after(async () => adapter?.stop());

  it('renders Go templates with .Cluster (sprig, if/trim, toYaml) before parsing; plain values stay as they are', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'tpl',
      provider: smp,
      services: [
        {
          name: 'tpl-a',
          namespace: 'web',
          template: 'app',
          values: [
            'cluster: {{ .Cluster.metadata.name | quote }}',
            '{{- if eq (index .Cluster.metadata.labels "env") "prod" }}',
            'replicas: 3',
            '{{- end }}',
            'labels:{{ .Cluster.metadata.labels | toYaml | nindent 2 }}',
            'region: {{ index .Cluster.metadata.labels "region" | default "eu" | upper }}',
            'cidr: {{ index .Cluster.spec.clusterNetwork.pods.cidrBlocks 0 }}',
          ].join('\n'),
        },
        { name: 'plain-a', namespace: 'web', template: 'app', values: 'text: "{ {not a template} }"\ncount: 1\n' },
      ],
    });
    const o: any = await eventually('templated HelmRelease', () => hr('tpl', 'tpl-a'));
    assert.deepEqual(o.spec.values, {
      cluster: 'cluster1',
      replicas: 3,
      labels: { env: 'prod', marker },
      region: 'EU',
      cidr: '10.244.0.0/16',
    });
    const p: any = await eventually('plain HelmRelease', () => hr('tpl', 'plain-a'));
    assert.deepEqual(p.spec.values, { text: '{ {not a template} }', count: 1 });

    // Rendered values (they carry the marker) never enter the workflow's history: only digests do.
    const connection = await Connection.connect({ address: testEnv().temporalAddress });
    try {
      const ss = await getServiceSet(kube, ns, 'tpl');
      const client = new Client({ connection, namespace: testEnv().temporalNamespace });
      const history = await client.workflow.getHandle(workflowIdFor(ss.metadata.uid)).fetchHistory();
      const text = JSON.stringify(history, (_k, v: unknown) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v,
      );
      assert.ok(text.length > 1000, 'a real history');
      assert.ok(!text.includes(marker), 'rendered values are not in the Temporal history');
    } finally {
      await connection.close();
    }
  });

  it('a template error is Failed naming the service, the line and the cause, with an Event; fixing it applies', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'tplbad',
      provider: smp,
      services: [{ name: 'bad-a', namespace: 'web', template: 'app', values: 'a: 1\nb: {{ .Cluster.spec.nope }}\n' }],
    });
    const e = await stateOf('tplbad', 'bad-a', 'Failed', /line 2/);
    assert.match(
      e.failureMessage,
      /values of service web\/bad-a, line 2: template error: .*map has no entry for key "nope"/,
    );
    await eventsWith(
      kube,
      ns,
      'a Warning event naming the cause',
      (ev) => ev.regarding.name === 'tplbad' && ev.type === 'Warning' && /nope/.test(ev.note),
    );
    assert.equal(await hr('tplbad', 'bad-a'), undefined, 'nothing applied');
    await kube.mergePatch(paths.serviceSet(ns, 'tplbad'), {
      spec: {
        services: [
          { name: 'bad-a', namespace: 'web', template: 'app', values: 'a: 1\nb: {{ .Cluster.metadata.name }}\n' },
        ],
      },
    });
    const o: any = await eventually('applied after the fix', () => hr('tplbad', 'bad-a'));
    assert.deepEqual(o.spec.values, { a: 1, b: 'cluster1' });
  });

  it('a template on a cluster whose Cluster object does not exist yet waits (Pending), then renders', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'tplwait',
      cluster: 'cluster2',
      provider: smp,
      services: [{ name: 'wait-a', namespace: 'web', template: 'app', values: 'c: {{ .Cluster.metadata.name }}\n' }],
    });
    await stateOf('tplwait', 'wait-a', 'Pending');
    assert.match((await appliedCondition('tplwait')).message, /web\/wait-a: .*waiting for Cluster .*cluster2/);
    await createCapiCluster(kube, ns, 'cluster2', {});
    const o: any = await eventually('rendered once the Cluster exists', () => hr('tplwait', 'wait-a'), 20_000);
    assert.deepEqual(o.spec.values, { c: 'cluster2' });
  });

  it('selfManagement: .Cluster is the SveltosCluster mgmt/mgmt that stands for the management cluster (as Sveltos)', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'tplself',
      selfManagement: true,
      cluster: '',
      provider: smp,
      services: [
        {
          name: 'self-a',
          namespace: 'web',
          template: 'app',
          values: 'c: {{ .Cluster.metadata.namespace }}/{{ .Cluster.metadata.name }}\n',
        },
      ],
    });
    await stateOf('tplself', 'self-a', 'Pending');
    assert.match((await appliedCondition('tplself')).message, /waiting for SveltosCluster mgmt\/mgmt/);
    await kube
      .create(`/api/v1/namespaces`, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mgmt' } })
      .catch(() => undefined);
    await kube
      .create('/apis/lib.projectsveltos.io/v1beta1/namespaces/mgmt/sveltosclusters', {
        apiVersion: 'lib.projectsveltos.io/v1beta1',
        kind: 'SveltosCluster',
        metadata: { name: 'mgmt', namespace: 'mgmt' },
        spec: { consecutiveFailureThreshold: 3 },
      })
      .catch((e: { status?: number }) => {
        if (e.status !== 409) throw e;
      });
    const o: any = await eventually('rendered with the SveltosCluster', () => hr('tplself', 'self-a'), 20_000);
    assert.deepEqual(o.spec.values, { c: 'mgmt/mgmt' });
  });

  it('valuesFrom: one Flux entry per data key in key order, missing objects wait, bad YAML is Failed naming the key', async () => {
    await cm('multi', { 'z.yaml': 'z: 1\n', 'a.yaml': 'a: 1\n' });
    await createServiceSet(kube, {
      namespace: ns,
      name: 'vf',
      provider: smp,
      services: [
        {
          name: 'vf-a',
          namespace: 'web',
          template: 'app',
          valuesFrom: [
            { kind: 'ConfigMap', name: 'multi' },
            { kind: 'Secret', name: 'creds' },
          ],
        },
      ],
    });
    await stateOf('vf', 'vf-a', 'Pending');
    assert.match((await appliedCondition('vf')).message, new RegExp(`waiting for Secret ${ns}/creds`));

    const secretValue = `password: s3cr3t-${marker}\n  broken: [`;
    await kube.create(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: ns },
      stringData: { 'values.yaml': secretValue },
    });
    const failed = await stateOf('vf', 'vf-a', 'Failed', /Secret .*creds key values\.yaml/);
    assert.doesNotMatch(failed.failureMessage, /s3cr3t/, 'no Secret content in the status');

    await kube.mergePatch(`/api/v1/namespaces/${ns}/secrets/creds`, {
      stringData: { 'values.yaml': 'password: ok\n' },
    });
    const o: any = await eventually('applied', () => hr('vf', 'vf-a'), 20_000);
    assert.deepEqual(o.spec.valuesFrom, [
      { kind: 'ConfigMap', name: 'multi', valuesKey: 'a.yaml' },
      { kind: 'ConfigMap', name: 'multi', valuesKey: 'z.yaml' },
      { kind: 'Secret', name: 'creds', valuesKey: 'values.yaml' },
    ]);
    const first = o.metadata.annotations[REQUESTED_AT_ANNOTATION];
    assert.match(first, /^valuesFrom-[0-9a-f]{16}$/);

    // Changing referenced data changes the reconcile request (Flux re-reads at once), with no data in it.
    await cm('multi', { 'z.yaml': 'z: 2\n', 'a.yaml': 'a: 1\n' });
    await eventually(
      'reconcile request follows the ConfigMap',
      async () => (await hr('vf', 'vf-a'))?.metadata.annotations[REQUESTED_AT_ANNOTATION] !== first,
      20_000,
    );
  });

  it('valuesFrom ConfigMap annotated projectsveltos.io/template: rendered with .Cluster and merged over values', async () => {
    await cm(
      'tplcm',
      { 'values.yaml': 'fromCm: {{ .Cluster.metadata.name }}\nshared: cm\n' },
      { 'projectsveltos.io/template': 'ok' },
    );
    await createServiceSet(kube, {
      namespace: ns,
      name: 'vft',
      provider: smp,
      services: [
        {
          name: 'vft-a',
          namespace: 'web',
          template: 'app',
          values: 'shared: inline\nown: 1\n',
          valuesFrom: [{ kind: 'ConfigMap', name: 'tplcm' }],
        },
      ],
    });
    const o: any = await eventually('applied', () => hr('vft', 'vft-a'));
    // Sveltos merges templated valuesFrom content last, over the values.
    assert.deepEqual(o.spec.values, { shared: 'cm', own: 1, fromCm: 'cluster1' });
    assert.equal(o.spec.valuesFrom, undefined, 'Flux is not asked to read the raw template');
  });

  it('Sveltos provider config: mapped keys reach the HelmRelease, keys without a Flux meaning are named, the rest applies', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'svcfg',
      provider: smp,
      config: {
        syncMode: 'ContinuousWithDriftDetection',
        driftExclusions: [{ paths: ['/spec/replicas'], target: { kind: 'Deployment' } }],
        reloader: true,
        priority: 150,
        interval: '7m',
      },
      services: [{ name: 'cfg-a', namespace: 'web', template: 'app' }],
    });
    const o: any = await eventually('applied', () => hr('svcfg', 'cfg-a'));
    assert.equal(o.spec.interval, '7m');
    assert.deepEqual(o.spec.driftDetection, {
      mode: 'enabled',
      ignore: [{ paths: ['/spec/replicas'], target: { kind: 'Deployment' } }],
    });
    const c: any = await eventually('ProviderConfigValid names reloader', async () =>
      (await getServiceSet(kube, ns, 'svcfg'))?.status?.conditions?.find(
        (x: any) => x.type === 'ProviderConfigValid' && /reloader/.test(x.message),
      ),
    );
    assert.equal(c.status, 'True');
    assert.match(c.message, /provider\.config\.reloader: .*Reloader/);
  });
});
