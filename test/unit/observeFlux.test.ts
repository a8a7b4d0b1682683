// observeFlux: how long an object has gone unclaimed is measured only while no controller has touched it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { observeFlux } from '../../src/activities/observe';
import type { KubeObject } from '../../src/kube/client';

const created = '2026-11-29T22:00:00Z';
const at = (s: number) => Date.parse(created) + s * 1000;
const ks = (o: { finalizers?: string[]; status?: Record<string, unknown> } = {}): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: {
    name: 'ks',
    namespace: 'ns',
    uid: 'u',
    generation: 1,
    creationTimestamp: created,
    ...(o.finalizers ? { finalizers: o.finalizers } : {}),
  },
  spec: { interval: '1m', prune: true, sourceRef: { kind: 'GitRepository', name: 'g' } },
  status: o.status ?? { observedGeneration: -1 },
});

describe('observeFlux: unclaimedForMs', () => {
  test('untouched (CRD default status only): the time since creation', () => {
    assert.equal(observeFlux(ks(), 'Kustomization', at(75)).unclaimedForMs, 75_000);
  });
  test('a Flux finalizer, a condition or an observed generation: absent', () => {
    assert.equal(
      observeFlux(ks({ finalizers: ['finalizers.fluxcd.io'] }), 'Kustomization', at(75)).unclaimedForMs,
      undefined,
    );
    const cond = { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: '', lastTransitionTime: created };
    assert.equal(
      observeFlux(ks({ status: { observedGeneration: -1, conditions: [cond] } }), 'Kustomization', at(75))
        .unclaimedForMs,
      undefined,
    );
    assert.equal(
      observeFlux(ks({ status: { observedGeneration: 1 } }), 'Kustomization', at(75)).unclaimedForMs,
      undefined,
    );
  });
});
