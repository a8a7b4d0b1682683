// Temporal connections (client and worker) from the validated configuration.
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from './config';

function tls(c: Config) {
  if (!c.temporalTls) return undefined;
  return {
    ...(c.temporalTlsCa ? { serverRootCACertificate: fs.readFileSync(c.temporalTlsCa) } : {}),
    ...(c.temporalTlsCert && c.temporalTlsKey
      ? { clientCertPair: { crt: fs.readFileSync(c.temporalTlsCert), key: fs.readFileSync(c.temporalTlsKey) } }
      : {}),
  };
}

export async function connectClient(c: Config): Promise<Client> {
  const t = tls(c);
  const connection = await Connection.connect({
    address: c.temporalAddress,
    ...(t ? { tls: t } : {}),
    connectTimeout: 10_000,
  });
  return new Client({ connection, namespace: c.temporalNamespace });
}

export async function connectWorker(c: Config): Promise<NativeConnection> {
  const t = tls(c);
  return NativeConnection.connect({ address: c.temporalAddress, ...(t ? { tls: t } : {}) });
}
