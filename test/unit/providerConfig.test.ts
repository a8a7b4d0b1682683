import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PRIORITY } from '../../src/api/constants';
import { deletionTimeoutMs, parseProviderConfig, type ProviderConfig } from '../../src/core/providerConfig';

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
    const e = bad({ syncMode: 'OneTime' });
    assert.match(e, /provider\.config\.syncMode/);
    assert.match(e, /unknown key/);
  });

  test('several unknown keys are all named', () => {
    const e = bad({ interval: '1m', notAKey: 'LeavePolicies', alsoNotAKey: 3 });
    assert.match(e, /provider\.config\.notAKey/);
    assert.match(e, /provider\.config\.alsoNotAKey/);
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
