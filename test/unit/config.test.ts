import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ConfigError, bareTrueFlags, configFlags, loadConfig, optionHelp, timingOf } from '../../src/config';

// loadConfig decides "in cluster" from the real process environment (KUBERNETES_SERVICE_HOST and the
// service-account file), so keep those out of the way while these tests run.
const SAVED = ['KUBERNETES_SERVICE_HOST', 'POD_NAMESPACE'] as const;
let saved: Record<string, string | undefined> = {};
beforeEach(() => {
  saved = {};
  for (const k of SAVED) {
    saved[k] = process.env[k];
    delete process.env[k];
  }
});
afterEach(() => {
  for (const k of SAVED) {
    const v = saved[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.message;
  }
  return assert.fail('expected loadConfig to throw');
}

describe('loadConfig', () => {
  test('defaults with no flags and an empty environment (not in cluster)', () => {
    const c = loadConfig({}, {});
    assert.equal(c.temporalAddress, '127.0.0.1:7233');
    assert.equal(c.temporalNamespace, 'default');
    assert.equal(c.temporalTls, false);
    assert.equal(c.taskQueue, 'ksm-flux');
    assert.equal(c.adapterName, 'ksm-flux');
    assert.equal(c.adapterNamespace, 'kcm-system');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.leaderElection, true);
    assert.equal(c.leaseName, 'ksm-flux-watcher');
    assert.equal(c.leaseDuration, '15s');
    assert.equal(c.quiescentPoll, '1h');
    assert.equal(c.flapTolerance, '90s');
    assert.equal(c.deletionTimeout, '10m');
    assert.equal(c.maxConcurrentActivities, 50);
    assert.equal(c.maxCachedWorkflows, 1000);
    assert.equal(c.workflowThreads, 2);
    assert.equal(c.signalConcurrency, 16);
    assert.equal(c.inCluster, false);
    assert.equal(c.metricsAddr, '0');
    assert.equal(c.healthAddr, '0');
    assert.equal(c.kubeconfig, undefined);
    assert.equal(c.fluxMode, 'kcm', "kcm's bundled Flux is the default");
  });

  test('--flux-mode / KSM_FLUX_FLUX_MODE: kcm or standalone, anything else named', () => {
    assert.equal(loadConfig({ 'flux-mode': 'standalone' }, {}).fluxMode, 'standalone');
    assert.equal(loadConfig({}, { KSM_FLUX_FLUX_MODE: 'standalone' }).fluxMode, 'standalone');
    assert.equal(loadConfig({ 'flux-mode': 'kcm' }, { KSM_FLUX_FLUX_MODE: 'standalone' }).fluxMode, 'kcm');
    const m = configError(() => loadConfig({ 'flux-mode': 'both' }, {}));
    assert.match(m, /--flux-mode \/ KSM_FLUX_FLUX_MODE/);
    assert.match(m, /"both"/);
  });

  test('environment variables are read', () => {
    const c = loadConfig(
      {},
      {
        TEMPORAL_ADDRESS: 'temporal:7233',
        LOG_LEVEL: 'debug',
        KSM_FLUX_ADAPTER_NAMESPACE: 'ksm',
        KSM_FLUX_LEADER_ELECT: 'false',
        KSM_FLUX_MAX_CONCURRENT_ACTIVITIES: '8',
      },
    );
    assert.equal(c.temporalAddress, 'temporal:7233');
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.adapterNamespace, 'ksm');
    assert.equal(c.leaderElection, false);
    assert.equal(c.maxConcurrentActivities, 8);
  });

  test('a flag beats its environment variable', () => {
    const c = loadConfig(
      { 'temporal-address': 'flag-host:7000', 'log-level': 'warn' },
      { TEMPORAL_ADDRESS: 'env-host:7233', LOG_LEVEL: 'debug' },
    );
    assert.equal(c.temporalAddress, 'flag-host:7000');
    assert.equal(c.logLevel, 'warn');
  });

  test('an empty environment variable means unset', () => {
    assert.equal(loadConfig({}, { TEMPORAL_ADDRESS: '' }).temporalAddress, '127.0.0.1:7233');
  });

  test('boolean flags given without a value are true', () => {
    const c = loadConfig({ 'temporal-tls': true, 'leader-elect': false }, {});
    assert.equal(c.temporalTls, true);
    assert.equal(c.leaderElection, false);
  });

  test('invalid --temporal-address is reported naming the flag and the variable', () => {
    const m = configError(() => loadConfig({ 'temporal-address': 'not an address' }, {}));
    assert.match(m, /--temporal-address/);
    assert.match(m, /TEMPORAL_ADDRESS/);
    assert.match(m, /not an address/);
  });

  test('invalid TEMPORAL_ADDRESS from the environment is reported the same way', () => {
    const m = configError(() => loadConfig({}, { TEMPORAL_ADDRESS: 'localhost' }));
    assert.match(m, /--temporal-address \/ TEMPORAL_ADDRESS/);
  });

  test('invalid --log-level is reported naming the flag and the variable', () => {
    const m = configError(() => loadConfig({ 'log-level': 'loud' }, {}));
    assert.match(m, /--log-level/);
    assert.match(m, /LOG_LEVEL/);
    assert.match(m, /loud/);
  });

  test('every problem is reported at once', () => {
    const m = configError(() =>
      loadConfig(
        { 'log-level': 'loud', 'flap-tolerance': 'forever' },
        { TEMPORAL_ADDRESS: 'nope', KSM_FLUX_MAX_CONCURRENT_ACTIVITIES: '0' },
      ),
    );
    for (const f of ['--log-level', '--flap-tolerance', '--temporal-address', '--max-concurrent-activities'])
      assert.match(m, new RegExp(f));
  });

  test('durations, numbers and addresses are validated', () => {
    assert.match(
      configError(() => loadConfig({ 'lease-duration': '15' }, {})),
      /--lease-duration \/ KSM_FLUX_LEASE_DURATION/,
    );
    assert.match(
      configError(() => loadConfig({ 'signal-concurrency': 'many' }, {})),
      /--signal-concurrency/,
    );
    assert.match(
      configError(() => loadConfig({ 'metrics-addr': 'localhost' }, {})),
      /--metrics-addr/,
    );
    assert.match(
      configError(() => loadConfig({}, { TEMPORAL_TLS: 'maybe' })),
      /--temporal-tls \/ TEMPORAL_TLS/,
    );
  });

  test('listen addresses accept host:port, :port and 0', () => {
    assert.equal(loadConfig({ 'metrics-addr': ':9090' }, {}).metricsAddr, ':9090');
    assert.equal(loadConfig({ 'health-addr': '127.0.0.1:8081' }, {}).healthAddr, '127.0.0.1:8081');
    assert.equal(loadConfig({ 'temporal-metrics-addr': '0' }, {}).temporalMetricsAddr, '0');
  });

  test('--adapter-namespace beats the default', () => {
    assert.equal(loadConfig({ 'adapter-namespace': 'flux-system' }, {}).adapterNamespace, 'flux-system');
  });
});

describe('config helpers', () => {
  test('timingOf converts durations to milliseconds', () => {
    const t = timingOf(loadConfig({ 'flap-tolerance': '2m', 'active-poll-min': '500ms' }, {}));
    assert.equal(t.flapToleranceMs, 120_000);
    assert.equal(t.activePollMinMs, 500);
    assert.equal(t.quiescentPollMs, 3_600_000);
    assert.equal(t.activePollMaxMs, 60_000);
    assert.equal(t.deletionTimeoutMs, 600_000);
    assert.equal(t.finalizerGraceMs, 120_000);
  });

  test('every option has a flag, an environment variable and help', () => {
    assert.ok(optionHelp.length > 10);
    for (const o of optionHelp) {
      assert.match(o.flag, /^--[a-z][a-z0-9-]*$/);
      assert.match(o.env, /^[A-Z][A-Z0-9_]*$/);
      assert.ok(o.help.length > 0);
    }
    assert.equal(new Set(optionHelp.map((o) => o.env)).size, optionHelp.length, 'environment variables are unique');
    assert.deepEqual([...bareTrueFlags].sort(), ['leader-elect', 'temporal-tls']);
    for (const b of bareTrueFlags) assert.equal(configFlags[b], 'string', b);
    assert.deepEqual(Object.keys(configFlags).sort(), optionHelp.map((o) => o.flag.slice(2)).sort());
  });
});
