// The real entry points: `ksm-flux run` with only the env of `ksm-flux testenv env` (default identity
// ksm-flux/kcm-system), the manual retry (signal as sent from the Web UI, and `ksm-flux retry`) and
// `ksm-flux status`, and start-up validation.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import {
  FORCE_AT_ANNOTATION,
  REQUESTED_AT_ANNOTATION,
  RESET_AT_ANNOTATION,
  workflowIdFor,
} from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import {
  createHelmTemplate,
  createKubeconfigSecret,
  createNamespace,
  createServiceSet,
  createSmp,
  eventually,
  getServiceSet,
  setFluxStatus,
  testEnv,
  uniqueName,
} from '../support/env';

const bin = path.resolve(__dirname, '..', '..', 'bin', 'ksm-flux');

function cliEnv(): NodeJS.ProcessEnv {
  const env = testEnv();
  // Exactly what `ksm-flux testenv env` provides, nothing else.
  const { PATH, HOME } = process.env;
  return {
    PATH,
    HOME,
    KUBECONFIG: env.kubeconfig,
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_NAMESPACE: env.temporalNamespace,
    TEMPORAL_UI_URL: env.temporalUiUrl,
    LOG_LEVEL: 'info',
  };
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = cliEnv(),
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('command line', () => {
  const { kube } = testEnv();
  const ns = uniqueName('cli');
  let proc: ChildProcess | undefined;
  let logs = '';
  let exited: Promise<number> | undefined;
  const hr = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('cd', 'web', 'app') };

  before(async () => {
    await createNamespace(kube, ns);
    // The default identity SMPs name for `ksm-flux run` without flags.
    await createSmp(kube, {
      name: uniqueName('smp-default'),
      adapterName: 'ksm-flux',
      adapterNamespace: 'kcm-system',
      selector: { matchLabels: { 'test-ns': ns } },
    });
    await createHelmTemplate(kube, ns, 'chart');
    await createKubeconfigSecret(kube, ns, 'cluster1');
  });
  after(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  });

  it('--help lists the commands and every command has help', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    for (const c of ['run', 'watcher', 'worker', 'retry', 'status', 'doctor', 'dev', 'testenv'])
      assert.match(top.stdout, new RegExp(`\\n  ${c} `));
    const run = await runCli(['run', '--help']);
    assert.match(run.stdout, /--temporal-address\s+TEMPORAL_ADDRESS/);
    assert.match(run.stdout, /--adapter-name/);
  });

  it('rejects invalid configuration at start with a message naming the flag and variable', async () => {
    const r = await runCli(['run', '--temporal-address', 'not an address', '--log-level', 'loud']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--temporal-address \/ TEMPORAL_ADDRESS: expected host:port/);
    assert.match(r.stderr, /--log-level \/ LOG_LEVEL/);
  });

  it('rejects an unknown flag naming the nearest known one, before starting anything', async () => {
    const r = await runCli(['run', '--adapter-nmae', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown flag --adapter-nmae \(did you mean --adapter-name\?\)/);
    const p = await runCli(['plan', 'ns/x', '--jsn']);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /unknown flag --jsn \(did you mean --json\?\)/);
  });

  it('`ksm-flux run` with only the testenv env reconciles a ServiceSet', async () => {
    proc = spawn(process.execPath, [bin, 'run'], { env: cliEnv() });
    proc.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    exited = new Promise((r) => proc!.on('exit', (c) => r(c ?? -1)));
    await createServiceSet(kube, {
      namespace: ns,
      name: 'cd',
      provider: (await kube.list(paths.smps())).items.find(
        (s: any) => s.spec.selector?.matchLabels?.['test-ns'] === ns,
      )!.metadata.name,
      labels: { 'test-ns': ns },
      services: [{ name: 'app', namespace: 'web', template: 'chart', version: '1.0.0' }],
    });
    await eventually('HelmRelease applied by the spawned adapter', () => kube.get(paths.flux(hr)), 60_000);
    await setFluxStatus(kube, hr, { ready: 'True', reason: 'InstallSucceeded' });
    await eventually('Deployed', async () => (await getServiceSet(kube, ns, 'cd'))?.status?.deployed === true, 20_000);
    // Structured JSON logs that carry the ServiceSet and its workflow id.
    const lines = logs
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.msg === 'ksm-flux started'));
    const ss = await getServiceSet(kube, ns, 'cd');
    assert.ok(
      lines.some(
        (l) =>
          l.serviceSet === `${ns}/cd` &&
          (l.workflowId === workflowIdFor(ss.metadata.uid) || l.msg === 'applied Flux object'),
      ),
      'a log line about the ServiceSet',
    );
  });

  it('a `retry` signal (as sent from the Web UI, no input) sets requestedAt, resetAt and forceAt on a Stalled HelmRelease', async () => {
    await setFluxStatus(kube, hr, {
      ready: 'False',
      reason: 'RetriesExceeded',
      message: 'Helm upgrade failed: timed out',
      stalled: true,
    });
    await eventually(
      'Failed',
      async () => (await getServiceSet(kube, ns, 'cd')).status.services[0].state === 'Failed',
      20_000,
    );
    const ss = await getServiceSet(kube, ns, 'cd');
    const connection = await Connection.connect({ address: testEnv().temporalAddress });
    try {
      const client = new Client({ connection, namespace: testEnv().temporalNamespace });
      await client.workflow.getHandle(workflowIdFor(ss.metadata.uid)).signal('retry');
    } finally {
      await connection.close();
    }
    const o: any = await eventually('annotations set', async () => {
      const x: any = await kube.get(paths.flux(hr));
      return x.metadata.annotations?.[REQUESTED_AT_ANNOTATION] && x;
    });
    const a = o.metadata.annotations;
    assert.equal(a[RESET_AT_ANNOTATION], a[REQUESTED_AT_ANNOTATION]);
    assert.equal(
      a[FORCE_AT_ANNOTATION],
      a[REQUESTED_AT_ANNOTATION],
      'forceAt with requestedAt on a release that is not Ready',
    );
  });

  it('`ksm-flux retry` waits for the pass and reports the outcome; `ksm-flux status` shows live and stored state', async () => {
    const before = ((await kube.get(paths.flux(hr))) as any).metadata.annotations[REQUESTED_AT_ANNOTATION];
    await new Promise((r) => setTimeout(r, 20));
    const r = await runCli(['retry', `${ns}/cd`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`retried ServiceSet ${ns}/cd \\(workflow ksm-flux/`));
    assert.match(r.stdout, /SERVICE\s+STATE/);
    assert.match(r.stdout, /web\/app\s+Failed/);
    const after = ((await kube.get(paths.flux(hr))) as any).metadata.annotations[REQUESTED_AT_ANNOTATION];
    assert.ok(after > before, 'a new reconcile request');

    await setFluxStatus(kube, hr, { ready: 'True', reason: 'UpgradeSucceeded' });
    await eventually(
      'Deployed again',
      async () => (await getServiceSet(kube, ns, 'cd')).status.services[0].state === 'Deployed',
      20_000,
    );
    const s = await runCli(['status', `${ns}/cd`]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /phase Waiting/);
    assert.match(s.stdout, /web\/app\s+Helm\s+Deployed\s+Deployed\s+1\.0\.0/);
    assert.match(s.stdout, /counters\s+passes=\d+/);
    assert.match(s.stdout, /condition\s+ServicesInReadyState=True \(ServicesInReadyState\) 1\/1/);

    const missing = await runCli(['status', `${ns}/nope`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ServiceSet .*\/nope not found/);
  });

  it('stops cleanly on SIGTERM', async () => {
    proc!.kill('SIGTERM');
    const code = await exited!;
    assert.equal(code, 0, logs.slice(-2000));
  });
});
