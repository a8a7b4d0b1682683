// `ksm-flux dev` without Flux: control plane, samples and adapter come up, the guide's commands work,
// and Ctrl-C stops everything.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllStopped, startDemo } from '../support/devDemo';

describe('ksm-flux dev (no Flux)', () => {
  it('brings the demo up, prints what to look at, and stops everything on Ctrl-C', async () => {
    const run = await startDemo(['--no-flux'], 240_000);
    try {
      const out = run.output();
      assert.match(out, /no Flux controllers/);
      assert.match(out, /workload-c\s+deployed=false\s+team-c\/broken=Failed \(values: YAML syntax error at line \d+/);
      assert.match(out, /workload-a\s+deployed=false\s+.*team-a\/hello=Provisioning/);
      const ss = JSON.parse(run.kubectl(['get', 'servicesets', '-n', 'demo', '-o', 'json'])) as { items: unknown[] };
      assert.equal(ss.items.length, 3);
      const hrs = run.kubectl(['get', 'helmreleases', '-n', 'demo', '-o', 'name']).trim().split('\n');
      assert.equal(hrs.length, 2, 'HelmReleases for the two valid Helm services');
      const ui = /Temporal Web UI of workload-a's workflow: (\S+)/.exec(out)?.[1];
      assert.ok(ui);
      assert.equal((await fetch(ui)).status, 200);
    } catch (e) {
      await run.interrupt();
      throw e;
    }
    const pids = run.pids();
    assert.equal(await run.interrupt(), 0, run.output().slice(-3000));
    assert.match(run.output(), /stopped everything/);
    await assertAllStopped(run, pids);
  });
});
