// `ksm-flux dev` with the real Flux controllers: a new user sees a real install on the workload cluster.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertAllStopped, startDemo } from '../support/devDemo';

describe('ksm-flux dev (real Flux)', () => {
  it('installs the samples on the workload cluster and stops everything on Ctrl-C', async () => {
    const t0 = Date.now();
    const run = await startDemo(['--flux'], 600_000);
    process.stderr.write(`[e2e] demo ready in ${Date.now() - t0} ms\n`);
    try {
      const out = run.output();
      assert.match(out, /running with the real Flux controllers/);
      assert.match(
        out,
        /workload-a\s+deployed=true\s+platform\/platform=Deployed@platform-config, team-a\/hello=Deployed@1\.0\.0/,
      );
      assert.match(out, /workload-b\s+deployed=true\s+team-b\/hello=Deployed@1\.1\.0/);
      assert.match(out, /workload-c\s+deployed=false\s+team-c\/broken=Failed/);
      const target = path.join(run.dir, 'workload-kubeconfig');
      const cm = JSON.parse(run.kubectl(['get', 'configmap', '-n', 'team-a', 'hello', '-o', 'json'], target)) as {
        data: Record<string, string>;
      };
      assert.equal(cm.data.greeting, 'hello from team A');
      assert.match(
        run.kubectl(['get', 'configmap', '-n', 'platform', 'platform-settings', '-o', 'name'], target),
        /platform-settings/,
      );
    } catch (e) {
      await run.interrupt();
      throw e;
    }
    const pids = run.pids();
    assert.equal(await run.interrupt(), 0, run.output().slice(-3000));
    await assertAllStopped(run, pids);
  });
});
