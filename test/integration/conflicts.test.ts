// Two or more ServiceSets that want the same Helm release on the same cluster: the higher priority wins,
// ties go to the older one; only the winner has a HelmRelease; losers report Failed naming the winner;
// hand-overs suspend the old HelmRelease before removing it, so the release is never uninstalled.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FLUX_FINALIZER, LABEL_RELEASE_KEY } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { Informer } from '../../src/kube/informer';
import { paths } from '../../src/kube/paths';
import type { KubeObject } from '../../src/kube/client';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createServiceSet,
  events,
  eventually,
  getServiceSet,
  setFluxStatus,
  sleep,
  testEnv,
  uniqueName,
} from '../support/env';

describe('release conflicts', () => {
  const { kube } = testEnv();
  const ns = uniqueName('conf');
  let adapter: TestAdapter;
  let smp: string;
  let watch: Informer;
  /** Every HelmRelease of the contested release, and whether it was suspended when its deletion began. */
  const deletions: { name: string; suspended: boolean }[] = [];
  const hr = (ss: string) => ({
    kind: 'HelmRelease' as const,
    namespace: ns,
    name: fluxObjectName(ss, 'web', 'shared'),
  });
  const svc = [{ name: 'shared', namespace: 'web', template: 'chart' }];
  const state = async (ss: string) => (await getServiceSet(kube, ns, ss))?.status?.services?.[0];
  const ourHrs = async () =>
    (await kube.list(paths.helmReleases(ns))).items.filter((o) => (o.metadata.labels as any)?.[LABEL_RELEASE_KEY]);

  /** Plays Flux: adds its finalizer to every new HelmRelease; removes it once a deleting one is suspended. */
  function playFlux(o: KubeObject) {
    const md = o.metadata as any;
    const spec = o.spec as any;
    if (!md.deletionTimestamp && !(md.finalizers ?? []).includes(FLUX_FINALIZER)) {
      void kube
        .mergePatch(paths.flux({ kind: 'HelmRelease', namespace: ns, name: md.name }), {
          metadata: { finalizers: [FLUX_FINALIZER] },
        })
        .catch(() => undefined);
    }
    if (md.deletionTimestamp && !deletions.some((d) => d.name === md.name))
      deletions.push({ name: md.name, suspended: spec.suspend === true });
    if (md.deletionTimestamp && spec.suspend === true && (md.finalizers ?? []).includes(FLUX_FINALIZER)) {
      void kube
        .mergePatch(paths.flux({ kind: 'HelmRelease', namespace: ns, name: md.name }), {
          metadata: { finalizers: null },
        })
        .catch(() => undefined);
    }
  }

  before(async () => {
    adapter = await startTestAdapter();
    smp = await stage(adapter, ns, { helm: ['chart'] });
    watch = new Informer(kube, paths.helmReleases(ns), { name: 'test-hrs' }).on(
      (t, o) => t !== 'delete' && playFlux(o),
    );
    await watch.start();
  });
  after(async () => {
    watch?.stop();
    await adapter?.stop();
  });

  it('ties go to the older ServiceSet; the loser is Failed naming the winner and has no HelmRelease', async () => {
    await createServiceSet(kube, { namespace: ns, name: 'alpha', provider: smp, services: svc });
    await eventually('alpha HelmRelease', () => kube.get(paths.flux(hr('alpha'))));
    await sleep(1100); // creationTimestamp has 1 s resolution
    await createServiceSet(kube, { namespace: ns, name: 'bravo', provider: smp, services: svc });
    const b = await eventually('bravo Failed', async () => {
      const e = await state('bravo');
      return e?.state === 'Failed' && e;
    });
    assert.match(b.failureMessage, new RegExp(`owned by ServiceSet ${ns}/alpha \\(priority 100`));
    await setFluxStatus(kube, hr('alpha'), { ready: 'True', reason: 'InstallSucceeded' });
    await eventually('alpha Deployed', async () => (await state('alpha'))?.state === 'Deployed');
    assert.deepEqual(
      (await ourHrs()).map((o) => o.metadata.name),
      [hr('alpha').name],
    );
  });

  it('a higher priority takes the release over; the old HelmRelease is suspended before it is removed', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'charlie',
      provider: smp,
      config: { priority: 300 },
      services: svc,
    });
    await eventually('alpha handed over', async () => !(await kube.get(paths.flux(hr('alpha')))), 20_000);
    await eventually('charlie HelmRelease', () => kube.get(paths.flux(hr('charlie'))));
    const a = await eventually('alpha Failed naming charlie', async () => {
      const e = await state('alpha');
      return e?.state === 'Failed' && /charlie \(priority 300/.test(e.failureMessage) && e;
    });
    assert.ok(a);
    assert.match((await state('bravo')).failureMessage, /charlie/);
    assert.deepEqual(
      (await ourHrs()).map((o) => o.metadata.name),
      [hr('charlie').name],
    );
    const evs = await events(kube, ns);
    assert.ok(evs.some((e) => e.reason === 'ReleaseHandedOver' && e.regarding.name === 'alpha'));
  });

  it('when the winner goes away the next one takes over with no manual step, and nothing is uninstalled', async () => {
    await setFluxStatus(kube, hr('charlie'), { ready: 'True', reason: 'UpgradeSucceeded' });
    await kube.delete(paths.serviceSet(ns, 'charlie'));
    await eventually('charlie gone', async () => !(await getServiceSet(kube, ns, 'charlie')), 20_000);
    await eventually('alpha (older than bravo) takes over', () => kube.get(paths.flux(hr('alpha'))), 20_000);
    await setFluxStatus(kube, hr('alpha'), { ready: 'True', reason: 'UpgradeSucceeded' });
    await eventually('alpha Deployed', async () => (await state('alpha'))?.state === 'Deployed');
    assert.equal((await state('bravo')).state, 'Failed');
    assert.deepEqual(
      (await ourHrs()).map((o) => o.metadata.name),
      [hr('alpha').name],
    );
    assert.ok(deletions.length >= 2, `saw the hand-overs: ${JSON.stringify(deletions)}`);
    for (const d of deletions)
      assert.equal(d.suspended, true, `${d.name} was suspended before deletion (no uninstall)`);
  });

  it('the last ServiceSet for a release uninstalls it normally', async () => {
    await kube.delete(paths.serviceSet(ns, 'bravo'));
    await eventually('bravo gone', async () => !(await getServiceSet(kube, ns, 'bravo')), 20_000);
    await kube.delete(paths.serviceSet(ns, 'alpha'));
    const h: any = await eventually('alpha HelmRelease deleting', async () => {
      const o: any = await kube.get(paths.flux(hr('alpha')));
      return o?.metadata.deletionTimestamp && o;
    });
    assert.notEqual(h.spec.suspend, true, 'no one is waiting: Flux uninstalls');
    await kube.mergePatch(paths.flux(hr('alpha')), { metadata: { finalizers: null } });
    await eventually('alpha gone', async () => !(await getServiceSet(kube, ns, 'alpha')), 20_000);
  });

  it('a release another provider (ksm-projectsveltos) also deploys: Failed naming it, let go without uninstall, taken back when it goes', async () => {
    const rel = [{ name: 'both', namespace: 'web', template: 'chart' }];
    const hrBoth = (ss: string) => ({
      kind: 'HelmRelease' as const,
      namespace: ns,
      name: fluxObjectName(ss, 'web', 'both'),
    });
    await createServiceSet(kube, { namespace: ns, name: 'ours', provider: smp, services: rel });
    await eventually('ours HelmRelease', () => kube.get(paths.flux(hrBoth('ours'))));
    await setFluxStatus(kube, hrBoth('ours'), { ready: 'True', reason: 'InstallSucceeded' });
    await eventually('ours Deployed', async () => (await state('ours'))?.state === 'Deployed');
    const before = deletions.length;

    // kcm's built-in provider gets a ServiceSet for the same release on the same cluster (older or not: it
    // stands, we cannot make it yield).
    await createServiceSet(kube, { namespace: ns, name: 'theirs', provider: 'ksm-projectsveltos', services: rel });
    const lost = await eventually('ours Failed naming the other provider', async () => {
      const e = await state('ours');
      return e?.state === 'Failed' && e;
    });
    assert.match(
      lost.failureMessage,
      new RegExp(`release web/both .*also deployed by ServiceSet ${ns}/theirs \\(provider ksm-projectsveltos\\)`),
    );
    await eventually('our HelmRelease let go', async () => !(await kube.get(paths.flux(hrBoth('ours')))));
    const handedOver = deletions.slice(before).filter((d) => d.name === hrBoth('ours').name);
    assert.deepEqual(
      handedOver,
      [{ name: hrBoth('ours').name, suspended: true }],
      'suspended first: never uninstalled',
    );
    await sleep(1500);
    assert.equal(await kube.get(paths.flux(hrBoth('ours'))), undefined, 'and not fought back over');

    await kube.delete(paths.serviceSet(ns, 'theirs'));
    await eventually(
      'taken back once the other ServiceSet is gone',
      () => kube.get(paths.flux(hrBoth('ours'))),
      20_000,
    );
  });
});
