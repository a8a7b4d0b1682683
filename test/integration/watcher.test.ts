// Event-driven reconciles (no waiting for a poll), catch-up after a watcher restart, and Lease-based
// leader election between two watcher replicas.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { FINALIZER, workflowIdFor } from '../../src/workflow/constants';
import { changedSignal, stateQuery } from '../../src/workflow/defs';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, setFluxStatus, sleep, testEnv, uniqueName } from '../support/env';

/** Polls so slow that only watch events can explain a reaction within seconds. */
const slowPolls = { 'quiescent-poll': '10m', 'active-poll-min': '2m', 'active-poll-max': '10m' };

describe('watcher', () => {
  const { kube } = testEnv();
  const ns = uniqueName('watch');
  let adapter: TestAdapter | undefined;
  let smp: string;
  const hr = (ss: string, svc: string) => ({
    kind: 'HelmRelease' as const,
    namespace: ns,
    name: fluxObjectName(ss, 'web', svc),
  });

  before(async () => {
    adapter = await startTestAdapter(slowPolls);
    smp = await stage(adapter, ns, { helm: ['chart'] });
  });
  after(async () => adapter?.stop());

  it('Flux Ready → ServiceSet Deployed through the HelmRelease watch, without waiting for a poll', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'ev',
      provider: smp,
      services: [{ name: 'ev1', namespace: 'web', template: 'chart' }],
    });
    await eventually('HelmRelease', () => kube.get(paths.flux(hr('ev', 'ev1'))));
    await eventually(
      'Provisioning written',
      async () => (await getServiceSet(kube, ns, 'ev'))?.status?.services?.[0]?.state === 'Provisioning',
    );
    const t0 = Date.now();
    await setFluxStatus(kube, hr('ev', 'ev1'), { ready: 'True', reason: 'InstallSucceeded' });
    await eventually(
      'Deployed',
      async () => (await getServiceSet(kube, ns, 'ev')).status.services[0].state === 'Deployed',
      10_000,
      50,
    );
    const took = Date.now() - t0;
    assert.ok(took < 10_000, `reacted in ${took} ms, well before the next poll (2 min)`);
  });

  it('a burst of signals coalesces into a few passes (level-triggered, latest wins)', async () => {
    const ss = await getServiceSet(kube, ns, 'ev');
    const connection = await Connection.connect({ address: testEnv().temporalAddress });
    try {
      const client = new Client({ connection, namespace: testEnv().temporalNamespace });
      const h = client.workflow.getHandle(workflowIdFor(ss.metadata.uid));
      const before = (await h.query(stateQuery)).counters;
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => h.signal(changedSignal, { kind: 'Burst', resourceVersion: String(i) })),
      );
      await sleep(2500);
      const after = (await h.query(stateQuery)).counters;
      assert.ok(after.signals - before.signals >= 40, `all signals delivered (${after.signals - before.signals})`);
      assert.ok(after.passes - before.passes <= 6, `coalesced into ${after.passes - before.passes} passes`);
      assert.equal(after.statusWrites, before.statusWrites, 'and nothing to write');
    } finally {
      await connection.close();
    }
  });

  it('a restarted watcher re-lists and catches creations, edits and deletions it missed', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'edit-me',
      provider: smp,
      services: [{ name: 'e1', namespace: 'web', template: 'chart' }],
    });
    await createServiceSet(kube, {
      namespace: ns,
      name: 'delete-me',
      provider: smp,
      services: [{ name: 'd1', namespace: 'web', template: 'chart' }],
    });
    await eventually(
      'both applied',
      async () =>
        (await kube.get(paths.flux(hr('edit-me', 'e1')))) && (await kube.get(paths.flux(hr('delete-me', 'd1')))),
    );
    await eventually('finalizers', async () =>
      (await getServiceSet(kube, ns, 'delete-me')).metadata.finalizers?.includes(FINALIZER),
    );
    const flags = {
      ...slowPolls,
      'adapter-name': adapter!.cfg.adapterName,
      'task-queue': adapter!.cfg.taskQueue,
      'lease-name': adapter!.cfg.leaseName,
    };
    await adapter!.stop();
    adapter = undefined;

    // While nothing watches: a creation, an edit and a deletion.
    await createServiceSet(kube, {
      namespace: ns,
      name: 'created-offline',
      provider: smp,
      services: [{ name: 'c1', namespace: 'web', template: 'chart' }],
    });
    const e = await getServiceSet(kube, ns, 'edit-me');
    await kube.mergePatch(paths.serviceSet(ns, 'edit-me'), {
      spec: { services: [...e.spec.services, { name: 'e2', namespace: 'web', template: 'chart', version: 'chart' }] },
    });
    await kube.delete(paths.serviceSet(ns, 'delete-me'));
    await sleep(500);

    adapter = await startTestAdapter(flags);
    // Well inside the next poll (2 min), yet room for an activity task lost with the stopped worker: it is
    // retried after the activities' heartbeat timeout (15 s), and the pass waiting for it goes on after that.
    const caughtWithin = 40_000;
    await eventually('creation caught', () => kube.get(paths.flux(hr('created-offline', 'c1'))), caughtWithin);
    await eventually('edit caught', () => kube.get(paths.flux(hr('edit-me', 'e2'))), caughtWithin);
    await eventually(
      'deletion caught and finalized',
      async () => !(await getServiceSet(kube, ns, 'delete-me')),
      caughtWithin,
    );
  });

  it('two watcher replicas: exactly one leads; when it stops the other takes over', async () => {
    const shared = {
      ...slowPolls,
      'adapter-name': adapter!.cfg.adapterName,
      'task-queue': adapter!.cfg.taskQueue,
      'lease-name': uniqueName('lease'),
      'lease-duration': '2s',
    };
    // Only a worker stays from the main adapter: the watchers under test are the only ones signalling.
    await adapter!.stop();
    adapter = await startTestAdapter({ ...shared, 'lease-name': uniqueName('unused') }, 'worker');
    const w1 = await startTestAdapter(shared, 'watcher');
    const w2 = await startTestAdapter(shared, 'watcher');
    try {
      await eventually('one leader', async () => (w1.elector!.isLeader ? 1 : 0) + (w2.elector!.isLeader ? 1 : 0) === 1);
      for (let i = 0; i < 10; i++) {
        assert.equal((w1.elector!.isLeader ? 1 : 0) + (w2.elector!.isLeader ? 1 : 0), 1, 'never two leaders');
        await sleep(300);
      }
      const [leader, standby] = w1.elector!.isLeader ? [w1, w2] : [w2, w1];
      assert.ok(leader.watcher!(), 'the leader watches');
      assert.equal(standby.watcher!(), undefined, 'the standby does not');
      await leader.stop();
      await eventually(
        'the standby takes over',
        async () => standby.elector!.isLeader && standby.watcher!()?.synced,
        15_000,
      );
      // The new leader acts: a new ServiceSet is reconciled (the worker of `adapter` runs the workflow).
      await createServiceSet(kube, {
        namespace: ns,
        name: 'after-failover',
        provider: smp,
        services: [{ name: 'f1', namespace: 'web', template: 'chart' }],
      });
      await eventually('reconciled after fail-over', () => kube.get(paths.flux(hr('after-failover', 'f1'))), 15_000);
    } finally {
      await w1.stop();
      await w2.stop();
    }
  });
});
