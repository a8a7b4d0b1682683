// /metrics (ours plus the Temporal runtime's), /healthz and /readyz.
import http from 'node:http';
import type { Logger } from './log';
import { registry } from './metrics';

export type Check = () => Promise<string | undefined> | string | undefined;

function listenAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i) || '0.0.0.0', port: Number(addr.slice(i + 1)) };
}

async function runChecks(checks: Record<string, Check>): Promise<{ ok: boolean; text: string }> {
  const lines: string[] = [];
  let ok = true;
  for (const [name, check] of Object.entries(checks)) {
    let problem: string | undefined;
    try {
      problem = await check();
    } catch (e) {
      problem = e instanceof Error ? e.message : String(e);
    }
    if (problem) ok = false;
    lines.push(problem ? `[-] ${name}: ${problem}` : `[+] ${name} ok`);
  }
  return { ok, text: `${lines.join('\n')}\n${ok ? 'ok' : 'not ok'}\n` };
}

export interface ServerOptions {
  addr: string;
  metrics?: boolean;
  /** Temporal Core's own Prometheus endpoint, appended to /metrics. */
  temporalMetricsUrl?: string;
  health?: Record<string, Check>;
  ready?: Record<string, Check>;
}

export async function startHttpServer(opts: ServerOptions, log: Logger): Promise<http.Server | undefined> {
  if (opts.addr === '0') return undefined;
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = req.url?.split('?')[0];
      if (url === '/metrics' && opts.metrics) {
        let body = await registry.metrics();
        if (opts.temporalMetricsUrl) {
          try {
            const r = await fetch(opts.temporalMetricsUrl, { signal: AbortSignal.timeout(2000) });
            if (r.ok) body += `\n${await r.text()}`;
          } catch {
            /* runtime metrics are best effort */
          }
        }
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
        return;
      }
      const checks = url === '/healthz' || url === '/livez' ? opts.health : url === '/readyz' ? opts.ready : undefined;
      if (checks) {
        const r = await runChecks(checks);
        res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(r.text);
        return;
      }
      res.writeHead(404).end('not found\n');
    })().catch((e) => {
      res.writeHead(500).end(String(e));
    });
  });
  const { host, port } = listenAddr(opts.addr);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  log.info({ addr: typeof a === 'object' && a ? `${a.address}:${a.port}` : opts.addr }, 'http server listening');
  return server;
}
