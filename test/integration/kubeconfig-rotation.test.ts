// A rotated kubeconfig Secret makes the next Flux reconcile come now (issue 13, point 6): the watcher wakes the
// workflow on the Secret's change and the workflow asks Flux to reconcile (requestedAt; + resetAt/forceAt while
// failing), instead of leaving it to Flux's interval. Flux's side is played through the real API;
// test/e2e/target-faults.test.ts shows helm-controller then really using the new credentials.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FORCE_AT_ANNOTATION, REQUESTED_AT_ANNOTATION, RESET_AT_ANNOTATION } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, setFluxStatus, sleep, testEnv, uniqueName } from '../support/env';

describe('kubeconfig Secret rotation', () => {
  const { kube } = testEnv();
  const ns = uniqueName('rotate');
  let adapter: TestAdapter;
  let smp: string;
  const hr = (ss: string, svc: string) => ({
    kind: 'HelmRelease' as const,
    namespace: ns,
    name: fluxObjectName(ss, 'web', svc),
  });
  const annotations = async (r: ReturnType<typeof hr>) =>
    ((await kube.get(paths.flux(r)))?.metadata.annotations ?? {}) as Record<string, string>;
  const rotate = (value: string) =>
    kube.mergePatch(`/api/v1/namespaces/${ns}/secrets/cluster1-kubeconfig`, { stringData: { value } });

  before(async () => {
    adapter = await startTestAdapter();
    smp = await stage(adapter, ns, { helm: ['chart'] });
  });
  after(async () => adapter?.stop());

  it('a Deployed HelmRelease is asked to reconcile when its kubeconfig Secret changes; a failing one is reset and forced', async (t) => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'rot',
      provider: smp,
      services: [
        { name: 'ok', namespace: 'web', template: 'chart' },
        { name: 'bad', namespace: 'web', template: 'chart' },
      ],
    });
    await eventually(
      'HelmReleases',
      async () => (await kube.get(paths.flux(hr('rot', 'ok')))) && kube.get(paths.flux(hr('rot', 'bad'))),
    );
    await setFluxStatus(kube, hr('rot', 'ok'), { ready: 'True', reason: 'InstallSucceeded' });
    await setFluxStatus(kube, hr('rot', 'bad'), {
      ready: 'False',
      reason: 'InstallFailed',
      message: 'Unauthorized',
    });
    await eventually('states', async () => {
      const s = (await getServiceSet(kube, ns, 'rot'))?.status?.services ?? [];
      return s.length === 2 && s.every((e: any) => e.state === 'Deployed' || e.state === 'Failed');
    });
    await sleep(1000);
    assert.equal((await annotations(hr('rot', 'ok')))[REQUESTED_AT_ANNOTATION], undefined, 'nothing requested before');

    const t0 = Date.now();
    await rotate('apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n# rotated\n');
    const ok = await eventually('reconcile requested', async () => {
      const a = await annotations(hr('rot', 'ok'));
      return a[REQUESTED_AT_ANNOTATION] ? a : undefined;
    });
    t.diagnostic(`reconcile requested ${Date.now() - t0} ms after the rotation`);
    assert.ok(Date.parse(ok[REQUESTED_AT_ANNOTATION]!) >= t0 - 1000);
    assert.equal(ok[FORCE_AT_ANNOTATION], undefined, 'a Ready release is not forced');
    const bad = await eventually('failing one too', async () => {
      const a = await annotations(hr('rot', 'bad'));
      return a[REQUESTED_AT_ANNOTATION] ? a : undefined;
    });
    assert.equal(bad[RESET_AT_ANNOTATION], bad[REQUESTED_AT_ANNOTATION]);
    assert.equal(bad[FORCE_AT_ANNOTATION], bad[REQUESTED_AT_ANNOTATION]);

    // No change, no request: an unrelated pass (a ServiceSet label) asks for nothing more.
    await kube.mergePatch(paths.serviceSet(ns, 'rot'), { metadata: { labels: { touched: 'yes' } } });
    await sleep(1500);
    assert.equal((await annotations(hr('rot', 'ok')))[REQUESTED_AT_ANNOTATION], ok[REQUESTED_AT_ANNOTATION]);

    // A second rotation asks again.
    await sleep(1100); // requestedAt has second precision
    await rotate('apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n# rotated twice\n');
    await eventually('requested again', async () => {
      const a = await annotations(hr('rot', 'ok'));
      return a[REQUESTED_AT_ANNOTATION] !== ok[REQUESTED_AT_ANNOTATION];
    });
  });
});
