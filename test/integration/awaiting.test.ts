// Not there yet is not Failed (kcm creates a ClusterDeployment's ServiceSet before the cluster's kubeconfig
// Secret exists, and templates may still be validating): the service waits (Pending) saying what for, with a
// Normal Event once and no Warning; and it goes on as soon as the awaited object appears — through the watch
// (metadata-only Secret/ConfigMap informers, the ServiceTemplate informer), not the safety-net poll.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { workflowIdFor } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stateQuery } from '../../src/workflow/defs';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createHelmTemplate,
  createKubeconfigSecret,
  createServiceSet,
  events,
  eventually,
  getServiceSet,
  sleep,
  testEnv,
  uniqueName,
} from '../support/env';

/** Polls so slow that only watch events can explain a reaction within seconds. */
const slowPolls = { 'quiescent-poll': '10m', 'active-poll-min': '2m', 'active-poll-max': '10m' };

describe('waiting for inputs that are not there yet', () => {
  const { kube } = testEnv();
  const ns = uniqueName('await');
  let adapter: TestAdapter;
  let smp: string;
  const hrPath = (ss: string, svc: string) =>
    paths.flux({ kind: 'HelmRelease', namespace: ns, name: fluxObjectName(ss, 'web', svc) });
  const svcEntry = async (ss: string, svc: string) =>
    (await getServiceSet(kube, ns, ss))?.status?.services?.find((s: any) => s.name === svc);
  const applied = async (ss: string) =>
    (await getServiceSet(kube, ns, ss))?.status?.conditions?.find((c: any) => c.type === 'FluxObjectsApplied');

  before(async () => {
    adapter = await startTestAdapter(slowPolls);
    // No kubeconfig Secret for cluster "late": it is still being created.
    smp = await stage(adapter, ns, { helm: ['ready'], clusters: [] });
  });
  after(async () => adapter?.stop());

  it('no kubeconfig Secret and no template yet: Pending naming both, Normal Events only; each appears → goes on within seconds', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'early',
      provider: smp,
      cluster: 'late',
      services: [
        { name: 'a', namespace: 'web', template: 'ready' },
        { name: 'b', namespace: 'web', template: 'not-yet' },
      ],
    });
    await eventually('both Pending with what they wait for', async () => {
      const [a, b, c] = [await svcEntry('early', 'a'), await svcEntry('early', 'b'), await applied('early')];
      return (
        a?.state === 'Pending' &&
        b?.state === 'Pending' &&
        c?.reason === 'FluxObjectsWaiting' &&
        /web\/a: waiting for kubeconfig Secret .*\/late-kubeconfig of cluster late/.test(c.message) &&
        /web\/b: waiting for ServiceTemplate .*\/not-yet to exist/.test(c.message)
      );
    });
    const o = await getServiceSet(kube, ns, 'early');
    assert.ok(
      o.status.services.every((s: any) => s.failureMessage === undefined),
      'no failureMessage while waiting',
    );
    assert.equal(await kube.get(hrPath('early', 'a')), undefined, 'nothing applied');
    await sleep(1500); // more passes (signals from our own status writes) must not repeat the Event
    const evs = (await events(kube, ns)).filter((e) => e.regarding.name === 'early');
    assert.deepEqual(
      evs.filter((e) => e.type === 'Warning').map((e) => e.reason),
      [],
      'no Warning while merely waiting',
    );
    assert.equal(evs.filter((e) => e.reason === 'FluxObjectsWaiting').length, 1, 'one waiting Event');

    // The template appears: b now waits only for the kubeconfig (the template watch woke the workflow).
    await createHelmTemplate(kube, ns, 'not-yet');
    await eventually(
      'b waits for the kubeconfig only',
      async () => /web\/b: waiting for kubeconfig/.test((await applied('early'))?.message ?? ''),
      15_000,
    );
    // The kubeconfig Secret appears: both are applied at once — the Secret watch, not a poll (next in 2 min).
    const t0 = Date.now();
    await createKubeconfigSecret(kube, ns, 'late');
    await eventually(
      'both applied',
      async () => (await kube.get(hrPath('early', 'a'))) && kube.get(hrPath('early', 'b')),
      15_000,
      50,
    );
    const took = Date.now() - t0;
    assert.ok(took < 15_000, `applied ${took} ms after the Secret appeared`);
    await eventually('Provisioning, no longer waiting', async () => {
      const c = await applied('early');
      return c?.status === 'True' && (await svcEntry('early', 'a'))?.state === 'Provisioning';
    });
  });

  it('a template kcm is still validating ("Source is not ready") waits; valid → applied through the watch', async () => {
    await createKubeconfigSecret(kube, ns, 'c2');
    await createHelmTemplate(kube, ns, 'validating', { valid: false, validationError: 'Source is not ready' });
    await createServiceSet(kube, {
      namespace: ns,
      name: 'validating',
      provider: smp,
      cluster: 'c2',
      services: [{ name: 'v', namespace: 'web', template: 'validating' }],
    });
    await eventually('Pending: waiting for the template', async () => {
      const c = await applied('validating');
      return (
        (await svcEntry('validating', 'v'))?.state === 'Pending' &&
        /waiting for ServiceTemplate validating to become valid: Source is not ready/.test(c?.message ?? '')
      );
    });
    await kube.mergePatch(`${paths.serviceTemplate(ns, 'validating')}/status`, {
      status: { valid: true, validationError: '' },
    });
    await eventually('applied', () => kube.get(hrPath('validating', 'v')), 15_000, 50);
  });

  it('a change to a referenced (valuesFrom) ConfigMap or Secret wakes the ServiceSet; an unrelated one does not', async () => {
    await createKubeconfigSecret(kube, ns, 'c3');
    const ss = await createServiceSet(kube, {
      namespace: ns,
      name: 'refs',
      provider: smp,
      cluster: 'c3',
      services: [
        {
          name: 'r',
          namespace: 'web',
          template: 'ready',
          valuesFrom: [
            { kind: 'ConfigMap', name: 'shared-values' },
            { kind: 'Secret', name: 'secret-values' },
          ],
        },
      ],
    });
    // valuesFrom objects are read for their keys (one Flux entry per key): until they exist the service waits.
    await eventually('Pending: waiting for the valuesFrom objects', async () => {
      const c = await applied('refs');
      return (
        (await svcEntry('refs', 'r'))?.state === 'Pending' &&
        /waiting for ConfigMap .*shared-values/.test(c?.message ?? '')
      );
    });
    const connection = await Connection.connect({ address: testEnv().temporalAddress });
    try {
      const client = new Client({ connection, namespace: testEnv().temporalNamespace });
      const h = client.workflow.getHandle(workflowIdFor(ss.metadata.uid!));
      const signals = async () => (await h.query(stateQuery)).counters.signals;
      await sleep(1000);
      const s0 = await signals();
      await kube.create(`/api/v1/namespaces/${ns}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'unrelated' },
        data: { a: '1' },
      });
      await sleep(1500);
      assert.equal(await signals(), s0, 'an unrelated ConfigMap wakes nobody');
      await kube.create(`/api/v1/namespaces/${ns}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'shared-values' },
        data: { 'values.yaml': 'a: 1\n' },
      });
      await eventually('signalled by the ConfigMap', async () => (await signals()) > s0, 10_000);
      const s1 = await signals();
      await kube.create(`/api/v1/namespaces/${ns}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'secret-values' },
        stringData: { 'values.yaml': 'b: 2\n' },
      });
      await eventually('signalled by the Secret', async () => (await signals()) > s1, 10_000);
      await eventually('applied once both exist', () => kube.get(hrPath('refs', 'r')), 15_000);
      const s2 = await signals();
      await kube.mergePatch(`/api/v1/namespaces/${ns}/configmaps/shared-values`, { data: { 'values.yaml': 'a: 2\n' } });
      await eventually('signalled by the ConfigMap change', async () => (await signals()) > s2, 10_000);
    } finally {
      await connection.close();
    }
    // The watcher keeps Secrets as metadata only: no data, no annotations.
    const stored = adapter.watcher!()!.secrets.store.get(`${ns}/secret-values`);
    assert.ok(stored, 'the Secret is in the store');
    assert.equal((stored as any).data, undefined);
    assert.equal((stored as any).stringData, undefined);
    assert.equal((stored.metadata as any).annotations, undefined);
    assert.equal((stored.metadata as any).managedFields, undefined);
  });
});
