// Someone else edits our objects (issue 13, point 5): another field manager changes the spec of our HelmRelease
// or Kustomization → restored promptly (watch-driven) with a FluxObjectDrift Event naming the fields and the
// manager; a user deletes a HelmRelease → recreated; a user removes our finalizer from a ServiceSet → re-added,
// and a ServiceSet deleted after its finalizer was stripped leaves no Flux object behind (no garbage collector
// runs here). Flux's own writes (status, finalizer) are played by the test and must not count as drift.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { APPLIED_HASH_ANNOTATION, FINALIZER, FLUX_FINALIZER } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createServiceSet,
  events,
  eventsWith,
  eventually,
  getServiceSet,
  listFlux,
  setFluxStatus,
  sleep,
  testEnv,
  uniqueName,
} from '../support/env';

type Ref = { kind: 'HelmRelease' | 'Kustomization'; namespace: string; name: string };

describe('foreign edits of our objects', () => {
  const { kube } = testEnv();
  const ns = uniqueName('foreign');
  let adapter: TestAdapter;
  let smp: string;
  const hr = (ss: string, svc: string): Ref => ({
    kind: 'HelmRelease',
    namespace: ns,
    name: fluxObjectName(ss, 'web', svc),
  });
  const ks = (ss: string, svc: string): Ref => ({
    kind: 'Kustomization',
    namespace: ns,
    name: fluxObjectName(ss, 'web', svc),
  });
  const get = async (r: Ref): Promise<any> => kube.get(paths.flux(r));
  const entry = async (ss: string, svc: string) =>
    (await getServiceSet(kube, ns, ss))?.status?.services?.find((s: any) => s.name === svc);

  /** Flux takes the object up: its finalizer (manager helm-controller, metadata only) and a Ready status. */
  async function fluxDeploys(r: Ref) {
    await eventually(`${r.kind} ${r.name}`, () => get(r));
    const manager = r.kind === 'HelmRelease' ? 'helm-controller' : 'kustomize-controller';
    await kube.mergePatch(paths.flux(r), { metadata: { finalizers: [FLUX_FINALIZER] } }, manager);
    await setFluxStatus(kube, r, {
      ready: 'True',
      reason: r.kind === 'HelmRelease' ? 'InstallSucceeded' : 'ReconciliationSucceeded',
    });
  }

  before(async () => {
    adapter = await startTestAdapter();
    smp = await stage(adapter, ns, { helm: ['chart'], kustomize: ['kust'] });
  });
  after(async () => adapter?.stop());

  it('a HelmRelease spec edited by another field manager is restored, with a FluxObjectDrift Event', async (t) => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'edited',
      provider: smp,
      services: [{ name: 'app', namespace: 'web', template: 'chart', values: 'replicas: 2\nimage:\n  tag: v1\n' }],
    });
    const r = hr('edited', 'app');
    await fluxDeploys(r);
    await eventually('Deployed', async () => (await entry('edited', 'app'))?.state === 'Deployed');
    const before: any = await get(r);
    const gen = before.metadata.generation as number;

    // Flux's own writes (status, finalizer) are not drift: nothing is re-applied.
    await setFluxStatus(kube, r, { ready: 'True', reason: 'UpgradeSucceeded' });
    await sleep(1500);
    assert.equal((await get(r)).metadata.generation, gen, 'no apply after Flux wrote status');

    // Someone edits a value we set, adds one of their own, and suspends it — all without touching our annotation.
    const t0 = Date.now();
    await kube.mergePatch(
      paths.flux(r),
      { spec: { suspend: true, values: { replicas: 7, extra: { debug: true } } } },
      'kubectl-edit',
    );
    const restored: any = await eventually(
      'restored',
      async () => {
        const o: any = await get(r);
        return o.spec.values.replicas === 2 && o.spec.values.extra === undefined && o.spec.suspend === undefined && o;
      },
      15_000,
      50,
    );
    const ms = Date.now() - t0;
    t.diagnostic(`drift restored ${ms} ms after the foreign edit`);
    assert.deepEqual(restored.spec.values, { replicas: 2, image: { tag: 'v1' } });
    assert.equal(
      restored.metadata.annotations[APPLIED_HASH_ANNOTATION],
      before.metadata.annotations[APPLIED_HASH_ANNOTATION],
    );
    assert.ok(
      !(restored.metadata.managedFields ?? []).some((m: any) => m.manager === 'kubectl-edit' && m.fieldsV1?.['f:spec']),
      'the other manager owns no spec field any more',
    );
    const evs = await eventsWith(kube, ns, 'FluxObjectDrift event', (e) => e.reason === 'FluxObjectDrift');
    const ev = evs.find((e) => e.reason === 'FluxObjectDrift')!;
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.regarding.name, 'edited');
    assert.match(ev.note, new RegExp(`HelmRelease ${ns}/${r.name} was changed by kubectl-edit`));
    for (const p of ['spec.suspend', 'spec.values.replicas', 'spec.values.extra']) assert.ok(ev.note.includes(p), p);

    // Settled: no further applies, no more drift events.
    const settledGen = (await get(r)).metadata.generation;
    await sleep(2000);
    assert.equal((await get(r)).metadata.generation, settledGen, 'no apply loop after the restore');
    assert.equal((await events(kube, ns)).filter((e) => e.reason === 'FluxObjectDrift').length, 1);
  });

  it('a Kustomization spec edited by another field manager is restored', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'kedited',
      provider: smp,
      services: [{ name: 'kapp', namespace: 'web', template: 'kust' }],
    });
    const r = ks('kedited', 'kapp');
    await fluxDeploys(r);
    const path = (await get(r)).spec.path;
    await kube.mergePatch(paths.flux(r), { spec: { path: './elsewhere', prune: false } }, 'ci-pipeline');
    await eventually('restored', async () => {
      const o: any = await get(r);
      return o.spec.path === path && o.spec.prune === true;
    });
    const evs = await eventsWith(
      kube,
      ns,
      'drift event',
      (e) => e.reason === 'FluxObjectDrift' && e.regarding.name === 'kedited',
    );
    const note = evs.find((e) => e.reason === 'FluxObjectDrift' && e.regarding.name === 'kedited')!.note;
    assert.match(note, /Kustomization .* was changed by ci-pipeline \(/);
    for (const p of ['spec.path', 'spec.prune']) assert.ok(note.includes(p), p);
  });

  it('a HelmRelease deleted by a user is recreated, with a FluxObjectDeleted Event', async (t) => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'deleted',
      provider: smp,
      services: [{ name: 'app2', namespace: 'web', template: 'chart' }],
    });
    const r = hr('deleted', 'app2');
    await fluxDeploys(r);
    await eventually('Deployed', async () => (await entry('deleted', 'app2'))?.state === 'Deployed');
    const uid = (await get(r)).metadata.uid;
    const t0 = Date.now();
    await kube.delete(paths.flux(r));
    // helm-controller uninstalls and drops its finalizer.
    await eventually('being deleted', async () => !!(await get(r))?.metadata.deletionTimestamp);
    await kube.mergePatch(paths.flux(r), { metadata: { finalizers: null } }, 'helm-controller');
    const again: any = await eventually('recreated', async () => {
      const o: any = await get(r);
      return o && o.metadata.uid !== uid && o;
    });
    t.diagnostic(`recreated ${Date.now() - t0} ms after the deletion`);
    assert.equal(
      again.metadata.labels['flux.k0rdent.mirantis.com/serviceset-uid'],
      (await getServiceSet(kube, ns, 'deleted')).metadata.uid,
    );
    const evs = await eventsWith(kube, ns, 'FluxObjectDeleted event', (e) => e.reason === 'FluxObjectDeleted');
    assert.match(evs.find((e) => e.reason === 'FluxObjectDeleted')!.note, /was deleted by someone else: recreated/);
    // And Flux deploys it again.
    await fluxDeploys(r);
    await eventually('Deployed again', async () => (await entry('deleted', 'app2'))?.state === 'Deployed');
  });

  it('our finalizer removed from a ServiceSet is added back', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'stripped',
      provider: smp,
      services: [{ name: 'app3', namespace: 'web', template: 'chart' }],
    });
    await eventually('finalizer', async () =>
      (await getServiceSet(kube, ns, 'stripped'))?.metadata.finalizers?.includes(FINALIZER),
    );
    await kube.mergePatch(paths.serviceSet(ns, 'stripped'), { metadata: { finalizers: null } }, 'kubectl-edit');
    await eventually('finalizer re-added', async () =>
      (await getServiceSet(kube, ns, 'stripped'))?.metadata.finalizers?.includes(FINALIZER),
    );
  });

  it('a ServiceSet deleted after its finalizer was stripped leaves no Flux object behind', async (t) => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'leaky',
      provider: smp,
      services: [
        { name: 'app4', namespace: 'web', template: 'chart' },
        { name: 'kapp4', namespace: 'web', template: 'kust' },
      ],
    });
    await fluxDeploys(hr('leaky', 'app4'));
    await fluxDeploys(ks('leaky', 'kapp4'));
    const uid = (await getServiceSet(kube, ns, 'leaky')).metadata.uid as string;
    // Strip the finalizer and delete in one go (before the workflow can add it back): the object is gone at once.
    await kube.mergePatch(paths.serviceSet(ns, 'leaky'), { metadata: { finalizers: null } }, 'kubectl-edit');
    await kube.delete(paths.serviceSet(ns, 'leaky'));
    const t0 = Date.now();
    assert.equal(await getServiceSet(kube, ns, 'leaky'), undefined, 'gone at once: no finalizer held it');
    // Our objects are deleted (Flux would uninstall them): being deleted with Flux's finalizer, then gone.
    const sel = `flux.k0rdent.mirantis.com/serviceset-uid=${uid}`;
    await eventually('Flux objects being deleted', async () => {
      const all = [
        ...(await listFlux(kube, 'HelmRelease', ns, sel)),
        ...(await listFlux(kube, 'Kustomization', ns, sel)),
      ];
      return all.length === 2 && all.every((o) => o.metadata.deletionTimestamp);
    });
    t.diagnostic(`leftover Flux objects deleted ${Date.now() - t0} ms after the ServiceSet went`);
    for (const r of [hr('leaky', 'app4'), ks('leaky', 'kapp4')])
      await kube.mergePatch(paths.flux(r), { metadata: { finalizers: null } }, 'helm-controller');
    await eventually('none left', async () => {
      const all = [
        ...(await listFlux(kube, 'HelmRelease', ns, sel)),
        ...(await listFlux(kube, 'Kustomization', ns, sel)),
      ];
      return all.length === 0;
    });
  });
});
