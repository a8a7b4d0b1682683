// `ksm-flux dev` as a new user sees it with everything built: the real Flux controllers in kcm mode and the real
// kcm. The demo's ClusterDeployment and MultiClusterService become ServiceSets (kcm), deployed by ksm-flux through
// Flux on the workload cluster; kcm reports the services back. `ksm-flux doctor` passes in the demo, and Ctrl-C
// stops everything.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertAllStopped, startDemo } from '../support/devDemo';

const bin = path.resolve(__dirname, '..', '..', 'bin', 'ksm-flux');

describe('ksm-flux dev (real Flux and kcm)', () => {
  it('kcm turns the sample ClusterDeployment and MultiClusterService into installed services; doctor passes; Ctrl-C stops everything', async (t) => {
    const t0 = Date.now();
    const run = await startDemo(['--kcm'], 600_000);
    t.diagnostic(`demo ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    try {
      const out = run.output();
      assert.match(out, /running with the real Flux controllers and kcm/);
      // What kcm says about the ClusterDeployment (its status.services), service by service.
      assert.match(out, /ClusterDeployment demo\/workload: ServicesInReadyState 3\/4/);
      assert.match(out, /^ {2}team-a\/hello=Deployed@1\.0\.0$/m);
      assert.match(out, /^ {2}platform\/platform=Deployed@platform-config$/m);
      assert.match(out, /^ {2}team-b\/hello=Deployed@1\.1\.0$/m);
      assert.match(out, /^ {2}team-c\/broken=Failed \(values: YAML syntax error/m);
      assert.match(
        out,
        /MultiClusterService team-b: ClusterInReadyState 1\/1, matching clusters workload \(deployed\)/,
      );
      // The ServiceSets are kcm's: one for the ClusterDeployment, one for the MultiClusterService on it.
      const sets = JSON.parse(run.kubectl(['get', 'servicesets', '-n', 'demo', '-o', 'json'])) as {
        items: { metadata: { name: string; ownerReferences?: { kind: string }[] } }[];
      };
      assert.deepEqual(
        sets.items.map((s) => s.metadata.ownerReferences?.[0]?.kind),
        ['ClusterDeployment', 'ClusterDeployment'],
      );
      const target = path.join(run.dir, 'workload-kubeconfig');
      const cm = JSON.parse(run.kubectl(['get', 'configmap', '-n', 'team-a', 'hello', '-o', 'json'], target)) as {
        data: Record<string, string>;
      };
      assert.equal(cm.data.greeting, 'hello from team A');
      assert.match(
        run.kubectl(['get', 'configmap', '-n', 'platform', 'platform-settings', '-o', 'name'], target),
        /platform-settings/,
      );

      // The guide's doctor command passes: the SMP's adapter object exists (a stand-in for the local adapter).
      const doctor = spawnSync(process.execPath, [bin, 'doctor', '--smp', 'ksm-flux'], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...run.env() },
        encoding: 'utf8',
      });
      assert.equal(doctor.status, 0, `${doctor.stdout}\n${doctor.stderr}`);
      assert.match(doctor.stdout, /smp ksm-flux adapter/);
    } catch (e) {
      await run.interrupt();
      throw e;
    }
    const pids = run.pids();
    assert.equal(await run.interrupt(), 0, run.output().slice(-3000));
    await assertAllStopped(run, pids);
  });
});
