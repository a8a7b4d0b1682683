// The Temporal dev server from the official CLI (SQLite file in the state dir, Web UI on).
import path from 'node:path';
import { devServerSearchAttributeFlags } from '../workflow/searchAttributes';
import { freePorts, retryOnPortClash, startDetached, tcpOpen, waitUntil, type Started } from './proc';
import { toolPaths } from './versions';

export interface TemporalEndpoint {
  address: string;
  namespace: string;
  uiUrl: string;
  proc: Started;
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

type TemporalOptions = { name?: string; namespace?: string; extraArgs?: string[]; ui?: boolean };

export function startTemporal(dir: string, opts: TemporalOptions = {}): Promise<TemporalEndpoint> {
  return retryOnPortClash(opts.name ?? 'temporal', () => startTemporalOnce(dir, opts));
}

async function startTemporalOnce(dir: string, opts: TemporalOptions): Promise<TemporalEndpoint> {
  const name = opts.name ?? 'temporal';
  const namespace = opts.namespace ?? 'default';
  const [port, uiPort, httpPort, metricsPort] = (await freePorts(4)) as [number, number, number, number];
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    String(httpPort),
    '--metrics-port',
    String(metricsPort),
    '--namespace',
    namespace,
    '--db-filename',
    path.join(dir, `${name}.sqlite`),
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=OFF',
    '--log-level',
    'warn',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    // ksm-flux's search attributes exist from the start (the adapter would register them too).
    ...devServerSearchAttributeFlags(),
    ...(opts.ui === false ? ['--headless'] : ['--ui-port', String(uiPort), '--ui-ip', '127.0.0.1']),
    ...(opts.extraArgs ?? []),
  ];
  const proc = startDetached(dir, name, toolPaths().temporal, args);
  await waitUntil(`${name} frontend`, () => tcpOpen(port), { timeoutMs: 60_000, proc });
  const uiUrl = opts.ui === false ? '' : `http://127.0.0.1:${uiPort}`;
  if (uiUrl) await waitUntil(`${name} Web UI`, () => httpOk(uiUrl), { timeoutMs: 60_000, proc, intervalMs: 200 });
  return { address: `127.0.0.1:${port}`, namespace, uiUrl, proc };
}
