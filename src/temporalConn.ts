// Temporal connections (client and worker) from the validated configuration: plain, TLS (server CA, mTLS client
// certificate, server name) or an API key (Temporal Cloud and other API-key frontends; implies TLS).
import fs from 'node:fs';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { NativeConnection } from '@temporalio/worker';
import { dataConverterOf } from './codec/dataConverter';
import type { Config } from './config';

/** The key itself, read from its file at connect time so a mounted Secret is never copied into the config. */
export function apiKeyOf(c: Config): string | undefined {
  if (c.temporalApiKey) return c.temporalApiKey;
  if (!c.temporalApiKeyFile) return undefined;
  const key = fs.readFileSync(c.temporalApiKeyFile, 'utf8').trim();
  if (!key) throw new Error(`Temporal API key file ${c.temporalApiKeyFile} is empty`);
  return key;
}

/** TLS options, or undefined for a plaintext connection (an API key alone makes the SDK use TLS). */
export function tlsOf(c: Config): TLSConfig | undefined {
  if (!c.temporalTls && !c.temporalTlsCa && !c.temporalTlsCert && !c.temporalTlsServerName) return undefined;
  return {
    ...(c.temporalTlsCa ? { serverRootCACertificate: fs.readFileSync(c.temporalTlsCa) } : {}),
    ...(c.temporalTlsCert && c.temporalTlsKey
      ? { clientCertPair: { crt: fs.readFileSync(c.temporalTlsCert), key: fs.readFileSync(c.temporalTlsKey) } }
      : {}),
    ...(c.temporalTlsServerName ? { serverNameOverride: c.temporalTlsServerName } : {}),
  };
}

function connectionOptions(c: Config) {
  const tls = tlsOf(c);
  const apiKey = apiKeyOf(c);
  return { address: c.temporalAddress, ...(tls ? { tls } : {}), ...(apiKey ? { apiKey } : {}) };
}

/**
 * gRPC's reconnect backoff for the client channel. Its defaults (1 s growing ×1.6 up to 120 s) left the watcher
 * failing for ~28 s after a 60 s Temporal outage had ended: the next attempt was simply scheduled that late. A
 * short cap makes recovery take about a second after Temporal returns, at the cost of one connection attempt per
 * 2 s per process while it is down.
 */
export const RECONNECT_CHANNEL_ARGS = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2000,
} as const;

/** Per connection: stop the SDK's gRPC retries from scheduling another attempt (see closeClient). */
const retryGates = new WeakMap<object, () => void>();

export async function connectClient(c: Config): Promise<Client> {
  // Keys first: a bad key list stops the command before any connection is made.
  const dataConverter = dataConverterOf(c);
  // The SDK's default retry interceptor, gated: it retries an UNAVAILABLE call from a timer, and a timer firing
  // after the connection was closed makes grpc-js throw "Channel has been shut down" as an uncaught exception
  // (seen in observability.test.ts once reconnects became fast: calls failed at once during an outage, so retry
  // timers were pending at shutdown). Once closing, no new attempt is scheduled.
  let closing = false;
  const retry = defaultGrpcRetryOptions();
  const connection = await Connection.connect({
    ...connectionOptions(c),
    connectTimeout: 10_000,
    channelArgs: RECONNECT_CHANNEL_ARGS,
    interceptors: [
      makeGrpcRetryInterceptor({
        delayFunction: retry.delayFunction,
        retryableDecider: (attempt, status) => !closing && retry.retryableDecider(attempt, status),
      }),
    ],
  });
  retryGates.set(connection, () => (closing = true));
  return new Client({ connection, namespace: c.temporalNamespace, ...(dataConverter ? { dataConverter } : {}) });
}

/**
 * Closes a client's connection once its calls in flight have settled (at most `capMs`): retries stop being
 * scheduled first, so every call ends after its current attempt — the SDK's longest retry delay is 5 s (+20%
 * jitter), hence the default cap.
 */
export async function closeClient(client: Client, inFlight?: Promise<unknown>, capMs = 7000): Promise<void> {
  retryGates.get(client.connection)?.();
  if (inFlight) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([inFlight, new Promise((r) => (timer = setTimeout(r, capMs)))]);
    clearTimeout(timer);
  }
  await client.connection.close();
}

export async function connectWorker(c: Config): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(c));
}
