import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';
import { apiKeyOf, RECONNECT_CHANNEL_ARGS, tlsOf } from '../../src/temporalConn';

// How the options for an external Temporal (mTLS, server name, API key) become connection options.
describe('Temporal connection options', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-conn-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  test('no TLS options: plaintext, no API key', () => {
    const c = loadConfig({}, {});
    assert.equal(tlsOf(c), undefined);
    assert.equal(apiKeyOf(c), undefined);
  });

  test('mTLS: CA, client certificate pair and server name from files and variables', () => {
    const c = loadConfig(
      {},
      {
        TEMPORAL_TLS_CA: file('ca.crt', 'CA'),
        TEMPORAL_TLS_CERT: file('tls.crt', 'CERT'),
        TEMPORAL_TLS_KEY: file('tls.key', 'KEY'),
        TEMPORAL_TLS_SERVER_NAME: 'temporal.example',
      },
    );
    const t = tlsOf(c);
    assert.equal(t?.serverRootCACertificate?.toString(), 'CA');
    assert.equal(t?.clientCertPair?.crt.toString(), 'CERT');
    assert.equal(t?.clientCertPair?.key.toString(), 'KEY');
    assert.equal(t?.serverNameOverride, 'temporal.example');
  });

  test('--temporal-tls alone is TLS with the system roots', () => {
    assert.deepEqual(tlsOf(loadConfig({ 'temporal-tls': true }, {})), {});
  });

  test('a client certificate without its key (or the reverse) is a configuration error naming both', () => {
    assert.throws(
      () => loadConfig({}, { TEMPORAL_TLS_CERT: '/x.crt' }),
      (e: unknown) => e instanceof ConfigError && /TEMPORAL_TLS_CERT.*TEMPORAL_TLS_KEY/.test(e.message),
    );
  });

  test('API key from the variable, or from a file (trimmed; read at connect time)', () => {
    assert.equal(apiKeyOf(loadConfig({}, { TEMPORAL_API_KEY: 'k1' })), 'k1');
    assert.equal(apiKeyOf(loadConfig({}, { TEMPORAL_API_KEY_FILE: file('key', 'k2\n') })), 'k2');
  });

  test('an empty API key file is refused with its path', () => {
    const p = file('empty', '\n');
    assert.throws(() => apiKeyOf(loadConfig({ 'temporal-api-key-file': p }, {})), new RegExp(`${p} is empty`));
  });

  test('both an API key and an API key file is a configuration error', () => {
    assert.throws(
      () => loadConfig({}, { TEMPORAL_API_KEY: 'k', TEMPORAL_API_KEY_FILE: '/k' }),
      (e: unknown) => e instanceof ConfigError && /give one/.test(e.message),
    );
  });

  // Issue 13.10: with gRPC's default backoff (up to 120 s) the watcher kept failing ~28 s after a 60 s outage had
  // ended. The fault suite measures the recovery end to end (temporal-outage-recovery); this pins the cause.
  test('the client channel retries a lost Temporal at least every 2 s', () => {
    assert.ok(RECONNECT_CHANNEL_ARGS['grpc.max_reconnect_backoff_ms'] <= 2000);
    assert.ok(
      RECONNECT_CHANNEL_ARGS['grpc.initial_reconnect_backoff_ms'] <=
        RECONNECT_CHANNEL_ARGS['grpc.max_reconnect_backoff_ms'],
    );
  });
});
