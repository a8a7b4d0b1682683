import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UNCLAIMED_AFTER_MS, condition, fluxVerdict, neverReconciled } from '../../src/workflow/fluxState';
import type { FluxObservation } from '../../src/workflow/types';
import { cond, fluxObs } from './fixtures';

const hr = (o: Partial<FluxObservation>) => fluxObs({ kind: 'HelmRelease', ...o });
const ks = (o: Partial<FluxObservation>) => fluxObs({ kind: 'Kustomization', ...o });

interface Row {
  name: string;
  obs: FluxObservation;
  state: string;
  confirmed?: boolean;
  message?: RegExp;
}

/** An object no controller has touched: what the API server holds right after our apply. */
const untouched = { fluxFinalizer: false, conditions: [], observedGeneration: -1 };

const rows: Row[] = [
  {
    name: 'HelmRelease ValuesError, its valuesFrom ConfigMap not found yet → Provisioning (waiting), not Failed',
    obs: hr({
      lastAttemptedGeneration: 1,
      conditions: [
        cond(
          'Ready',
          'False',
          'ValuesError',
          "could not resolve ConfigMap chart values reference 'ns/common' with key 'values.yaml': configmaps \"common\" not found",
          1,
        ),
      ],
    }),
    state: 'Provisioning',
    message: /^waiting for a valuesFrom object: ValuesError/,
  },
  {
    name: 'HelmRelease ValuesError for another reason (bad YAML in the object) → Failed',
    obs: hr({
      lastAttemptedGeneration: 1,
      conditions: [cond('Ready', 'False', 'ValuesError', 'unable to read values: yaml: line 2: mapping values', 1)],
    }),
    state: 'Failed',
  },
  {
    name: 'Kustomization nobody picked up for 60 s → Pending naming the missing kustomize-controller',
    obs: ks({ ...untouched, unclaimedForMs: 60_000 }),
    state: 'Pending',
    message: /^NoController: no kustomize-controller has picked up Kustomization .* within 60s.*kustomizeController/,
  },
  {
    name: 'HelmRelease nobody picked up for 60 s → Pending naming helm-controller and the watch label',
    obs: hr({ ...untouched, unclaimedForMs: 120_000 }),
    state: 'Pending',
    message: /^NoController: no helm-controller .*k0rdent\.mirantis\.com\/managed=true/,
  },
  {
    name: 'not picked up yet, but for less than 60 s → Provisioning (a controller may be on its way)',
    obs: ks({ ...untouched, unclaimedForMs: 59_999 }),
    state: 'Provisioning',
  },
  {
    name: 'no age known (older observations) → Provisioning, as before',
    obs: ks({ ...untouched }),
    state: 'Provisioning',
  },
  {
    name: 'a controller added its finalizer (first reconcile under way) → not unclaimed, Provisioning',
    obs: ks({ ...untouched, fluxFinalizer: true, unclaimedForMs: 600_000 }),
    state: 'Provisioning',
  },
  {
    name: 'deleting wins over unclaimed',
    obs: ks({ ...untouched, deleting: true, unclaimedForMs: 600_000 }),
    state: 'Deleting',
  },
  {
    name: 'deleting → Deleting (whatever the conditions say)',
    obs: hr({ deleting: true, conditions: [cond('Ready', 'True', 'InstallSucceeded', '', 1)] }),
    state: 'Deleting',
  },
  {
    name: 'deleting wins over Stalled',
    obs: hr({ deleting: true, conditions: [cond('Stalled', 'True', 'RetriesExceeded', 'x', 1)] }),
    state: 'Deleting',
  },
  {
    name: 'Stalled=True → Failed with the Ready message',
    obs: hr({
      conditions: [
        cond('Ready', 'False', 'InstallFailed', 'install retries exhausted: context deadline exceeded', 1),
        cond('Stalled', 'True', 'RetriesExceeded', 'Failed to install after 1 attempt(s)', 1),
      ],
    }),
    state: 'Failed',
    message: /context deadline exceeded/,
  },
  {
    name: 'Stalled=True without Ready=False → Failed with the Stalled message',
    obs: ks({ conditions: [cond('Stalled', 'True', 'AccessDenied', 'cross-namespace references are not allowed', 1)] }),
    state: 'Failed',
    message: /cross-namespace references are not allowed/,
  },
  {
    name: 'Stalled=True wins over an old Ready=True',
    obs: hr({
      conditions: [
        cond('Ready', 'True', 'InstallSucceeded', '', 1),
        cond('Stalled', 'True', 'RetriesExceeded', 'no more retries', 1),
      ],
    }),
    state: 'Failed',
    message: /no more retries/,
  },
  {
    name: 'Stalled=False is ignored',
    obs: hr({ conditions: [cond('Ready', 'True', 'InstallSucceeded', '', 1), cond('Stalled', 'False', '', '', 1)] }),
    state: 'Deployed',
    confirmed: true,
  },
  {
    name: 'Ready=True at the current generation with observedGeneration == generation → Deployed (confirmed)',
    obs: hr({ generation: 3, observedGeneration: 3, conditions: [cond('Ready', 'True', 'UpgradeSucceeded', '', 3)] }),
    state: 'Deployed',
    confirmed: true,
  },
  {
    name: 'Kustomization Ready=True current → Deployed',
    obs: ks({
      generation: 2,
      observedGeneration: 2,
      conditions: [cond('Ready', 'True', 'ReconciliationSucceeded', 'Applied revision: main@sha1:abc', 2)],
    }),
    state: 'Deployed',
    confirmed: true,
  },
  {
    name: 'Ready=True without a per-condition observedGeneration uses the object observedGeneration',
    obs: hr({ generation: 2, observedGeneration: 2, conditions: [cond('Ready', 'True', 'UpgradeSucceeded', '')] }),
    state: 'Deployed',
    confirmed: true,
  },
  {
    name: 'Ready=True but observedGeneration older → Provisioning',
    obs: hr({ generation: 3, observedGeneration: 2, conditions: [cond('Ready', 'True', 'UpgradeSucceeded', '', 2)] }),
    state: 'Provisioning',
    confirmed: false,
  },
  {
    name: 'Ready=True stamped for the current generation but object observedGeneration older → Provisioning',
    obs: hr({ generation: 3, observedGeneration: 2, conditions: [cond('Ready', 'True', 'UpgradeSucceeded', '', 3)] }),
    state: 'Provisioning',
    confirmed: false,
  },
  {
    name: 'Ready=True for an older generation while observedGeneration is current → Provisioning',
    obs: hr({ generation: 3, observedGeneration: 3, conditions: [cond('Ready', 'True', 'UpgradeSucceeded', '', 2)] }),
    state: 'Provisioning',
    confirmed: false,
  },
  {
    name: 'Ready=True, observedGeneration -1 (never reconciled) → Provisioning',
    obs: hr({ generation: 1, observedGeneration: -1, conditions: [cond('Ready', 'True', 'InstallSucceeded', '')] }),
    state: 'Provisioning',
  },
  ...['DependencyNotReady', 'SourceNotReady', 'ArtifactFailed', 'HealthCheckCanceled'].map((reason): Row => ({
    name: `Ready=False ${reason} at the current generation → Provisioning (waiting)`,
    obs: hr({ conditions: [cond('Ready', 'False', reason, 'HelmChart kcm-system/x is not ready', 1)] }),
    state: 'Provisioning',
    message: new RegExp(reason),
  })),
  {
    name: 'Kustomization Ready=False ArtifactFailed → Provisioning',
    obs: ks({ conditions: [cond('Ready', 'False', 'ArtifactFailed', 'Source GitRepository/x not found', 1)] }),
    state: 'Provisioning',
  },
  {
    name: 'HelmRelease Ready=False InstallFailed at the current generation (lastAttemptedGeneration == generation) → Failed',
    obs: hr({
      generation: 2,
      observedGeneration: 2,
      lastAttemptedGeneration: 2,
      conditions: [
        cond('Ready', 'False', 'InstallFailed', 'Helm install failed: timed out waiting for the condition', 2),
      ],
    }),
    state: 'Failed',
    message: /InstallFailed: Helm install failed: timed out/,
  },
  {
    name: 'HelmRelease Ready=False UpgradeFailed but lastAttemptedGeneration older → Provisioning',
    obs: hr({
      generation: 3,
      observedGeneration: 2,
      lastAttemptedGeneration: 2,
      conditions: [cond('Ready', 'False', 'UpgradeFailed', 'old failure', 3)],
    }),
    state: 'Provisioning',
  },
  {
    name: 'Ready=False failure for an older generation → Provisioning',
    obs: hr({
      generation: 3,
      observedGeneration: 2,
      lastAttemptedGeneration: 3,
      conditions: [cond('Ready', 'False', 'InstallFailed', 'x', 2)],
    }),
    state: 'Provisioning',
  },
  {
    name: 'Kustomization Ready=False ReconciliationFailed at the current generation → Failed',
    obs: ks({
      generation: 4,
      observedGeneration: 3,
      conditions: [cond('Ready', 'False', 'ReconciliationFailed', 'apply failed: namespace "x" not found', 4)],
    }),
    state: 'Failed',
    message: /namespace "x" not found/,
  },
  {
    name: 'Ready=Unknown Progressing → Provisioning',
    obs: hr({
      conditions: [
        cond('Ready', 'Unknown', 'Progressing', "Running 'install' action with timeout of 5m0s", 1),
        cond('Reconciling', 'True', 'Progressing', '', 1),
      ],
    }),
    state: 'Provisioning',
    confirmed: false,
    message: /Progressing/,
  },
  {
    name: 'no conditions → Provisioning',
    obs: hr({ observedGeneration: -1, conditions: [] }),
    state: 'Provisioning',
    confirmed: false,
  },
  {
    name: 'only Reconciling=True → Provisioning',
    obs: ks({ conditions: [cond('Reconciling', 'True', 'Progressing', 'fetching', 1)] }),
    state: 'Provisioning',
  },
];

describe('fluxVerdict', () => {
  for (const r of rows) {
    test(r.name, () => {
      const v = fluxVerdict(r.obs);
      assert.equal(v.state, r.state);
      if (r.confirmed !== undefined) assert.equal(v.confirmed, r.confirmed);
      if (r.state !== 'Deployed') assert.equal(v.confirmed, false, 'only Deployed is confirmed');
      if (r.message) assert.match(v.message, r.message);
    });
  }

  test('a confirmed Deployed verdict has an empty message', () => {
    assert.deepEqual(fluxVerdict(hr({})), { state: 'Deployed', message: '', confirmed: true });
  });
});

describe('condition', () => {
  test('finds by type', () => {
    const o = hr({ conditions: [cond('Reconciling', 'True', 'Progressing'), cond('Ready', 'False', 'X')] });
    assert.equal(condition(o, 'Ready')?.reason, 'X');
    assert.equal(condition(o, 'Stalled'), undefined);
  });
});

describe('neverReconciled', () => {
  test('true only without finalizer, conditions and observed generation', () => {
    assert.equal(neverReconciled(untouched), true);
    assert.equal(neverReconciled({ ...untouched, fluxFinalizer: true }), false);
    assert.equal(neverReconciled({ ...untouched, observedGeneration: 1 }), false);
    assert.equal(neverReconciled({ ...untouched, conditions: [cond('Ready', 'Unknown', 'Progressing')] }), false);
    assert.equal(UNCLAIMED_AFTER_MS, 60_000);
  });
});
