// The production Temporal server (go.temporal.io/server, the version the dev server embeds) on PostgreSQL, with
// the Web UI as its own process: what `testenv up --temporal postgres` runs instead of the dev server.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import YAML from 'yaml';
import { createLogger } from '../log';
import { ensureSearchAttributes } from '../searchAttributeRegistry';
import { startPostgres, type Postgres } from './postgres';
import { startDetached, stop, tcpOpen, waitUntil, type Started } from './proc';
import type { TemporalEndpoint } from './temporal';
import { toolPaths } from './versions';

const run = promisify(execFile);

export interface TemporalServerEndpoint extends TemporalEndpoint {
  /** PostgreSQL, the server and the Web UI, in start order (stop them in reverse). */
  procs: Started[];
  metricsUrl: string;
  /** Directories outside the state dir to remove once the processes are stopped (PostgreSQL's, rarely). */
  cleanupDirs: string[];
  /** Where the persistence lives (tests look into it; loopback, trust authentication). */
  postgres: { host: string; port: number; user: string; bin: string };
}

export interface TemporalServerOptions {
  namespace?: string;
  /**
   * Dev-server style arguments; only `--dynamic-config-value key=value` pairs are understood (so callers such as
   * tests can pass the same dynamic config to either backend).
   */
  extraArgs?: string[];
  dynamicConfig?: Record<string, unknown>;
  ui?: boolean;
  /** History shards: fixed for the life of the database. */
  shards?: number;
  say?: (m: string) => void;
}

/** Dynamic config for tests and benchmarks: the features ksm-flux uses on, and fast propagation of changes. */
export const testDynamicConfig: Record<string, unknown> = {
  'frontend.enableUpdateWorkflowExecution': true,
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted': true,
  'frontend.enableExecuteMultiOperation': true,
  // A namespace or search attribute registered at start is usable at once, not after the 10 s cache refresh.
  'system.namespaceCacheRefreshInterval': '1s',
  'system.forceSearchAttributesCacheRefreshOnRead': true,
  // As the dev server sets them.
  'history.hostLevelCacheMaxSize': 8192,
  'frontend.namespaceRPS.visibility': 100,
};

/** `--dynamic-config-value k=v` pairs of dev-server arguments; values are JSON when they parse, else strings. */
export function dynamicConfigFromArgs(args: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const inline = a.startsWith('--dynamic-config-value=') ? a.slice('--dynamic-config-value='.length) : undefined;
    const kv = inline ?? (a === '--dynamic-config-value' ? args[++i] : undefined);
    const eq = kv?.indexOf('=') ?? -1;
    if (kv === undefined || eq <= 0)
      throw new Error(`the postgres Temporal backend takes only --dynamic-config-value key=value (got ${a})`);
    const raw = kv.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    out[kv.slice(0, eq)] = value;
  }
  return out;
}

const DB = 'temporal';
const VISIBILITY_DB = 'temporal_visibility';

/** Creates both databases and their schemas with Temporal's own SQL tool and embedded schema files. */
async function createSchemas(pg: Postgres, logFile: string): Promise<void> {
  const tool = path.join(toolPaths().temporalServerDir, 'temporal-sql-tool');
  const conn = ['--endpoint', pg.host, '--port', String(pg.port), '--user', pg.user, '--password', 'unused'];
  const sql = async (db: string, ...args: string[]) => {
    const full = [...conn, '--plugin', 'postgres12', '--database', db, ...args];
    try {
      const { stdout, stderr } = await run(tool, full);
      fs.appendFileSync(logFile, `$ temporal-sql-tool ${full.join(' ')}\n${stdout}${stderr}`);
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`temporal-sql-tool ${args[0]} on ${db} failed: ${err.stderr || err.stdout || err.message}`);
    }
  };
  for (const [db, schema] of [
    [DB, 'postgresql/v12/temporal'],
    [VISIBILITY_DB, 'postgresql/v12/visibility'],
  ] as const) {
    await sql(db, 'create-database');
    await sql(db, 'setup-schema', '--version', '0.0');
    await sql(db, 'update-schema', '--schema-name', schema);
  }
}

function serverConfig(
  pg: Postgres,
  ports: { frontend: number; http: number; metrics: number; membership: number[]; grpc: number[] },
  dynamicConfigFile: string,
  shards: number,
) {
  const store = (database: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${pg.host}:${pg.port}`,
      connectProtocol: 'tcp',
      user: pg.user,
      password: 'unused',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const frontend = `127.0.0.1:${ports.frontend}`;
  const service = (i: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort: ports.grpc[i], membershipPort: ports.membership[i], bindOnLocalHost: true, ...extra },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: shards,
      datastores: { 'postgres-default': store(DB, 20), 'postgres-visibility': store(VISIBILITY_DB, 4) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: {
        prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${ports.metrics}` },
      },
    },
    services: {
      frontend: { rpc: { ...service(0).rpc, grpcPort: ports.frontend, httpPort: ports.http } },
      history: service(1),
      matching: service(2),
      worker: service(3),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: frontend,
          httpAddress: `127.0.0.1:${ports.http}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    publicClient: { hostPort: frontend },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * Free loopback ports below 32768. The SQL schema stores a member's ports as smallint (cluster_membership), so
 * the kernel's ephemeral ports (32768 and up on Linux) make the server die at its first heartbeat.
 */
export async function freeLowPorts(n: number, lo = 20000, hi = 32767): Promise<number[]> {
  const out = new Set<number>();
  for (let tries = 0; out.size < n; tries++) {
    if (tries > 1000) throw new Error(`no ${n} free ports between ${lo} and ${hi}`);
    const p = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (!out.has(p) && (await canListen(p))) out.add(p);
  }
  return [...out];
}

/** Registers the namespace once the frontend answers (it accepts connections before membership has settled). */
async function registerNamespace(address: string, namespace: string, proc: Started): Promise<void> {
  await waitUntil(
    `Temporal namespace ${namespace} registered`,
    async () => {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await conn.workflowService.registerNamespace({
          namespace,
          workflowExecutionRetentionPeriod: msToTs('1 day'),
        });
        return true;
      } catch (e) {
        // ALREADY_EXISTS: a previous attempt got through before its answer was lost.
        if ((e as { code?: number }).code === 6) return true;
        throw e;
      } finally {
        await conn.close();
      }
    },
    { timeoutMs: 90_000, intervalMs: 500, proc },
  );
}

/** ksm-flux's search attributes through the operator API, as an operator would register them once. */
async function registerSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    await ensureSearchAttributes(new Client({ connection, namespace }), namespace, createLogger('warn', 'testenv'));
  } finally {
    await connection.close();
  }
}

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts PostgreSQL, creates the schemas, then the server with the namespace registered, then the Web UI. On
 * failure, whatever was started is stopped before the error is thrown.
 */
export async function startTemporalServer(
  dir: string,
  opts: TemporalServerOptions = {},
): Promise<TemporalServerEndpoint> {
  const say = opts.say ?? (() => undefined);
  const namespace = opts.namespace ?? 'default';
  const dynamicConfig = { ...testDynamicConfig, ...dynamicConfigFromArgs(opts.extraArgs ?? []), ...opts.dynamicConfig };
  const bins = toolPaths().temporalServerDir;
  const procs: Started[] = [];
  const cleanupDirs: string[] = [];
  try {
    const t0 = Date.now();
    const pg = await startPostgres(dir, { name: 'postgres', say });
    procs.push(pg.proc);
    if (pg.dataDirOutside) cleanupDirs.push(pg.dataDir);
    say(`PostgreSQL ready at ${pg.host}:${pg.port} (${Date.now() - t0} ms)`);
    const logs = path.join(dir, 'logs');
    await createSchemas(pg, path.join(logs, 'temporal-sql-tool.log'));
    say(`Temporal schemas created (${Date.now() - t0} ms)`);

    const [frontend, http, metrics, uiPort, ...rest] = await freeLowPorts(11);
    const ports = {
      frontend: frontend!,
      http: http!,
      metrics: metrics!,
      membership: rest.slice(0, 4),
      grpc: [0, ...rest.slice(4, 7)],
    };
    const confDir = path.join(dir, 'temporal-config');
    fs.mkdirSync(confDir, { recursive: true });
    const dynamicFile = path.join(confDir, 'dynamicconfig.yaml');
    fs.writeFileSync(
      dynamicFile,
      YAML.stringify(Object.fromEntries(Object.entries(dynamicConfig).map(([k, v]) => [k, [{ value: v }]]))),
    );
    fs.writeFileSync(
      path.join(confDir, 'ksm.yaml'),
      YAML.stringify(serverConfig(pg, ports, dynamicFile, opts.shards ?? 4)),
    );
    const server = startDetached(dir, 'temporal-server', path.join(bins, 'temporal-server'), [
      '--root',
      dir,
      '--config',
      'temporal-config',
      '--env',
      'ksm',
      '--allow-no-auth',
      'start',
    ]);
    procs.push(server);
    const address = `127.0.0.1:${ports.frontend}`;
    await waitUntil('temporal-server frontend', () => tcpOpen(ports.frontend), { timeoutMs: 60_000, proc: server });
    await registerNamespace(address, namespace, server);
    await registerSearchAttributes(address, namespace);
    say(`Temporal server ready at ${address} (${Date.now() - t0} ms)`);

    let uiUrl = '';
    if (opts.ui !== false) {
      const uiDir = path.join(dir, 'temporal-ui');
      fs.mkdirSync(uiDir, { recursive: true });
      fs.writeFileSync(
        path.join(uiDir, 'ksm.yaml'),
        YAML.stringify({
          temporalGrpcAddress: address,
          host: '127.0.0.1',
          port: uiPort,
          enableUi: true,
          defaultNamespace: namespace,
          notifyOnNewVersion: false,
          hideLogs: true,
          cors: { cookieInsecure: true },
        }),
      );
      const ui = startDetached(dir, 'temporal-ui-server', path.join(bins, 'temporal-ui-server'), [
        '--root',
        dir,
        '--config',
        'temporal-ui',
        '--env',
        'ksm',
        'start',
      ]);
      procs.push(ui);
      uiUrl = `http://127.0.0.1:${uiPort}`;
      await waitUntil('Temporal Web UI', () => httpOk(uiUrl), { timeoutMs: 60_000, proc: ui, intervalMs: 200 });
    }
    return {
      address,
      namespace,
      uiUrl,
      proc: server,
      procs,
      metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
      postgres: { host: pg.host, port: pg.port, user: pg.user, bin: pg.bin },
      cleanupDirs,
    };
  } catch (e) {
    for (const p of [...procs].reverse()) await stop(p);
    for (const d of cleanupDirs) fs.rmSync(d, { recursive: true, force: true });
    throw e;
  }
}
