import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HealDecision } from '../../src/workflow/decide';
import type { LiveState } from '../../src/workflow/defs';
import { passOutcome, serviceLiveStates, stateCounts, workflowDetails } from '../../src/workflow/liveState';
import { emptyStatus, entry, fluxObs, observation, svcObs } from './fixtures';

describe('serviceLiveStates', () => {
  const obs = observation({
    services: [
      svcObs('a', { flux: fluxObs({ name: 'hr-a' }) }),
      svcObs('b'),
      svcObs('c', { desired: undefined }),
      svcObs('d', { flux: fluxObs({ name: 'hr-d' }) }),
    ],
  });
  const heal = {
    outlook: {
      'apps/d': { failures: 2, nextRetryAt: '2026-03-01T10:05:00.000Z' },
      'apps/a': { failures: 1, nextRetryAt: '2026-03-01T10:01:00.000Z' },
    },
  } as unknown as HealDecision;
  const status = emptyStatus({
    services: [
      entry('a', { version: '1.0.0' }),
      entry('b', { state: 'Provisioning' }),
      entry('c', { state: 'Failed', failureMessage: 'bad values' }),
      entry('d', { state: 'Failed', failureMessage: 'Stalled' }),
      entry('e', { state: 'Deleted' }),
    ],
  });
  const cases: [string, number, object][] = [
    [
      'live object: its name; a retry outlook only for failures',
      0,
      { key: 'apps/a', state: 'Deployed', version: '1.0.0', flux: 'HelmRelease/hr-a' },
    ],
    [
      'no object yet: the planned one',
      1,
      { key: 'apps/b', state: 'Provisioning', flux: 'HelmRelease/dev-cluster-apps-b' },
    ],
    ['nothing planned: no object', 2, { key: 'apps/c', state: 'Failed', message: 'bad values' }],
    [
      'a failure with a retry outlook',
      3,
      {
        key: 'apps/d',
        state: 'Failed',
        message: 'Stalled',
        flux: 'HelmRelease/hr-d',
        nextRetryAt: '2026-03-01T10:05:00.000Z',
        failures: 2,
      },
    ],
    ['a status entry without a service', 4, { key: 'apps/e', state: 'Deleted' }],
  ];
  const got = serviceLiveStates(status, obs, heal);
  for (const [name, i, want] of cases) test(name, () => assert.deepEqual(got[i], want));
  test('without a heal decision there is no outlook', () =>
    assert.equal(serviceLiveStates(status, obs)[3]!.failures, undefined));
});

describe('passOutcome', () => {
  const live = (lastError?: string) =>
    ({ services: [], ...(lastError !== undefined ? { lastError } : {}) }) as unknown as LiveState;
  const counters = { passes: 7 } as LiveState['counters'];
  test('a clean pass', () =>
    assert.deepEqual(passOutcome('T', counters, live()), { requestedAt: 'T', pass: 7, services: [] }));
  test('a failed pass says why', () =>
    assert.deepEqual(passOutcome('T', counters, live('observe: boom')), {
      requestedAt: 'T',
      pass: 7,
      services: [],
      lastError: 'observe: boom',
    }));
});

describe('stateCounts', () => {
  test('services per state', () =>
    assert.deepEqual(
      stateCounts([
        { key: 'a', state: 'Deployed' },
        { key: 'b', state: 'Failed' },
        { key: 'c', state: 'Deployed' },
      ]),
      { Deployed: 2, Failed: 1 },
    ));
  test('none', () => assert.deepEqual(stateCounts([]), {}));
});

describe('workflowDetails', () => {
  const ref = { uid: 'u', namespace: 'kcm-system', name: 'east' };
  const live = (o: Partial<LiveState>): LiveState => ({
    ref,
    phase: 'Waiting',
    owned: true,
    services: [],
    deployed: false,
    counters: {} as LiveState['counters'],
    ...o,
  });
  const cases: [string, LiveState, string][] = [
    [
      'starting, nothing known yet',
      live({ phase: 'Starting' }),
      '**ServiceSet** kcm-system/east\n**Phase** Starting\n**Services** none',
    ],
    [
      'deployed',
      live({ deployed: true, services: [{ key: 'apps/a', state: 'Deployed' }] }),
      '**ServiceSet** kcm-system/east\n**Phase** Waiting (deployed)\n**Services** 1 Deployed',
    ],
    [
      'a failure says why, and the last error shows',
      live({
        services: [
          { key: 'apps/a', state: 'Deployed' },
          { key: 'apps/b', state: 'Failed', message: 'bad values' },
        ],
        lastError: 'observe: timed out',
      }),
      '**ServiceSet** kcm-system/east\n**Phase** Waiting\n**Services** 1 Deployed, 1 Failed\n- apps/b: bad values\n**Last error** observe: timed out',
    ],
  ];
  for (const [name, l, want] of cases) test(name, () => assert.equal(workflowDetails(l), want));
});
