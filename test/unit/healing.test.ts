import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideHealing, healBackoffMs, type HealMemory, type HealPolicy } from '../../src/workflow/decide';
import { computeStatus } from '../../src/workflow/status';
import type { FluxObservation, Observation } from '../../src/workflow/types';
import { cond, conflict, fluxObs, observation, svcObs, T0_MS, at } from './fixtures';

const POLICY: HealPolicy = { minBackoffMs: 30_000, maxBackoffMs: 600_000 };
const stalledHr = (o: Partial<FluxObservation> = {}) =>
  fluxObs({
    conditions: [
      cond('Ready', 'False', 'InstallFailed', 'Helm install failed: configmap "x" is invalid', 1),
      cond('Stalled', 'True', 'RetriesExceeded', 'Failed to install after 4 attempt(s)', 1),
    ],
    lastAttemptedGeneration: 1,
    ...o,
  });
const obsWith = (flux: FluxObservation, o: Partial<Observation> = {}) =>
  observation({ services: [svcObs('nginx', { flux })], ...o });
const heal = (obs: Observation, mem: HealMemory, ms: number, policy = POLICY, manualRetry = false) =>
  decideHealing(obs, mem, { ms, iso: at(ms) }, policy, { manualRetry });

describe('healBackoffMs: first retry within a minute, doubling, capped', () => {
  test('30s, 60s, 2m, 4m, 8m, then 10m', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 9].map((n) => healBackoffMs(n, POLICY) / 1000),
      [30, 60, 120, 240, 480, 600, 600],
    );
  });
});

describe('decideHealing: a Stalled Flux object is re-driven while its input is unchanged', () => {
  test('first Stalled observation → failure 1, retry scheduled in 30s, nothing yet', () => {
    const d = heal(obsWith(stalledHr()), {}, T0_MS);
    assert.deepEqual(d.retry, []);
    assert.deepEqual(d.outlook['apps/nginx'], { failures: 1, nextRetryAt: at(T0_MS + 30_000) });
    assert.equal(d.wakeInMs, 30_000);
  });

  test('due → re-driven (requestedAt recorded), then waits for Flux to handle it', () => {
    const d1 = heal(obsWith(stalledHr()), {}, T0_MS);
    const d2 = heal(obsWith(stalledHr()), d1.memory, T0_MS + 30_000);
    assert.deepEqual(
      d2.retry.map((r) => r.name),
      ['dev-cluster-apps-nginx'],
    );
    assert.equal(d2.memory['apps/nginx']!.requestedAt, at(T0_MS + 30_000));
    // Still the old Stalled condition (request not handled yet): no second request, no new failure.
    const d3 = heal(obsWith(stalledHr()), d2.memory, T0_MS + 31_000);
    assert.deepEqual(d3.retry, []);
    assert.equal(d3.memory['apps/nginx']!.failures, 1);
  });

  test('the retry failed again (handled, Stalled) → failure 2, next retry after 60s', () => {
    const d1 = heal(obsWith(stalledHr()), {}, T0_MS);
    const d2 = heal(obsWith(stalledHr()), d1.memory, T0_MS + 30_000);
    const handled = stalledHr({ lastHandledReconcileAt: at(T0_MS + 30_000) });
    const d3 = heal(obsWith(handled), d2.memory, T0_MS + 40_000);
    assert.deepEqual(d3.outlook['apps/nginx'], { failures: 2, nextRetryAt: at(T0_MS + 100_000) });
    assert.deepEqual(d3.retry, []);
    const d4 = heal(obsWith(handled), d3.memory, T0_MS + 100_000);
    assert.equal(d4.retry.length, 1);
  });

  test('in progress after a retry (Reconciling, not Stalled) → keep the budget, do nothing', () => {
    const d1 = heal(obsWith(stalledHr()), {}, T0_MS);
    const d2 = heal(obsWith(stalledHr()), d1.memory, T0_MS + 30_000);
    const busy = fluxObs({ conditions: [cond('Ready', 'Unknown', 'Progressing', 'Running install', 1)] });
    const d3 = heal(obsWith(busy), d2.memory, T0_MS + 35_000);
    assert.deepEqual(d3.retry, []);
    assert.equal(d3.memory['apps/nginx']!.failures, 1);
  });

  test('healed (Deployed) → forgotten', () => {
    const d1 = heal(obsWith(stalledHr()), {}, T0_MS);
    const d2 = heal(obsWith(fluxObs()), d1.memory, T0_MS + 1000);
    assert.deepEqual(d2.memory, {});
    assert.deepEqual(d2.outlook, {});
  });

  test('a new input (spec change) starts a fresh budget', () => {
    const mem: HealMemory = { 'apps/nginx': { hash: 'old', failures: 5, counted: 'x', exhausted: true } };
    const d = heal(obsWith(stalledHr()), mem, T0_MS, { ...POLICY, maxConsecutiveFailures: 5 });
    assert.deepEqual(d.outlook['apps/nginx'], { failures: 1, nextRetryAt: at(T0_MS + 30_000) });
  });

  test('maxConsecutiveFailures reached → stop (exhausted), no wake-up', () => {
    const policy = { ...POLICY, maxConsecutiveFailures: 2 };
    const d1 = heal(obsWith(stalledHr()), {}, T0_MS, policy);
    const d2 = heal(obsWith(stalledHr()), d1.memory, T0_MS + 30_000, policy);
    const handled = stalledHr({ lastHandledReconcileAt: at(T0_MS + 30_000) });
    const d3 = heal(obsWith(handled), d2.memory, T0_MS + 40_000, policy);
    assert.deepEqual(d3.outlook['apps/nginx'], { failures: 2, exhausted: { max: 2 } });
    assert.equal(d3.wakeInMs, undefined);
    const d4 = heal(obsWith(handled), d3.memory, T0_MS + 10 * 60_000, policy);
    assert.deepEqual(d4.retry, [], 'no automatic retry any more');
  });

  test('maxConsecutiveFailures 1 → no automatic retry at all', () => {
    const d = heal(obsWith(stalledHr()), {}, T0_MS, { ...POLICY, maxConsecutiveFailures: 1 });
    assert.deepEqual(d.outlook['apps/nginx'], { failures: 1, exhausted: { max: 1 } });
  });

  test('a manual retry starts a fresh budget with its own request (even when exhausted)', () => {
    const mem: HealMemory = { 'apps/nginx': { hash: 'h1', failures: 3, counted: 'x', exhausted: true } };
    const policy = { ...POLICY, maxConsecutiveFailures: 3 };
    const d = heal(obsWith(stalledHr()), mem, T0_MS, policy, true);
    assert.deepEqual(d.memory['apps/nginx'], { hash: 'h1', failures: 0, requestedAt: at(T0_MS) });
    assert.deepEqual(d.retry, [], 'the manual retry itself re-drives it');
    const handled = stalledHr({ lastHandledReconcileAt: at(T0_MS) });
    const d2 = heal(obsWith(handled), d.memory, T0_MS + 5000, policy);
    assert.deepEqual(d2.outlook['apps/nginx'], { failures: 1, nextRetryAt: at(T0_MS + 35_000) });
  });

  const untouched: [string, Observation][] = [
    [
      'Ready=False but not Stalled (Flux still retrying by itself)',
      obsWith(fluxObs({ conditions: [cond('Ready', 'False', 'InstallFailed', 'x', 1)], lastAttemptedGeneration: 1 })),
    ],
    ['suspended (paused)', obsWith(stalledHr({ suspended: true }))],
    ['paused ServiceSet', obsWith(stalledHr(), { paused: true })],
    ['deleting object', obsWith(stalledHr({ deleting: true }))],
    ['spec not yet applied (old hash)', obsWith(stalledHr({ appliedHash: 'old' }))],
    [
      'conflict lost',
      observation({ services: [svcObs('nginx', { flux: stalledHr(), conflict: conflict({ winner: false }) })] }),
    ],
    ['SMP not ready', obsWith(stalledHr(), { provider: { name: 'p', found: true, ready: false, suspended: false } })],
  ];
  for (const [name, obs] of untouched) {
    test(`not re-driven: ${name}`, () => {
      const d = heal(obs, {}, T0_MS + 3_600_000);
      assert.deepEqual(d.retry, []);
      assert.deepEqual(d.outlook, {});
    });
  }
});

describe('computeStatus: Failed says when the next automatic retry is', () => {
  const run = (outlook: Parameters<typeof computeStatus>[0]['healing']) =>
    computeStatus({
      obs: obsWith(stalledHr()),
      memory: {},
      now: at(T0_MS),
      nowMs: T0_MS,
      applyErrors: {},
      flapToleranceMs: 1000,
      ...(outlook ? { healing: outlook } : {}),
    }).status.services[0]!;

  test('scheduled → the message ends with the retry time', () => {
    const e = run({ 'apps/nginx': { failures: 2, nextRetryAt: at(T0_MS + 60_000) } });
    assert.equal(e.state, 'Failed');
    assert.match(e.failureMessage!, /^InstallFailed: Helm install failed/);
    assert.match(e.failureMessage!, new RegExp(`next automatic retry at ${at(T0_MS + 60_000)}\\]$`));
  });

  test('exhausted → says retries stopped and what to do', () => {
    const e = run({ 'apps/nginx': { failures: 3, exhausted: { max: 3 } } });
    assert.match(
      e.failureMessage!,
      /automatic retries stopped \(maxConsecutiveFailures 3\): change the spec or run ksm-flux retry/,
    );
  });

  test('no outlook → Flux message only', () => {
    assert.doesNotMatch(run(undefined).failureMessage!, /retry/);
  });
});
