import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideKubeconfigRotation, healAfterRotation } from '../../src/workflow/kubeconfigRotation';
import type { Observation } from '../../src/workflow/types';
import { conflict, fluxObs, observation, svcObs } from './fixtures';

const withVersion = (v: string | undefined, o: Partial<Observation> = {}) => {
  const base = observation({
    services: [
      svcObs('a', { flux: fluxObs({ name: 'hr-a' }) }),
      svcObs('b', { flux: fluxObs({ name: 'hr-b', suspended: true }) }),
      svcObs('c', { flux: fluxObs({ name: 'hr-c', deleting: true }) }),
      svcObs('d'),
      svcObs('e', { uninstall: true, flux: fluxObs({ name: 'hr-e' }) }),
    ],
    ...o,
  });
  return { ...base, target: { ...base.target, ...(v ? { kubeconfigVersion: v } : {}) } };
};
const hrA = { kind: 'HelmRelease', namespace: 'kcm-system', name: 'hr-a' };

describe('decideKubeconfigRotation', () => {
  test('the first version seen is remembered, nothing requested', () => {
    assert.deepEqual(decideKubeconfigRotation(withVersion('u/1'), undefined), { seen: 'u/1', reconcile: [], keys: [] });
  });
  test('unchanged: nothing', () => {
    assert.deepEqual(decideKubeconfigRotation(withVersion('u/1'), 'u/1').reconcile, []);
  });
  test('rotated: each live, active object of ours is asked to reconcile (not suspended, deleting, uninstalled, absent)', () => {
    assert.deepEqual(decideKubeconfigRotation(withVersion('u/2'), 'u/1'), {
      seen: 'u/2',
      reconcile: [hrA],
      keys: ['apps/a'],
    });
  });
  test('replaced (new uid) is a rotation too', () => {
    assert.deepEqual(decideKubeconfigRotation(withVersion('v/1'), 'u/9').reconcile, [hrA]);
  });
  test('a release another ServiceSet owns is not driven', () => {
    const obs = withVersion('u/2', {
      services: [svcObs('a', { flux: fluxObs({ name: 'hr-a' }), conflict: conflict({ winner: false }) })],
    });
    assert.deepEqual(decideKubeconfigRotation(obs, 'u/1').reconcile, []);
  });
  test('Secret not read this pass (or gone): the last version is kept', () => {
    assert.deepEqual(decideKubeconfigRotation(withVersion(undefined), 'u/1'), { seen: 'u/1', reconcile: [], keys: [] });
  });
  test('not allowed to act (provider not ready): kept for later, so the rotation is acted on then', () => {
    const obs = withVersion('u/2', { provider: { name: 'p', found: true, ready: false, suspended: false } });
    assert.deepEqual(decideKubeconfigRotation(obs, 'u/1'), { seen: 'u/1', reconcile: [], keys: [] });
    assert.deepEqual(decideKubeconfigRotation(withVersion('u/2'), 'u/1').reconcile, [hrA]);
  });
  test('paused: remembered, nothing requested (lifting the pause re-applies)', () => {
    assert.deepEqual(decideKubeconfigRotation(withVersion('u/2', { paused: true }), 'u/1'), {
      seen: 'u/2',
      reconcile: [],
      keys: [],
    });
  });
  test('self-management has no kubeconfig Secret', () => {
    const obs = withVersion('u/2');
    obs.target.selfManagement = true;
    assert.deepEqual(decideKubeconfigRotation(obs, 'u/1').reconcile, []);
  });
});

describe('healAfterRotation', () => {
  test('a pending healing request is replaced by the rotation request; others untouched', () => {
    const mem = {
      'apps/a': { hash: 'h', failures: 1, requestedAt: 't1' },
      'apps/b': { hash: 'h', failures: 1, nextAtMs: 5 },
      'apps/c': { hash: 'h', failures: 2, requestedAt: 't0' },
    };
    assert.deepEqual(healAfterRotation(mem, ['apps/a', 'apps/b'], 't2'), {
      'apps/a': { hash: 'h', failures: 1, requestedAt: 't2' },
      'apps/b': { hash: 'h', failures: 1, nextAtMs: 5 },
      'apps/c': { hash: 'h', failures: 2, requestedAt: 't0' },
    });
  });
});
