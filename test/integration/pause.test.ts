// Pause (kcm's k0rdent.mirantis.com/service-set-paused) freezes what Flux does on the cluster: our Flux objects
// are suspended and changes are recorded, and nothing is uninstalled or deleted — not a service removed from the
// spec, not helmAction Uninstall, not a stray — until the annotation goes; then the pending work happens.
// Deleting a paused ServiceSet waits for the annotation too (README "Pause").
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FLUX_FINALIZER, PAUSED_ANNOTATION } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createServiceSet,
  eventsWith,
  eventually,
  getServiceSet,
  setFluxStatus,
  sleep,
  testEnv,
  uniqueName,
} from '../support/env';

describe('pause freezes deletions', () => {
  const { kube } = testEnv();
  const ns = uniqueName('pause');
  let adapter: TestAdapter;
  let smp: string;
  const hr = (ss: string, svc: string) => ({
    kind: 'HelmRelease' as const,
    namespace: ns,
    name: fluxObjectName(ss, 'web', svc),
  });
  const hrObj = async (ss: string, svc: string): Promise<any> => kube.get(paths.flux(hr(ss, svc)));
  const setPaused = (ss: string, paused: boolean) =>
    kube.mergePatch(paths.serviceSet(ns, ss), {
      metadata: { annotations: { [PAUSED_ANNOTATION]: paused ? '' : null } },
    });
  /** Flux's finalizer, as helm-controller adds it on its first reconcile, and a successful install. */
  async function fluxTakesOver(ss: string, svc: string) {
    await eventually(`HelmRelease ${svc}`, () => hrObj(ss, svc));
    await kube.mergePatch(paths.flux(hr(ss, svc)), { metadata: { finalizers: [FLUX_FINALIZER] } });
    await setFluxStatus(kube, hr(ss, svc), { ready: 'True', reason: 'InstallSucceeded' });
  }

  before(async () => {
    adapter = await startTestAdapter();
    smp = await stage(adapter, ns, { helm: ['chart'] });
  });
  after(async () => adapter?.stop());

  it('while paused: removed service, Uninstall and stray are not deleted; resumed → they are', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'frozen',
      provider: smp,
      services: ['keep', 'remove-me', 'uninstall-me'].map((name) => ({ name, namespace: 'web', template: 'chart' })),
    });
    for (const s of ['keep', 'remove-me', 'uninstall-me']) await fluxTakesOver('frozen', s);
    await eventually('deployed', async () => (await getServiceSet(kube, ns, 'frozen'))?.status?.deployed === true);

    await setPaused('frozen', true);
    await eventually('all suspended', async () => {
      const all = await Promise.all(['keep', 'remove-me', 'uninstall-me'].map((s) => hrObj('frozen', s)));
      return all.every((o) => o?.spec?.suspend === true);
    });
    const o = await getServiceSet(kube, ns, 'frozen');
    await kube.mergePatch(paths.serviceSet(ns, 'frozen'), {
      spec: {
        services: [
          o.spec.services.find((s: any) => s.name === 'keep'),
          { ...o.spec.services.find((s: any) => s.name === 'uninstall-me'), helmAction: 'Uninstall' },
        ],
      },
    });
    await eventually('the change is recorded (status shows the new spec)', async () => {
      const x = await getServiceSet(kube, ns, 'frozen');
      return x.status.services.length === 2;
    });
    await sleep(2500); // many fast passes
    for (const s of ['remove-me', 'uninstall-me']) {
      const obj = await hrObj('frozen', s);
      assert.ok(obj, `${s}: HelmRelease still there while paused`);
      assert.equal(obj.metadata.deletionTimestamp, undefined, `${s}: not being deleted while paused`);
    }
    const x = await getServiceSet(kube, ns, 'frozen');
    const un = x.status.services.find((e: any) => e.name === 'uninstall-me');
    assert.equal(un.state, 'Deployed', 'still installed: not reported Deleted');
    assert.match(
      x.status.conditions.find((c: any) => c.type === 'Paused').message,
      /nothing is uninstalled or deleted until the annotation is removed/,
    );

    await setPaused('frozen', false);
    for (const s of ['remove-me', 'uninstall-me'])
      await eventually(`${s}: deleted once resumed (not suspended: Flux uninstalls)`, async () => {
        const obj = await hrObj('frozen', s);
        return obj?.metadata.deletionTimestamp && obj.spec.suspend !== true;
      });
    // Resuming the kept service is its own apply; it may land after the deletions above.
    await eventually(
      'the kept service is resumed',
      async () => (await hrObj('frozen', 'keep'))?.spec?.suspend === undefined,
    );
  });

  it('deleting a paused ServiceSet waits (nothing uninstalled, an Event) until the annotation is removed', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'paused-del',
      provider: smp,
      annotations: { [PAUSED_ANNOTATION]: 'true' },
      services: [{ name: 'p1', namespace: 'web', template: 'chart' }],
    });
    await fluxTakesOver('paused-del', 'p1');
    await eventually('suspended', async () => (await hrObj('paused-del', 'p1'))?.spec?.suspend === true);
    await kube.delete(paths.serviceSet(ns, 'paused-del'));
    await eventsWith(
      kube,
      ns,
      'DeletionPaused event',
      (e) => e.reason === 'DeletionPaused' && e.regarding.name === 'paused-del',
    );
    await sleep(7000); // longer than the deletion timeout (6 s): the deadline does not run while paused
    const obj = await hrObj('paused-del', 'p1');
    assert.ok(obj && !obj.metadata.deletionTimestamp, 'the HelmRelease is untouched while paused');
    const ss = await getServiceSet(kube, ns, 'paused-del');
    assert.ok(ss, 'the ServiceSet waits');
    assert.equal(ss.status.services[0].state, 'Deleting');

    await setPaused('paused-del', false);
    await eventually('deleted for a real uninstall once resumed', async () => {
      const h = await hrObj('paused-del', 'p1');
      return h?.metadata.deletionTimestamp && h.spec.suspend !== true;
    });
    await kube.mergePatch(paths.flux(hr('paused-del', 'p1')), { metadata: { finalizers: null } }); // Flux uninstalled
    await eventually('ServiceSet gone', async () => !(await getServiceSet(kube, ns, 'paused-del')), 30_000);
  });
});
