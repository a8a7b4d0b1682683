// Finding workflows among many: ServiceSets in different states on different clusters are found by their search
// attributes (Temporal visibility) with `ksm-flux list --state/--cluster`, state changes move them between the
// answers, and the spawned CLI prints each with its Web UI link. Visibility is eventually consistent: poll.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { workflowIdFor } from '../../src/workflow/constants';
import { queryServiceSets, type ListRow } from '../../src/commands/list';
import { fluxObjectName } from '../../src/plan/names';
import type { ListFilter } from '../../src/workflow/searchAttributes';
import { paths } from '../../src/kube/paths';
import { connectClient } from '../../src/temporalConn';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, setFluxStatus, testEnv, uniqueName } from '../support/env';

const bin = path.resolve(__dirname, '..', '..', 'bin', 'ksm-flux');

describe('ksm-flux list: workflows by search attributes', () => {
  const { kube } = testEnv();
  const ns = uniqueName('list');
  let adapter: TestAdapter;
  let client: Client;
  const uids: Record<string, string> = {};

  /** Polls the query until it names exactly `want` (ServiceSet names), then returns its rows. */
  const expectList = async (f: ListFilter, want: string[]) => {
    let last: ListRow[] = [];
    try {
      return await eventually(
        `list ${JSON.stringify(f)} = ${want.join(', ')}`,
        async () => {
          // Within this test's namespace: a ServiceSet another test left with the (shared) finalizer gets a
          // workflow on every adapter's task queue.
          const r = await queryServiceSets(client, adapter.cfg, { namespace: ns, ...f });
          last = r.rows;
          const got = r.rows.map((x) => x.serviceSet);
          return JSON.stringify(got) === JSON.stringify(want.map((n) => `${ns}/${n}`)) && r.rows;
        },
        30_000,
        250,
      );
    } catch (e) {
      const all = await queryServiceSets(client, adapter.cfg, {});
      throw new Error(
        `${(e as Error).message}; last rows ${JSON.stringify(last.map((r) => [r.serviceSet, r.state, r.failed]))}; all ${JSON.stringify(all.rows.map((r) => [r.serviceSet, r.state, r.failed]))}`,
      );
    }
  };

  before(async () => {
    adapter = await startTestAdapter({ 'temporal-ui-url': testEnv().temporalUiUrl });
    client = await connectClient(adapter.cfg);
    const smp = await stage(adapter, ns, { helm: ['chart'], clusters: ['east', 'west'] });
    const good = (name: string) => ({ name, namespace: 'apps', template: 'chart', version: '1' });
    const bad = (name: string) => ({ name, namespace: 'apps', template: 'chart', version: '1', values: 'a: [' });
    const create = async (name: string, cluster: string, services: ReturnType<typeof good>[]) => {
      const o = await createServiceSet(kube, { namespace: ns, name, provider: smp, cluster, services });
      uids[name] = o.metadata.uid!;
    };
    // Distinct release names: two ServiceSets deploying one release on one cluster would contend for it.
    await create('east-ok', 'east', [good('ok')]); // Deployed
    await create('east-bad', 'east', [good('web'), bad('broken')]); // Failed, 1 failed
    await create('west-bad', 'west', [bad('b1'), bad('b2')]); // Failed, 2 failed
    await create('west-wip', 'west', [good('wip')]); // Provisioning: Flux is still at it
    await create('north', 'north', [good('web')]); // Pending: no kubeconfig Secret for cluster north
    const hr = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('east-ok', 'apps', 'ok') };
    await eventually('east-ok HelmRelease', () => kube.get(paths.flux(hr)));
    await setFluxStatus(kube, hr, { ready: 'True', reason: 'InstallSucceeded' });
    const wip = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('west-wip', 'apps', 'wip') };
    await eventually('west-wip HelmRelease', () => kube.get(paths.flux(wip)));
    await setFluxStatus(kube, wip, { ready: 'Unknown', reconciling: true });
    await eventually('east-ok Deployed', async () => (await getServiceSet(kube, ns, 'east-ok')).status?.deployed);
  });
  after(async () => {
    await adapter?.stop();
    await client?.connection.close();
  });

  it('--state Failed and --cluster return exactly the matching ServiceSets, with state, count and link', async () => {
    const failed = await expectList({ state: 'Failed' }, ['east-bad', 'west-bad']);
    assert.deepEqual(
      failed.map((r: ListRow) => [r.cluster, r.state, r.failed]),
      [
        ['east', 'Failed', 1],
        ['west', 'Failed', 2],
      ],
    );
    const env = testEnv();
    assert.equal(
      failed[0]!.link,
      `${env.temporalUiUrl}/namespaces/${env.temporalNamespace}/workflows/${encodeURIComponent(workflowIdFor(uids['east-bad']!))}`,
    );
    assert.equal(failed[0]!.provider, (await getServiceSet(kube, ns, 'east-bad')).spec.provider.name);

    await expectList({ cluster: 'east' }, ['east-bad', 'east-ok']);
    await expectList({ cluster: 'west', state: 'Failed' }, ['west-bad']);
    await expectList({ state: 'deployed' }, ['east-ok']);
    await expectList({ state: 'Provisioning' }, ['west-wip']);
    await expectList({ state: 'Pending' }, ['north']);
    await expectList({ namespace: ns }, ['east-bad', 'east-ok', 'north', 'west-bad', 'west-wip']);
    await expectList({ cluster: 'nowhere' }, []);
  });

  it('follows state changes: a fixed ServiceSet leaves the Failed list, a deleted one ends', async () => {
    const cur = await getServiceSet(kube, ns, 'east-bad');
    await kube.mergePatch(paths.serviceSet(ns, 'east-bad'), {
      spec: { services: cur.spec.services.filter((s: { name: string }) => s.name !== 'broken') },
    });
    const hr = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('east-bad', 'apps', 'web') };
    await eventually('east-bad HelmRelease', () => kube.get(paths.flux(hr)));
    await setFluxStatus(kube, hr, { ready: 'True', reason: 'InstallSucceeded' });
    await expectList({ state: 'Failed' }, ['west-bad']);
    const ok = await expectList({ state: 'Deployed', cluster: 'east' }, ['east-bad', 'east-ok']);
    assert.deepEqual(
      ok.map((r: ListRow) => r.failed),
      [0, 0],
    );

    await kube.delete(paths.serviceSet(ns, 'north'));
    await expectList({ state: 'Pending' }, []);
    const all = await expectList({ cluster: 'north', all: true }, ['north']);
    assert.equal(all[0]!.status, 'COMPLETED', 'the ended workflow is still listed with --all');
  });

  it('the CLI prints the table with each Web UI link', async () => {
    const env = testEnv();
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, 'list', ...args], {
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            TEMPORAL_ADDRESS: env.temporalAddress,
            TEMPORAL_NAMESPACE: env.temporalNamespace,
            TEMPORAL_UI_URL: env.temporalUiUrl,
            KSM_FLUX_TASK_QUEUE: adapter.cfg.taskQueue,
          },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      });
    const r = await run(['--state', 'Failed', '--cluster', 'west']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^SERVICESET\s+CLUSTER\s+PROVIDER\s+STATE\s+FAILED\s+LINK$/);
    assert.equal(lines.length, 4, r.stdout);
    const row = lines[1]!.split(/\s+/);
    assert.deepEqual(
      [row[0], row[1], row[3], row[4], row[5]],
      [
        `${ns}/west-bad`,
        'west',
        'Failed',
        '2',
        `${env.temporalUiUrl}/namespaces/${env.temporalNamespace}/workflows/${encodeURIComponent(workflowIdFor(uids['west-bad']!))}`,
      ],
    );
    assert.match(lines[2]!, /^1 ServiceSet workflow\(s\) matching .*KsmState = 'Failed' AND KsmCluster = 'west'$/);
    assert.ok(lines[3]!.startsWith(`In the Web UI: ${env.temporalUiUrl}/namespaces/`), lines[3]);
    // The link opens the workflow in the Web UI (the e2e browser test follows such links in a real browser).
    const page = await fetch(row[5]!);
    assert.equal(page.status, 200);
  });
});
