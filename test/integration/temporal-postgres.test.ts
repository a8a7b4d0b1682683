// The adapter on the production Temporal server (go.temporal.io/server on PostgreSQL, as `testenv up --temporal
// postgres` runs it) instead of the dev server: a ServiceSet reconciled to Deployed, its workflow stored in
// PostgreSQL, found by its search attributes (registered by testenv), and the separate Web UI server showing it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { workflowIdFor } from '../../src/workflow/constants';
import { queryServiceSets } from '../../src/commands/list';
import { SEARCH_ATTRIBUTES } from '../../src/workflow/searchAttributes';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { connectClient } from '../../src/temporalConn';
import { stop } from '../../src/testenv/proc';
import { startTemporalServer, type TemporalServerEndpoint } from '../../src/testenv/temporalServer';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, setFluxStatus, testEnv, uniqueName } from '../support/env';

const run = promisify(execFile);

describe('adapter on the production Temporal server (PostgreSQL)', () => {
  const { kube } = testEnv();
  const ns = uniqueName('pg');
  // Inside the run's state dir when there is one, so `testenv down` removes it with everything else.
  const base = process.env.KSM_FLUX_TESTENV_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-pg-'));
  const dir = path.join(base, uniqueName('temporal-postgres'));
  let temporal: TemporalServerEndpoint | undefined;
  let adapter: TestAdapter | undefined;
  let smp: string;
  /** Custom search attributes as the server listed them before the adapter started (testenv registers them). */
  let registeredAtStart: Record<string, unknown> = {};

  before(async () => {
    fs.mkdirSync(dir, { recursive: true });
    const t0 = Date.now();
    temporal = await startTemporalServer(dir);
    process.stderr.write(`[test] Temporal server on PostgreSQL up in ${Date.now() - t0} ms\n`);
    const conn = await Connection.connect({ address: temporal.address });
    try {
      registeredAtStart =
        (await conn.operatorService.listSearchAttributes({ namespace: temporal.namespace })).customAttributes ?? {};
    } finally {
      await conn.close();
    }
    adapter = await startTestAdapter({
      'temporal-address': temporal.address,
      'temporal-namespace': temporal.namespace,
    });
    smp = await stage(adapter, ns, { helm: ['podinfo-6-0-0'] });
  });
  after(async () => {
    await adapter?.stop();
    for (const p of [...(temporal?.procs ?? [])].reverse()) await stop(p);
    for (const d of temporal?.cleanupDirs ?? []) fs.rmSync(d, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reconciles a ServiceSet to Deployed; the workflow lives in PostgreSQL, is found by its search attributes and shows in the Web UI', async () => {
    const ss = await createServiceSet(kube, {
      namespace: ns,
      name: 'cd1',
      provider: smp,
      services: [{ name: 'podinfo', namespace: 'web', template: 'podinfo-6-0-0', version: '6.0.0' }],
    });
    const hr = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('cd1', 'web', 'podinfo') };
    await eventually('HelmRelease applied', () => kube.get(paths.flux(hr)));
    await setFluxStatus(kube, hr, { ready: 'True', reason: 'InstallSucceeded', message: 'Helm install succeeded' });
    const deployed: any = await eventually('ServiceSet Deployed', async () => {
      const o = await getServiceSet(kube, ns, 'cd1');
      return o.status?.deployed === true && o;
    });
    assert.equal(deployed.status.services[0].state, 'Deployed');

    const workflowId = workflowIdFor(ss.metadata.uid!);
    const client = await connectClient(adapter!.cfg);
    try {
      const d = await client.workflow.getHandle(workflowId).describe();
      assert.equal(d.status.name, 'RUNNING', 'the entity workflow keeps running');
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      assert.ok((history.events?.length ?? 0) > 5, 'its history is on this server');
    } finally {
      await client.connection.close();
    }

    // Found through its search attributes (registered by testenv through the operator API, before the adapter ran).
    assert.deepEqual(
      SEARCH_ATTRIBUTES.map((a) => a.key.name).filter((n) => registeredAtStart[n] === undefined),
      [],
      'every ksm-flux search attribute registered at start',
    );
    const listed = await eventually('ksm-flux list --state Deployed --cluster cluster1', async () => {
      const c = await connectClient(adapter!.cfg);
      try {
        const r = await queryServiceSets(c, adapter!.cfg, { state: 'Deployed', cluster: 'cluster1', namespace: ns });
        return r.rows.length === 1 && r.rows[0];
      } finally {
        await c.connection.close();
      }
    });
    assert.deepEqual([listed.serviceSet, listed.workflowId, listed.failed], [`${ns}/cd1`, workflowId, 0]);

    // The server's own persistence: the execution row is in PostgreSQL's temporal database.
    const pg = temporal!.postgres;
    const { stdout } = await run(path.join(pg.bin, 'psql'), [
      ...['-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', 'temporal', '-tAc'],
      `select count(*) from current_executions where workflow_id = '${workflowId}'`,
    ]);
    assert.equal(stdout.trim(), '1', 'one current execution of the workflow in PostgreSQL');

    // The Web UI server lists it through its API (the same calls the browser makes).
    const ui = await eventually('the workflow in the Web UI', async () => {
      const r = await fetch(
        `${temporal!.uiUrl}/api/v1/namespaces/${temporal!.namespace}/workflows?query=${encodeURIComponent(`WorkflowId="${workflowId}"`)}`,
      );
      const body = (await r.json()) as { executions?: { execution?: { workflowId?: string } }[] };
      return r.ok && body.executions?.some((e) => e.execution?.workflowId === workflowId) && body;
    });
    assert.ok(ui);
  });
});
