import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { edgeEvents, fnv1a, transitionEvents } from '../../src/workflow/events';
import type { EventSpec, StatusView } from '../../src/workflow/types';
import { T0, at, T0_MS, emptyStatus, entry, observation, statusCond } from './fixtures';

const UID = 'ss-uid';

function only(xs: EventSpec[]): EventSpec {
  assert.equal(xs.length, 1, JSON.stringify(xs));
  return xs[0]!;
}

describe('fnv1a', () => {
  test('known vectors and format', () => {
    assert.equal(fnv1a(''), '811c9dc5');
    assert.equal(fnv1a('a'), 'e40c292c');
    assert.equal(fnv1a('foobar'), 'bf9cf968');
    assert.match(fnv1a('anything'), /^[0-9a-f]{8}$/);
  });
});

describe('transitionEvents', () => {
  const status: StatusView = emptyStatus({
    services: [entry('a', { state: 'Deployed', version: '4.11.0' }), entry('b', { state: 'Failed' })],
  });

  test('Failed → Warning ServiceFailed with the message', () => {
    const e = only(
      transitionEvents(
        UID,
        [{ key: 'apps/b', from: 'Provisioning', to: 'Failed', message: 'InstallFailed: boom' }],
        T0,
        status,
      ),
    );
    assert.equal(e.type, 'Warning');
    assert.equal(e.reason, 'ServiceFailed');
    assert.equal(e.action, 'Reconcile');
    assert.match(e.note, /apps\/b/);
    assert.match(e.note, /Provisioning → Failed/);
    assert.match(e.note, /InstallFailed: boom/);
  });

  test('Deployed → Normal ServiceDeployed with the version', () => {
    const e = only(transitionEvents(UID, [{ key: 'apps/a', from: 'Provisioning', to: 'Deployed' }], T0, status));
    assert.equal(e.type, 'Normal');
    assert.equal(e.reason, 'ServiceDeployed');
    assert.match(e.note, /version 4\.11\.0/);
  });

  test('Deployed without a version says no version', () => {
    const s = emptyStatus({ services: [entry('a', { state: 'Deployed' })] });
    assert.doesNotMatch(only(transitionEvents(UID, [{ key: 'apps/a', to: 'Deployed' }], T0, s)).note, /version/);
  });

  test('every state has a Normal reason except Failed', () => {
    const expect: Record<string, [string, string]> = {
      Provisioning: ['Normal', 'ServiceProvisioning'],
      Pending: ['Normal', 'ServicePending'],
      Deleting: ['Normal', 'ServiceDeleting'],
      Deleted: ['Normal', 'ServiceDeleted'],
      Deployed: ['Normal', 'ServiceDeployed'],
      Failed: ['Warning', 'ServiceFailed'],
    };
    for (const [to, [type, reason]] of Object.entries(expect)) {
      const e = only(transitionEvents(UID, [{ key: 'apps/a', to: to as 'Deployed' }], T0, status));
      assert.equal(e.type, type, to);
      assert.equal(e.reason, reason, to);
    }
  });

  test('a new service (no from) does not show an arrow', () => {
    assert.doesNotMatch(only(transitionEvents(UID, [{ key: 'apps/a', to: 'Provisioning' }], T0, status)).note, /→/);
  });

  test('dedupKey is deterministic and depends on uid, key, state and time', () => {
    const t = { key: 'apps/a', from: 'Provisioning' as const, to: 'Deployed' as const };
    const k = only(transitionEvents(UID, [t], T0, status)).dedupKey;
    assert.equal(only(transitionEvents(UID, [t], T0, status)).dedupKey, k);
    assert.notEqual(only(transitionEvents('other', [t], T0, status)).dedupKey, k);
    assert.notEqual(only(transitionEvents(UID, [{ ...t, key: 'apps/b' }], T0, status)).dedupKey, k);
    assert.notEqual(only(transitionEvents(UID, [{ ...t, to: 'Failed' }], T0, status)).dedupKey, k);
    assert.notEqual(only(transitionEvents(UID, [t], at(T0_MS + 1000), status)).dedupKey, k);
  });

  test('one event per transition, in order; notes are capped at 1024 characters', () => {
    const evs = transitionEvents(
      UID,
      [
        { key: 'apps/a', to: 'Deployed' },
        { key: 'apps/b', to: 'Failed', message: 'x'.repeat(5000) },
      ],
      T0,
      status,
    );
    assert.equal(evs.length, 2);
    assert.equal(evs[0]?.reason, 'ServiceDeployed');
    assert.equal(evs[1]?.reason, 'ServiceFailed');
    assert.ok((evs[1]?.note.length ?? 0) <= 1024);
  });

  test('no transitions → no events', () => {
    assert.deepEqual(transitionEvents(UID, [], T0, status), []);
  });
});

describe('edgeEvents', () => {
  const obs = observation({ provider: { name: 'ksm-flux-smp', found: true, ready: false, suspended: false } });
  const view = (o: Partial<StatusView>) => emptyStatus(o);

  test('StateManagementProviderNotReady fires on the ready → not-ready edge', () => {
    const e = only(
      edgeEvents(
        UID,
        obs,
        view({ provider: { ready: true, suspended: false } }),
        view({ provider: { ready: false, suspended: false } }),
        T0,
      ),
    );
    assert.equal(e.reason, 'StateManagementProviderNotReady');
    assert.equal(e.type, 'Normal');
    assert.match(e.note, /ksm-flux-smp/);
  });

  test('StateManagementProviderNotReady does not fire while it stays not ready', () => {
    assert.deepEqual(
      edgeEvents(
        UID,
        obs,
        view({ provider: { ready: false, suspended: false } }),
        view({ provider: { ready: false, suspended: false } }),
        T0,
      ),
      [],
    );
  });

  test('nothing fires on the not-ready → ready edge or while ready', () => {
    assert.deepEqual(
      edgeEvents(
        UID,
        obs,
        view({ provider: { ready: false, suspended: false } }),
        view({ provider: { ready: true, suspended: false } }),
        T0,
      ),
      [],
    );
    assert.deepEqual(
      edgeEvents(
        UID,
        obs,
        view({ provider: { ready: true, suspended: false } }),
        view({ provider: { ready: true, suspended: false } }),
        T0,
      ),
      [],
    );
  });

  test('StateManagementProviderSuspended fires on the edge only', () => {
    const e = only(
      edgeEvents(
        UID,
        obs,
        view({ provider: { ready: true, suspended: false } }),
        view({ provider: { ready: true, suspended: true } }),
        T0,
      ),
    );
    assert.equal(e.reason, 'StateManagementProviderSuspended');
    assert.deepEqual(
      edgeEvents(
        UID,
        obs,
        view({ provider: { ready: true, suspended: true } }),
        view({ provider: { ready: true, suspended: true } }),
        T0,
      ),
      [],
    );
  });

  const cfgValid = statusCond('ProviderConfigValid', 'True', {
    reason: 'ProviderConfigValid',
    message: 'provider config is valid',
  });
  const cfgInvalid = (message: string) =>
    statusCond('ProviderConfigValid', 'False', { reason: 'ProviderConfigInvalid', message });

  test('ProviderConfigInvalid (Warning) fires on the False edge', () => {
    const e = only(
      edgeEvents(
        UID,
        obs,
        view({ conditions: [cfgValid] }),
        view({ conditions: [cfgInvalid('provider.config.priority: Too small')] }),
        T0,
      ),
    );
    assert.equal(e.type, 'Warning');
    assert.equal(e.reason, 'ProviderConfigInvalid');
    assert.equal(e.action, 'ValidateConfig');
    assert.equal(e.note, 'provider.config.priority: Too small');
  });

  test('ProviderConfigInvalid fires when the condition first appears False', () => {
    assert.equal(
      only(edgeEvents(UID, obs, view({}), view({ conditions: [cfgInvalid('bad')] }), T0)).reason,
      'ProviderConfigInvalid',
    );
  });

  test('ProviderConfigInvalid does not fire when unchanged', () => {
    assert.deepEqual(
      edgeEvents(UID, obs, view({ conditions: [cfgInvalid('bad')] }), view({ conditions: [cfgInvalid('bad')] }), T0),
      [],
    );
  });

  test('ProviderConfigInvalid fires again when the problem changes', () => {
    assert.equal(
      only(
        edgeEvents(
          UID,
          obs,
          view({ conditions: [cfgInvalid('bad one')] }),
          view({ conditions: [cfgInvalid('bad two')] }),
          T0,
        ),
      ).note,
      'bad two',
    );
  });

  test('nothing fires when the config becomes valid', () => {
    assert.deepEqual(
      edgeEvents(UID, obs, view({ conditions: [cfgInvalid('bad')] }), view({ conditions: [cfgValid] }), T0),
      [],
    );
  });

  test('FluxObjectsApplied False fires a Warning with its reason and the matching action', () => {
    const build = statusCond('FluxObjectsApplied', 'False', {
      reason: 'FluxObjectsBuildFailed',
      message: 'apps/a: bad values',
    });
    const apply = statusCond('FluxObjectsApplied', 'False', {
      reason: 'FluxObjectsApplyFailed',
      message: 'apps/a: refused',
    });
    const e1 = only(edgeEvents(UID, obs, view({}), view({ conditions: [build] }), T0));
    assert.deepEqual([e1.type, e1.reason, e1.action], ['Warning', 'FluxObjectsBuildFailed', 'BuildFluxObjects']);
    const e2 = only(edgeEvents(UID, obs, view({ conditions: [build] }), view({ conditions: [apply] }), T0));
    assert.deepEqual([e2.type, e2.reason, e2.action], ['Warning', 'FluxObjectsApplyFailed', 'ApplyFluxObjects']);
    assert.deepEqual(edgeEvents(UID, obs, view({ conditions: [apply] }), view({ conditions: [apply] }), T0), []);
  });

  test('FluxObjectsApplied False because of an invalid config is covered by ProviderConfigInvalid alone', () => {
    const after = view({
      conditions: [
        cfgInvalid('bad'),
        statusCond('FluxObjectsApplied', 'False', { reason: 'ProviderConfigInvalid', message: 'nothing applied' }),
      ],
    });
    assert.deepEqual(
      edgeEvents(UID, obs, view({ conditions: [cfgValid] }), after, T0).map((e) => e.reason),
      ['ProviderConfigInvalid'],
    );
  });

  test('dedupKey is deterministic and differs per reason', () => {
    const before = view({ provider: { ready: true, suspended: false }, conditions: [cfgValid] });
    const after = view({ provider: { ready: false, suspended: true }, conditions: [cfgInvalid('bad')] });
    const a = edgeEvents(UID, obs, before, after, T0);
    const b = edgeEvents(UID, obs, before, after, T0);
    assert.equal(a.length, 3);
    assert.deepEqual(
      a.map((e) => e.dedupKey),
      b.map((e) => e.dedupKey),
    );
    assert.equal(new Set(a.map((e) => e.dedupKey)).size, 3);
  });
});
