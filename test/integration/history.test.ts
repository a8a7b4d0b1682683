// Records the workflow history of a full lifecycle (create → Deployed → failure → retry → upgrade →
// delete) and replays it against the current workflow code. With RECORD_HISTORIES=<name> the history is
// written to test/replay/histories/<name>.json (keep the older ones), where the replay suite guards every later change to workflow code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { workflowIdFor } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { retryUpdate } from '../../src/workflow/defs';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, setFluxStatus, testEnv, uniqueName } from '../support/env';
import { recordHistory, replayOptions } from '../support/replay';

/** Every string and payload (decoded as UTF-8) of a history, concatenated. */
function decodedText(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(decodedText).join(' ');
  if (v && typeof v === 'object') return Object.values(v).map(decodedText).join(' ');
  return '';
}

describe('workflow history', () => {
  const { kube } = testEnv();
  const ns = uniqueName('hist');
  let adapter: TestAdapter;
  let connection: Connection;

  before(async () => {
    adapter = await startTestAdapter();
    connection = await Connection.connect({ address: testEnv().temporalAddress });
  });
  after(async () => {
    await adapter?.stop();
    await connection?.close();
  });

  it('a full lifecycle replays deterministically against the current code', async () => {
    const smp = await stage(adapter, ns, { helm: ['chart-1', 'chart-2'], kustomize: ['ks'], clusters: [] });
    // A Secret whose content must never reach Temporal: activities pass references, not contents.
    const sentinel = `do-not-leak-${uniqueName('s')}`;
    await kube.create(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'cluster1-kubeconfig' },
      stringData: { value: `token: ${sentinel}` },
    });
    const ss = await createServiceSet(kube, {
      namespace: ns,
      name: 'life',
      provider: smp,
      services: [
        { name: 'web', namespace: 'apps', template: 'chart-1', version: '1' },
        { name: 'cfg', namespace: 'apps', template: 'ks' },
        { name: 'bad', namespace: 'apps', template: 'chart-1', values: 'a: [' },
      ],
    });
    const hr = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('life', 'apps', 'web') };
    const ks = { kind: 'Kustomization' as const, namespace: ns, name: fluxObjectName('life', 'apps', 'cfg') };
    await eventually('objects', async () => (await kube.get(paths.flux(hr))) && (await kube.get(paths.flux(ks))));
    await setFluxStatus(kube, hr, { ready: 'True', reason: 'InstallSucceeded' });
    await setFluxStatus(kube, ks, { ready: 'True', reason: 'ReconciliationSucceeded' });
    await eventually(
      'web Deployed',
      async () =>
        (await getServiceSet(kube, ns, 'life')).status.services.find((s: any) => s.name === 'web')?.state ===
        'Deployed',
    );
    await setFluxStatus(kube, hr, { ready: 'False', reason: 'UpgradeFailed', message: 'boom', stalled: true });
    await eventually(
      'web Failed',
      async () =>
        (await getServiceSet(kube, ns, 'life')).status.services.find((s: any) => s.name === 'web')?.state === 'Failed',
    );
    const client = new Client({ connection, namespace: testEnv().temporalNamespace });
    const handle = client.workflow.getHandle(workflowIdFor(ss.metadata.uid!));
    await handle.signal('retry');
    const outcome = await handle.executeUpdate(retryUpdate, { args: [{ reason: 'test' }] });
    assert.ok(outcome.pass > 0);
    const cur = await getServiceSet(kube, ns, 'life');
    await kube.mergePatch(paths.serviceSet(ns, 'life'), {
      spec: {
        services: cur.spec.services
          .filter((s: any) => s.name !== 'bad')
          .map((s: any) => (s.name === 'web' ? { ...s, template: 'chart-2', version: '2' } : s)),
      },
    });
    await eventually(
      'upgraded HelmRelease',
      async () => ((await kube.get(paths.flux(hr))) as any)?.spec.chartRef.name === 'chart-2',
    );
    await setFluxStatus(kube, hr, { ready: 'True', reason: 'UpgradeSucceeded' });
    await eventually(
      'Deployed 2',
      async () =>
        (await getServiceSet(kube, ns, 'life')).status.services.find((s: any) => s.name === 'web')?.version === '2',
    );
    await kube.delete(paths.serviceSet(ns, 'life'));
    await eventually('gone', async () => !(await getServiceSet(kube, ns, 'life')), 30_000);
    await handle.result();

    const history = await handle.fetchHistory();
    assert.ok((history.events?.length ?? 0) > 20, 'a real history');
    const raw = decodedText(history);
    assert.ok(raw.includes('observe') && raw.includes(ns), 'payloads were decoded for the check');
    assert.ok(!raw.includes(sentinel), 'no Secret content in the workflow history');
    const largest = Math.max(...(history.events ?? []).map((e) => decodedText(e).length));
    assert.ok(largest < 64 * 1024, `small payloads (largest event ${largest} bytes)`);
    await Worker.runReplayHistory(replayOptions(), history, handle.workflowId);
    const record = process.env.RECORD_HISTORIES;
    if (record) {
      const parsed = recordHistory(record === '1' ? 'lifecycle' : record, handle.workflowId);
      assert.equal(parsed.events?.length, history.events?.length);
    }
  });
});
