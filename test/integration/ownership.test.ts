// Ownership (SMP adapter identity + full LabelSelector), SMP readiness and suspension, pause, and a
// re-trigger on SMP changes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FINALIZER } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createHelmTemplate,
  createKubeconfigSecret,
  createNamespace,
  createServiceSet,
  createSmp,
  events,
  eventually,
  getServiceSet,
  setSmpReady,
  sleep,
  testEnv,
  uniqueName,
} from '../support/env';

describe('ownership, SMP readiness and pause', () => {
  const { kube } = testEnv();
  const ns = uniqueName('own');
  let adapter: TestAdapter;
  let id: { name: string; namespace: string };
  // Each ServiceSet gets its own release: the same release on the same cluster would be a conflict.
  const hr = (ss: string) =>
    paths.flux({ kind: 'HelmRelease', namespace: ns, name: fluxObjectName(ss, 'web', `nginx-${ss}`) });
  const svcFor = (ss: string) => [{ name: `nginx-${ss}`, namespace: 'web', template: 'nginx-1-0-0' }];

  before(async () => {
    adapter = await startTestAdapter();
    id = { name: adapter.cfg.adapterName, namespace: adapter.cfg.adapterNamespace };
    await createNamespace(kube, ns);
    await createHelmTemplate(kube, ns, 'nginx-1-0-0');
    await createKubeconfigSecret(kube, ns, 'cluster1');
  });
  after(async () => adapter?.stop());

  it('matches the SMP selector with matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist)', async () => {
    const smp = uniqueName('smp-sel');
    await createSmp(kube, {
      name: smp,
      adapterName: id.name,
      adapterNamespace: id.namespace,
      selector: {
        matchLabels: { team: 'platform' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['gold', 'silver'] },
          { key: 'env', operator: 'NotIn', values: ['prod'] },
          { key: 'owner', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      },
    });
    const base = { team: 'platform', tier: 'gold', env: 'dev', owner: 'me' };
    await createServiceSet(kube, {
      namespace: ns,
      name: 'sel-yes',
      provider: smp,
      labels: base,
      services: svcFor('sel-yes'),
    });
    await createServiceSet(kube, {
      namespace: ns,
      name: 'sel-in',
      provider: smp,
      labels: { ...base, tier: 'bronze' },
      services: svcFor('sel-in'),
    });
    await createServiceSet(kube, {
      namespace: ns,
      name: 'sel-notin',
      provider: smp,
      labels: { ...base, env: 'prod' },
      services: svcFor('sel-notin'),
    });
    await createServiceSet(kube, {
      namespace: ns,
      name: 'sel-exists',
      provider: smp,
      labels: { team: 'platform', tier: 'gold', env: 'dev' },
      services: svcFor('sel-exists'),
    });
    await createServiceSet(kube, {
      namespace: ns,
      name: 'sel-dne',
      provider: smp,
      labels: { ...base, legacy: 'x' },
      services: svcFor('sel-dne'),
    });
    await createServiceSet(kube, {
      namespace: ns,
      name: 'sel-label',
      provider: smp,
      labels: { ...base, team: 'other' },
      services: svcFor('sel-label'),
    });
    await eventually('the matching ServiceSet is reconciled', async () => kube.get(hr('sel-yes')));
    await sleep(1500);
    for (const name of ['sel-in', 'sel-notin', 'sel-exists', 'sel-dne', 'sel-label']) {
      const o = await getServiceSet(kube, ns, name);
      assert.ok(!(o.metadata.finalizers ?? []).includes(FINALIZER), `${name}: no finalizer`);
      assert.equal(o.status, undefined, `${name}: status untouched`);
      assert.equal(await kube.get(hr(name)), undefined, `${name}: no HelmRelease`);
    }
  });

  it('leaves ServiceSets of an SMP that names another adapter untouched', async () => {
    const smp = uniqueName('smp-other');
    await createSmp(kube, {
      name: smp,
      adapterName: 'kcm-controller-manager',
      adapterNamespace: 'kcm-system',
      selector: {},
    });
    await createServiceSet(kube, { namespace: ns, name: 'foreign', provider: smp, services: svcFor('foreign') });
    await sleep(2000);
    const o = await getServiceSet(kube, ns, 'foreign');
    assert.deepEqual(o.metadata.finalizers ?? [], []);
    assert.equal(o.status, undefined);
    assert.equal(await kube.get(hr('foreign')), undefined);
  });

  it('SMP not ready: writes only provider and cluster, applies nothing; becoming ready re-triggers', async () => {
    const smp = uniqueName('smp-nr');
    await createSmp(kube, {
      name: smp,
      adapterName: id.name,
      adapterNamespace: id.namespace,
      selector: {},
      ready: false,
    });
    await createServiceSet(kube, { namespace: ns, name: 'nr', provider: smp, services: svcFor('nr') });
    const o: any = await eventually('provider status written', async () => {
      const x = await getServiceSet(kube, ns, 'nr');
      return x.status?.provider && x;
    });
    assert.deepEqual(o.status.provider, { ready: false, suspended: false });
    assert.equal(o.status.cluster.kind, 'ClusterDeployment');
    assert.ok(o.metadata.finalizers.includes(FINALIZER), 'finalizer added before anything else');
    assert.deepEqual(o.status.services ?? [], []);
    await sleep(1000);
    assert.equal(await kube.get(hr('nr')), undefined, 'nothing applied');
    const evs = await events(kube, ns);
    assert.ok(evs.some((e) => e.reason === 'StateManagementProviderNotReady' && e.regarding.name === 'nr'));

    await setSmpReady(kube, smp, true);
    await eventually('applied once the SMP is ready', async () => kube.get(hr('nr')), 10_000);
    await eventually(
      'provider ready in status',
      async () => (await getServiceSet(kube, ns, 'nr')).status.provider.ready === true,
    );
  });

  it('SMP suspended: provider suspended in status and nothing applied', async () => {
    const smp = uniqueName('smp-susp');
    await createSmp(kube, {
      name: smp,
      adapterName: id.name,
      adapterNamespace: id.namespace,
      selector: {},
      suspend: true,
    });
    await createServiceSet(kube, { namespace: ns, name: 'susp', provider: smp, services: svcFor('susp') });
    await eventually('suspended provider status', async () => {
      const x = await getServiceSet(kube, ns, 'susp');
      return x.status?.provider?.suspended === true && x.status.provider.ready === true;
    });
    await sleep(1000);
    assert.equal(await kube.get(hr('susp')), undefined);
    const evs = await events(kube, ns);
    assert.ok(evs.some((e) => e.reason === 'StateManagementProviderSuspended' && e.regarding.name === 'susp'));
    await kube.mergePatch(paths.smp(smp), { spec: { suspend: false } });
    await eventually('applied once unsuspended', async () => kube.get(hr('susp')), 10_000);
  });

  it('pause annotation suspends the Flux objects; removing it resumes them', async () => {
    const smp = uniqueName('smp-pause');
    await createSmp(kube, { name: smp, adapterName: id.name, adapterNamespace: id.namespace, selector: {} });
    await createServiceSet(kube, {
      namespace: ns,
      name: 'paused',
      provider: smp,
      services: svcFor('paused'),
      annotations: { 'k0rdent.mirantis.com/service-set-paused': '' },
    });
    const o: any = await eventually('suspended HelmRelease', () => kube.get(hr('paused')));
    assert.equal(o.spec.suspend, true, 'presence of the annotation (empty value) pauses');
    await eventually('Paused condition', async () =>
      (await getServiceSet(kube, ns, 'paused')).status?.conditions?.some(
        (c: any) => c.type === 'Paused' && c.status === 'True',
      ),
    );
    await kube.jsonPatch(paths.serviceSet(ns, 'paused'), [
      { op: 'remove', path: '/metadata/annotations/k0rdent.mirantis.com~1service-set-paused' },
    ]);
    await eventually(
      'resumed HelmRelease',
      async () => ((await kube.get(hr('paused'))) as any)?.spec.suspend === undefined,
      10_000,
    );
    await eventually(
      'Paused condition removed',
      async () => !(await getServiceSet(kube, ns, 'paused')).status.conditions.some((c: any) => c.type === 'Paused'),
    );
  });
});
