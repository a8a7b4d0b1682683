import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PRIORITY } from '../../src/workflow/constants';
import { deletionTimeoutMs, parseProviderConfig, type ProviderConfig } from '../../src/plan/providerConfig';

function ok(raw: unknown): ProviderConfig {
  const r = parseProviderConfig(raw);
  if (!r.ok) assert.fail(`expected a valid config, got: ${r.error}`);
  return r.config;
}

function bad(raw: unknown): string {
  const r = parseProviderConfig(raw);
  if (r.ok) assert.fail(`expected an invalid config, got ${JSON.stringify(r.config)}`);
  return r.error;
}

const DEFAULTS: ProviderConfig = {
  interval: '10m',
  prune: true,
  wait: false,
  force: false,
  suspend: false,
  priority: DEFAULT_PRIORITY,
};

describe('parseProviderConfig', () => {
  test('null, undefined and {} give the defaults', () => {
    assert.deepEqual(ok(null), DEFAULTS);
    assert.deepEqual(ok(undefined), DEFAULTS);
    assert.deepEqual(ok({}), DEFAULTS);
    assert.equal(ok(undefined).priority, 100);
  });

  test('optional keys stay unset by default', () => {
    const c = ok({});
    for (const k of ['retryInterval', 'timeout', 'targetNamespace', 'driftDetection', 'deletionTimeout'] as const)
      assert.equal(c[k], undefined, k);
  });

  describe('each key accepts a valid value', () => {
    const valid: [keyof ProviderConfig, unknown][] = [
      ['interval', '1h30m'],
      ['interval', '90s'],
      ['retryInterval', '2m'],
      ['timeout', '500ms'],
      ['prune', false],
      ['wait', true],
      ['force', true],
      ['targetNamespace', 'team-a'],
      ['suspend', true],
      ['priority', 1],
      ['priority', 2147483646],
      ['driftDetection', 'enabled'],
      ['driftDetection', 'warn'],
      ['driftDetection', 'disabled'],
      ['deletionTimeout', '15m'],
    ];
    for (const [k, v] of valid) {
      test(`${k}: ${JSON.stringify(v)}`, () => {
        const c = ok({ [k]: v });
        assert.deepEqual(c[k], v);
        // other keys keep their defaults
        if (k !== 'interval') assert.equal(c.interval, '10m');
        if (k !== 'priority') assert.equal(c.priority, 100);
      });
    }
  });

  test('all keys together', () => {
    const raw = {
      interval: '5m',
      retryInterval: '1m',
      timeout: '3m',
      prune: false,
      wait: true,
      force: true,
      targetNamespace: 'apps',
      suspend: true,
      priority: 500,
      driftDetection: 'warn',
      deletionTimeout: '20m',
    };
    assert.deepEqual(ok(raw), raw);
  });

  test('an unknown key is rejected, naming provider.config.<key>', () => {
    const e = bad({ syncMod: 'OneTime' });
    assert.match(e, /provider\.config\.syncMod: unknown key/);
  });

  test('several unknown keys are all named, also inside Sveltos objects', () => {
    const e = bad({ interval: '1m', replicas: 3, reload: true, driftExclusions: [{ paths: [], targt: {} }] });
    assert.match(e, /provider\.config\.replicas: unknown key/);
    assert.match(e, /provider\.config\.reload: unknown key/);
    assert.match(e, /provider\.config\.driftExclusions\.0\.targt: unknown key/);
  });

  test('maxConsecutiveFailures: a positive integer (self-healing stops after that many failures)', () => {
    const ok = parseProviderConfig({ maxConsecutiveFailures: 3 });
    assert.ok(ok.ok && ok.config.maxConsecutiveFailures === 3);
    const unset = parseProviderConfig({});
    assert.ok(unset.ok && unset.config.maxConsecutiveFailures === undefined, 'unset: retry without limit');
    assert.match(bad({ maxConsecutiveFailures: 0 }), /provider\.config\.maxConsecutiveFailures/);
    assert.match(bad({ maxConsecutiveFailures: 'three' }), /provider\.config\.maxConsecutiveFailures/);
  });

  describe('wrong types and values name the key', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['interval: 5 (number)', { interval: 5 }, 'interval'],
      ['interval: "5" (no unit)', { interval: '5' }, 'interval'],
      ['interval: "5d" (unknown unit)', { interval: '5d' }, 'interval'],
      ['interval: "" (empty)', { interval: '' }, 'interval'],
      ['retryInterval: "soon"', { retryInterval: 'soon' }, 'retryInterval'],
      ['timeout: "-1s"', { timeout: '-1s' }, 'timeout'],
      ['priority: 0', { priority: 0 }, 'priority'],
      ['priority: -5', { priority: -5 }, 'priority'],
      ['priority: 2147483647 (MaxInt32)', { priority: 2147483647 }, 'priority'],
      ['priority: 1.5', { priority: 1.5 }, 'priority'],
      ['priority: "x"', { priority: 'x' }, 'priority'],
      ['priority: "100" (string)', { priority: '100' }, 'priority'],
      ['targetNamespace: "Bad_NS"', { targetNamespace: 'Bad_NS' }, 'targetNamespace'],
      ['targetNamespace: "-lead"', { targetNamespace: '-lead' }, 'targetNamespace'],
      ['targetNamespace: 64 chars', { targetNamespace: 'a'.repeat(64) }, 'targetNamespace'],
      ['prune: "yes"', { prune: 'yes' }, 'prune'],
      ['wait: 1', { wait: 1 }, 'wait'],
      ['suspend: "true"', { suspend: 'true' }, 'suspend'],
      ['driftDetection: "on"', { driftDetection: 'on' }, 'driftDetection'],
      ['deletionTimeout: 600', { deletionTimeout: 600 }, 'deletionTimeout'],
      ['syncMode: "Sometimes"', { syncMode: 'Sometimes' }, 'syncMode'],
      ['maxConsecutiveFailures: -1', { maxConsecutiveFailures: -1 }, 'maxConsecutiveFailures'],
      ['maxConsecutiveFailures: "3"', { maxConsecutiveFailures: '3' }, 'maxConsecutiveFailures'],
      ['driftExclusions: {} (not a list)', { driftExclusions: {} }, 'driftExclusions'],
      ['driftExclusions[0].paths: "/spec"', { driftExclusions: [{ paths: '/spec' }] }, 'driftExclusions.0.paths'],
      ['driftIgnore[0].kind: 5', { driftIgnore: [{ kind: 5 }] }, 'driftIgnore.0.kind'],
      ['patches[0] without patch', { patches: [{ target: { kind: 'Deployment' } }] }, 'patches.0.patch'],
      ['stopOnConflict: "yes"', { stopOnConflict: 'yes' }, 'stopOnConflict'],
      ['continueOnError: 1', { continueOnError: 1 }, 'continueOnError'],
      ['reloader: "true"', { reloader: 'true' }, 'reloader'],
      ['stopMatchingBehavior: "Keep"', { stopMatchingBehavior: 'Keep' }, 'stopMatchingBehavior'],
      ['templateResourceRefs: "x"', { templateResourceRefs: 'x' }, 'templateResourceRefs'],
      ['policyRefs: [1]', { policyRefs: [1] }, 'policyRefs.0'],
    ];
    for (const [name, raw, key] of cases) {
      test(name, () => {
        const e = bad(raw);
        assert.match(e, new RegExp(`provider\\.config\\.${key}\\b`));
        assert.ok(e.startsWith('provider.config.'), e);
      });
    }
  });

  test('a 63-character targetNamespace is accepted', () => {
    assert.equal(ok({ targetNamespace: 'a'.repeat(63) }).targetNamespace, 'a'.repeat(63));
  });

  test('several wrong keys are all reported', () => {
    const e = bad({ interval: 5, prune: 'yes' });
    assert.match(e, /provider\.config\.interval/);
    assert.match(e, /provider\.config\.prune/);
  });

  describe('a config that is not an object', () => {
    for (const [name, raw, got] of [
      ['an array', [], /an array/],
      ['an array of objects', [{ priority: 1 }], /an array/],
      ['a string', '{"priority": 5}', /string/],
      ['a number', 42, /number/],
      ['a boolean', true, /boolean/],
    ] as const) {
      test(name, () => {
        const e = bad(raw);
        assert.match(e, /^provider\.config: expected an object/);
        assert.match(e, got);
      });
    }
  });
});

describe('deletionTimeoutMs', () => {
  test('unset → undefined', () => {
    assert.equal(deletionTimeoutMs(ok({})), undefined);
  });
  test('durations convert to milliseconds, sub-second values kept', () => {
    assert.equal(deletionTimeoutMs(ok({ deletionTimeout: '90s' })), 90_000);
    assert.equal(deletionTimeoutMs(ok({ deletionTimeout: '15m' })), 900_000);
    assert.equal(deletionTimeoutMs(ok({ deletionTimeout: '1h30m' })), 5_400_000);
    assert.equal(deletionTimeoutMs(ok({ deletionTimeout: '250ms' })), 250);
  });
});

describe('Sveltos provider config keys (kcm built-in provider)', () => {
  const unsupported = (raw: unknown): string[] => {
    const r = parseProviderConfig(raw);
    if (!r.ok) return assert.fail(r.error);
    return r.unsupported;
  };

  // Every key of kcm's profileConfig, with a value that asks for something, and whether ksm-flux does it.
  const table: [string, unknown, 'mapped' | 'unsupported', RegExp?][] = [
    ['priority', 300, 'mapped'],
    ['maxConsecutiveFailures', 5, 'mapped'],
    ['syncMode', 'Continuous', 'mapped'],
    ['syncMode', 'ContinuousWithDriftDetection', 'mapped'],
    ['syncMode', 'OneTime', 'unsupported', /suspend/],
    ['syncMode', 'DryRun', 'unsupported', /ksm-flux plan/],
    ['driftIgnore', [{ kind: 'Deployment' }], 'mapped'],
    ['driftExclusions', [{ paths: ['/spec/replicas'] }], 'mapped'],
    ['patches', [{ patch: 'x: y' }], 'mapped'],
    ['continueOnError', true, 'mapped'],
    ['continueOnError', false, 'unsupported', /independently/],
    ['stopOnConflict', false, 'mapped'],
    ['stopOnConflict', true, 'unsupported', /priority/],
    ['stopMatchingBehavior', 'WithdrawPolicies', 'mapped'],
    ['stopMatchingBehavior', 'LeavePolicies', 'unsupported', /uninstalled/],
    [
      'templateResourceRefs',
      [{ resource: { kind: 'ConfigMap', name: 'x' }, identifier: 'X' }],
      'unsupported',
      /valuesFrom/,
    ],
    ['policyRefs', [{ kind: 'ConfigMap', name: 'p', namespace: 'default' }], 'unsupported', /spec\.resources/],
    ['reloader', true, 'unsupported', /Reloader/],
    ['reloader', false, 'mapped'],
  ];
  for (const [key, value, verdict, alt] of table) {
    test(`${key}: ${JSON.stringify(value)} → ${verdict}`, () => {
      const notes = unsupported({ [key]: value, interval: '2m' });
      if (verdict === 'mapped') assert.deepEqual(notes, []);
      else {
        assert.equal(notes.length, 1, JSON.stringify(notes));
        assert.ok(notes[0]!.startsWith(`provider.config.${key}: `), notes[0]);
        assert.match(notes[0]!, alt!);
      }
      // the rest of the config still applies
      assert.equal(ok({ [key]: value, interval: '2m' }).interval, '2m');
    });
  }

  test('a whole Sveltos config as users write it for kcm is valid; only what has no effect is named', () => {
    const notes = unsupported({
      priority: 200,
      syncMode: 'ContinuousWithDriftDetection',
      driftIgnore: [{ kind: 'Secret' }],
      stopOnConflict: true,
      reloader: true,
      continueOnError: true,
    });
    assert.deepEqual(
      notes.map((n) => n.split(':')[0]),
      ['provider.config.stopOnConflict', 'provider.config.reloader'],
    );
  });
});
