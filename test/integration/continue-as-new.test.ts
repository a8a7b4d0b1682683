// Continue-as-new on the server's suggestion: a dev server of our own with a low suggest threshold makes
// a ServiceSet workflow roll over several times; its state (service memory, counters, transition times,
// a pending retry) survives, and a roll-over causes no status writes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { workflowIdFor } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { stop } from '../../src/testenv/proc';
import { startTemporal, type TemporalEndpoint } from '../../src/testenv/temporal';
import { retryUpdate, stateQuery } from '../../src/workflow/defs';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, setFluxStatus, testEnv, uniqueName } from '../support/env';
import { recordHistory, replayOptions } from '../support/replay';

describe('continue-as-new', () => {
  const { kube } = testEnv();
  const ns = uniqueName('can');
  let temporal: TemporalEndpoint;
  let adapter: TestAdapter;
  let connection: Connection;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-can-'));
    temporal = await startTemporal(dir, {
      ui: false,
      extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=50'],
    });
    // Frequent safety-net polls: every pass adds history, so the workflow rolls over quickly. 50 events leave room
    // for the patch markers each run records (kcm-behaviour-1, search-attributes-1) and several passes per run.
    adapter = await startTestAdapter({ 'temporal-address': temporal.address, 'quiescent-poll': '200ms' });
    connection = await Connection.connect({ address: temporal.address });
  });
  after(async () => {
    await adapter?.stop();
    await connection?.close();
    if (temporal) await stop(temporal.proc);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rolls over on the suggestion and carries its state', async () => {
    const smp = await stage(adapter, ns, { helm: ['chart'] });
    const ss = await createServiceSet(kube, {
      namespace: ns,
      name: 'roll',
      provider: smp,
      services: [{ name: 'r1', namespace: 'web', template: 'chart', version: '1' }],
    });
    const hr = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('roll', 'web', 'r1') };
    await eventually('HelmRelease', () =>
      kube.get(
        hr.kind === 'HelmRelease' ? `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns}/helmreleases/${hr.name}` : '',
      ),
    );
    await setFluxStatus(kube, hr, { ready: 'True', reason: 'InstallSucceeded' });
    const deployed = await eventually('Deployed', async () => {
      const o = await getServiceSet(kube, ns, 'roll');
      return o?.status?.services?.[0]?.state === 'Deployed' && o;
    });
    const since = deployed.status.services[0].lastStateTransitionTime;

    const client = new Client({ connection, namespace: 'default' });
    const handle = client.workflow.getHandle(workflowIdFor(ss.metadata.uid!));
    const firstRun = (await handle.describe()).runId;
    const writesBefore = (await handle.query(stateQuery)).counters.statusWrites;
    const live = await eventually(
      'two roll-overs',
      async () => {
        const s = await handle.query(stateQuery);
        return s.counters.continuedAsNew >= 2 && s;
      },
      60_000,
      200,
    );
    const d = await handle.describe();
    assert.notEqual(d.runId, firstRun, 'a new run');
    // The first run ends with ContinueAsNew: a replay fixture for that path (RECORD_HISTORIES=<name>).
    const firstHistory = await client.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
    await Worker.runReplayHistory(replayOptions(), firstHistory, handle.workflowId);
    if (process.env.RECORD_HISTORIES)
      recordHistory(`continue-as-new-${process.env.RECORD_HISTORIES}`, handle.workflowId, {
        runId: firstRun,
        address: temporal.address,
      });
    assert.equal(d.status.name, 'RUNNING');
    assert.ok(
      live.counters.passes > live.counters.continuedAsNew + 3,
      `counters carried across runs: ${JSON.stringify(live.counters)}`,
    );
    assert.equal(live.counters.statusWrites, writesBefore, 'no status writes caused by rolling over');
    assert.equal(live.services[0]?.state, 'Deployed');
    const now = await getServiceSet(kube, ns, 'roll');
    assert.equal(now.status.services[0].lastStateTransitionTime, since, 'transition time unchanged');
    assert.equal(now.status.services[0].version, '1');

    // Retries that arrive while the run wants to roll over are answered first (no run waits on a
    // handler that only a next pass could complete).
    const many = await Promise.all(
      Array.from({ length: 6 }, (_, i) => handle.executeUpdate(retryUpdate, { args: [{ reason: `burst ${i}` }] })),
    );
    assert.equal(many.length, 6);
    for (const o of many) assert.equal(o.services[0]?.state, 'Deployed');

    // Messages keep working on the new run, including across further roll-overs.
    const outcome = await handle.executeUpdate(retryUpdate, { args: [{ reason: 'after roll-over' }] });
    assert.equal(outcome.services[0]?.state, 'Deployed');
    assert.ok(outcome.pass >= live.counters.passes);
  });
});
