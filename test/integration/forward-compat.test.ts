// Forward compatibility with kcm's next ServiceSet schema (kcm PR #3014 makes spec.provider optional; newer CRDs
// add fields): the test API server gets such a CRD, and a ServiceSet without spec.provider, or naming a
// provider we do not own, is simply not ours (nothing written, nothing crashes), while one of ours with fields
// we do not know deploys as usual, through the same running watcher.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { K0RDENT_API_VERSION } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createSmp, eventually, getServiceSet, sleep, testEnv, uniqueName } from '../support/env';

const CRD = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/servicesets.k0rdent.mirantis.com';

describe('forward compatibility (ServiceSet schema of a newer kcm)', () => {
  const { kube } = testEnv();
  const ns = uniqueName('fwd');
  let adapter: TestAdapter;
  let smp: string;
  let original: any;

  before(async () => {
    original = await kube.get<any>(CRD);
    const next = structuredClone(original);
    for (const v of next.spec.versions) {
      const spec = v.schema.openAPIV3Schema.properties.spec;
      spec.required = (spec.required ?? []).filter((r: string) => r !== 'provider');
      spec.properties.futureField = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      spec.properties.services.items.properties.futureServiceField = { type: 'string' };
    }
    await kube.update(CRD, next);
    await sleep(1500); // the API server picks up the new schema
    adapter = await startTestAdapter();
    smp = await stage(adapter, ns, { helm: ['app'] });
  });
  after(async () => {
    await adapter?.stop();
    const cur = await kube.get<any>(CRD);
    await kube.update(CRD, {
      ...original,
      metadata: { ...original.metadata, resourceVersion: cur.metadata.resourceVersion },
    });
  });

  const ss = (name: string, spec: Record<string, unknown>) =>
    kube.create(paths.serviceSets(ns), {
      apiVersion: K0RDENT_API_VERSION,
      kind: 'ServiceSet',
      metadata: { name, namespace: ns },
      spec: { cluster: 'cluster1', services: [{ name: `${name}-svc`, namespace: 'web', template: 'app' }], ...spec },
    });

  it('without spec.provider or with a foreign provider: untouched; ours with unknown fields: deployed', async () => {
    const other = uniqueName('smp-other');
    await createSmp(kube, { name: other, adapterName: 'someone-else', adapterNamespace: 'elsewhere', selector: {} });
    await ss('noprov', {});
    await ss('foreign', { provider: { name: other } });
    await ss('future', {
      provider: { name: smp, futureProviderKnob: true },
      futureField: { anything: ['goes'] },
      services: [{ name: 'future-svc', namespace: 'web', template: 'app', futureServiceField: 'x' }],
    });
    const hr = (n: string) =>
      kube.get(paths.flux({ kind: 'HelmRelease', namespace: ns, name: fluxObjectName(n, 'web', `${n}-svc`) }));
    // Ours, created last, is deployed by the same watcher and worker: nothing before it got stuck.
    await eventually('future ServiceSet deployed', () => hr('future'));
    const f = await getServiceSet(kube, ns, 'future');
    assert.deepEqual(f.spec.futureField, { anything: ['goes'] }, 'the newer CRD kept the field');
    await eventually(
      'status written for ours',
      async () => (await getServiceSet(kube, ns, 'future'))?.status?.services?.length === 1,
    );
    await sleep(1000);
    for (const n of ['noprov', 'foreign']) {
      const o = await getServiceSet(kube, ns, n);
      assert.equal(o.spec.provider?.name, n === 'noprov' ? undefined : other);
      assert.deepEqual(o.metadata.finalizers ?? [], [], `${n}: no finalizer`);
      assert.equal(o.status, undefined, `${n}: no status written`);
      assert.equal(await hr(n), undefined, `${n}: no Flux object`);
    }
    assert.ok(adapter.watcher?.()?.synced ?? true, 'the watcher is still synced');
  });
});
