import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backOff,
  isSettled,
  quiescentDelay,
  scheduleAfterOwnedPass,
  type OwnedPassFacts,
} from '../../src/workflow/pollSchedule';

const t = { quiescentPollMs: 3_600_000, activePollMinMs: 15_000, activePollMaxMs: 60_000, flapToleranceMs: 90_000 };

describe('backOff', () => {
  for (const [active, delay, next] of [
    [15_000, 15_000, 30_000],
    [30_000, 30_000, 60_000],
    [40_000, 40_000, 60_000],
    [60_000, 60_000, 60_000],
  ] as const)
    test(`at ${active}: wait ${delay}, then ${next}`, () => {
      assert.deepEqual(backOff(active, t), { delay, activeDelay: next });
    });
});

describe('quiescentDelay', () => {
  for (const [random, want] of [
    [undefined, 3_600_000],
    [0, 3_600_000],
    [0.5, 3_960_000],
    [0.99999, 4_319_993],
  ] as const)
    test(`draw ${random}: ${want}`, () => assert.equal(quiescentDelay(t, random), want));
});

describe('isSettled', () => {
  for (const [providerOk, states, want] of [
    [true, [], true],
    [true, ['Deployed', 'Deleted'], true],
    [true, ['Deployed', 'Provisioning'], false],
    [true, ['Failed'], false],
    [false, ['Provisioning'], true],
  ] as const)
    test(`provider ok ${providerOk}, ${states.join(',') || 'no services'}: ${want}`, () =>
      assert.equal(isSettled(providerOk, [...states]), want));
});

describe('scheduleAfterOwnedPass', () => {
  const facts = (o: Partial<OwnedPassFacts> = {}): OwnedPassFacts => ({
    changed: false,
    settled: false,
    quiescentMs: t.quiescentPollMs,
    flapPending: false,
    ...o,
  });
  const cases: [string, number, OwnedPassFacts, { nextDelay: number; activeDelay: number }][] = [
    ['in progress: the active poll, doubled next time', 30_000, facts(), { nextDelay: 30_000, activeDelay: 60_000 }],
    ['in progress at the cap: stays there', 60_000, facts(), { nextDelay: 60_000, activeDelay: 60_000 }],
    [
      'in progress after a change: starts over',
      60_000,
      facts({ changed: true }),
      { nextDelay: 15_000, activeDelay: 30_000 },
    ],
    [
      'settled: the safety-net poll, active poll reset',
      60_000,
      facts({ settled: true, quiescentMs: 3_700_000 }),
      { nextDelay: 3_700_000, activeDelay: 15_000 },
    ],
    [
      'settled through a flap: looks again when the tolerance runs out',
      15_000,
      facts({ settled: true, flapPending: true }),
      { nextDelay: 90_000, activeDelay: 15_000 },
    ],
    [
      'a flap does not delay an earlier active poll',
      15_000,
      facts({ flapPending: true }),
      { nextDelay: 15_000, activeDelay: 30_000 },
    ],
    [
      'settled with a retry due: wakes for it',
      15_000,
      facts({ settled: true, healWakeInMs: 120_000 }),
      { nextDelay: 120_000, activeDelay: 15_000 },
    ],
    [
      'a retry overdue: at once',
      15_000,
      facts({ settled: true, healWakeInMs: -5 }),
      { nextDelay: 0, activeDelay: 15_000 },
    ],
    [
      'a retry due later than the active poll: the active poll',
      15_000,
      facts({ healWakeInMs: 120_000 }),
      { nextDelay: 15_000, activeDelay: 30_000 },
    ],
  ];
  for (const [name, active, f, want] of cases)
    test(name, () => assert.deepEqual(scheduleAfterOwnedPass(active, f, t), want));
});
