// Failures heal by themselves: a HelmRelease that gave up (Stalled, RetriesExceeded) is re-driven by the
// workflow with backoff (requestedAt + resetAt + forceAt) while its input is unchanged; Failed says when the
// next automatic retry is (status message and `ksm-flux status`); maxConsecutiveFailures stops it. Flux's side
// is played by the test through the real API (status subresource); test/e2e/healing.test.ts has real Flux.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import {
  FORCE_AT_ANNOTATION,
  REQUESTED_AT_ANNOTATION,
  RESET_AT_ANNOTATION,
  workflowIdFor,
} from '../../src/workflow/constants';
import { retry as retryCommand, status as statusCommand } from '../../src/commands/ops';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, setFluxStatus, sleep, testEnv, uniqueName } from '../support/env';
import { recordHistory, replayOptions } from '../support/replay';

describe('self-healing of failed services', () => {
  const { kube } = testEnv();
  const ns = uniqueName('heal');
  let adapter: TestAdapter;
  let smp: string;
  // One release per ServiceSet (the same release in two ServiceSets would be a conflict).
  const release = (ss: string) => (ss === 'heals' ? 'app' : 'app2');
  const hr = (ss: string) => ({
    kind: 'HelmRelease' as const,
    namespace: ns,
    name: fluxObjectName(ss, 'web', release(ss)),
  });
  const annotations = async (ss: string) =>
    ((await kube.get(paths.flux(hr(ss))))?.metadata.annotations ?? {}) as Record<string, string>;
  const entry = async (ss: string) => (await getServiceSet(kube, ns, ss))?.status?.services?.[0];
  const stall = (ss: string, handled?: string) =>
    setFluxStatus(kube, hr(ss), {
      ready: 'False',
      reason: 'InstallFailed',
      message: `Helm install failed for release web/${release(ss)}: ConfigMap "app-config" is invalid`,
      stalled: true,
      ...(handled ? { extra: { lastHandledReconcileAt: handled } } : {}),
    });

  before(async () => {
    adapter = await startTestAdapter({ 'heal-backoff-min': '2s', 'heal-backoff-max': '4s' });
    smp = await stage(adapter, ns, { helm: ['chart'] });
  });
  after(async () => adapter?.stop());

  it('Stalled → Failed with the next retry time; re-driven with backoff; Deployed once Flux succeeds', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'heals',
      provider: smp,
      services: [{ name: 'app', namespace: 'web', template: 'chart' }],
    });
    await eventually('HelmRelease', () => kube.get(paths.flux(hr('heals'))));
    await stall('heals');
    const failed = await eventually('Failed with the next automatic retry', async () => {
      const e = await entry('heals');
      return (e?.state === 'Failed' && /next automatic retry at (\S+)\]$/.exec(e.failureMessage ?? '')) || undefined;
    });
    assert.match(failed.input, /^InstallFailed: Helm install failed for release web\/app/);
    const first = Date.parse(failed[1]!);

    // `ksm-flux status` shows it too.
    const lines: string[] = [];
    await statusCommand(adapter.cfg, `${ns}/heals`, (s) => lines.push(s));
    const row = lines
      .join('\n')
      .split('\n')
      .find((l) => l.startsWith('web/app'));
    assert.ok(row?.includes(failed[1]!), `status row names the next retry: ${row}`);
    assert.match(lines.join('\n'), /NEXT RETRY/);

    // Due → the workflow asks Flux again, resetting its retry counters (the manual-retry annotations).
    const a = await eventually('re-driven', async () => {
      const x = await annotations('heals');
      return x[REQUESTED_AT_ANNOTATION] ? x : undefined;
    });
    assert.ok(Date.now() >= first - 1000, 'not before it was due');
    assert.equal(a[RESET_AT_ANNOTATION], a[REQUESTED_AT_ANNOTATION]);
    assert.equal(a[FORCE_AT_ANNOTATION], a[REQUESTED_AT_ANNOTATION]);

    // Flux handles it and fails again: failure 2, a later retry (backoff doubles).
    await stall('heals', a[REQUESTED_AT_ANNOTATION]);
    await eventually('failure 2 scheduled', async () =>
      /failed 2 time\(s\); next automatic retry at/.test((await entry('heals'))?.failureMessage ?? ''),
    );
    const second = await eventually('re-driven again', async () => {
      const x = await annotations('heals');
      return x[REQUESTED_AT_ANNOTATION] !== a[REQUESTED_AT_ANNOTATION] && x[REQUESTED_AT_ANNOTATION];
    });
    assert.ok(
      Date.parse(second) - Date.parse(a[REQUESTED_AT_ANNOTATION]!) >= 3500,
      `second retry waited the doubled backoff (${a[REQUESTED_AT_ANNOTATION]} → ${second})`,
    );

    // The precondition is there now: Flux succeeds; the service is Deployed with no human action.
    await setFluxStatus(kube, hr('heals'), {
      ready: 'True',
      reason: 'InstallSucceeded',
      extra: { lastHandledReconcileAt: second },
    });
    await eventually('Deployed', async () => (await entry('heals'))?.state === 'Deployed');
    await sleep(5000); // past the backoff: nothing more is requested
    assert.equal((await annotations('heals'))[REQUESTED_AT_ANNOTATION], second, 'no retry of a healthy release');

    // This run (automatic re-drives, a wake-up timer per retry) replays against the current code; with
    // RECORD_HISTORIES=<n> it becomes the replay fixture healing-<n>.json.
    const uid = (await getServiceSet(kube, ns, 'heals')).metadata.uid;
    const connection = await Connection.connect({ address: testEnv().temporalAddress });
    try {
      const handle = new Client({ connection, namespace: testEnv().temporalNamespace }).workflow.getHandle(
        workflowIdFor(uid),
      );
      await Worker.runReplayHistory(replayOptions(), await handle.fetchHistory(), handle.workflowId);
      if (process.env.RECORD_HISTORIES) recordHistory(`healing-${process.env.RECORD_HISTORIES}`, handle.workflowId);
    } finally {
      await connection.close();
    }
  });

  it('maxConsecutiveFailures stops automatic retries; Failed says so; a manual retry still works', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'gives-up',
      provider: smp,
      config: { maxConsecutiveFailures: 2 },
      services: [{ name: 'app2', namespace: 'web', template: 'chart' }],
    });
    await eventually('HelmRelease', () => kube.get(paths.flux(hr('gives-up'))));
    await stall('gives-up');
    const auto = await eventually(
      'one automatic retry (failure 1 of 2)',
      async () => (await annotations('gives-up'))[REQUESTED_AT_ANNOTATION],
    );
    await stall('gives-up', auto); // …which fails too: 2 of 2
    await eventually('Failed, retries stopped', async () =>
      /failed 2 times in a row; automatic retries stopped \(maxConsecutiveFailures 2\)/.test(
        (await entry('gives-up'))?.failureMessage ?? '',
      ),
    );
    await sleep(5000); // well past the 4 s backoff
    assert.equal((await annotations('gives-up'))[REQUESTED_AT_ANNOTATION], auto, 'not re-driven again');
    const lines: string[] = [];
    await statusCommand(adapter.cfg, `${ns}/gives-up`, (s) => lines.push(s));
    const row = lines
      .join('\n')
      .split('\n')
      .find((l) => l.startsWith('web/app2'));
    assert.match(row ?? '', /\sstopped\s/);

    // A manual retry always works.
    await retryCommand(adapter.cfg, `${ns}/gives-up`, { out: () => undefined });
    const manual = (await annotations('gives-up'))[REQUESTED_AT_ANNOTATION];
    assert.ok(manual && manual !== auto, 'the manual retry re-drove it');
  });

  it('a changed spec starts a fresh budget', async () => {
    const o = await getServiceSet(kube, ns, 'gives-up');
    await kube.mergePatch(paths.serviceSet(ns, 'gives-up'), {
      spec: { services: [{ ...o.spec.services[0], values: 'fixed: true\n' }] },
    });
    await eventually(
      'new spec applied',
      async () => (await kube.get(paths.flux(hr('gives-up'))))?.metadata.generation === 2,
    );
    // helm-controller takes up the new generation and drops its Stalled verdict about the old one; the test plays
    // that (nothing else would clear the old generation's Stalled condition here, where no Flux runs).
    await setFluxStatus(kube, hr('gives-up'), { ready: 'Unknown', reconciling: true });
    await eventually('no longer Failed on the new input', async () => (await entry('gives-up'))?.state !== 'Failed');
    // Flux tries the new spec and gives up: failure 1 of a fresh budget of 2, so a retry is scheduled again.
    await stall('gives-up');
    await eventually('Failed with failure 1 and a next retry', async () =>
      /failed 1 time\(s\); next automatic retry at/.test((await entry('gives-up'))?.failureMessage ?? ''),
    );
  });
});
