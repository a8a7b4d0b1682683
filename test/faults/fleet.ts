// The processes a fault scenario drives: our adapter as separate OS processes (watcher, workers), a TCP proxy in
// front of the kube-apiserver that counts connection attempts and can cut the apiserver off, and restarts of the
// control plane's own processes (Temporal, kube-apiserver) with exactly the arguments they were started with.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  freePorts,
  isAlive,
  sleep,
  startDetached,
  stop,
  tcpOpen,
  waitUntil,
  type Started,
} from '../../src/testenv/proc';
import type { TestenvState } from '../../src/testenv/testenv';
import { kubeGet } from '../../src/testenv/kube';
import { Connection } from '@temporalio/client';
import type { AdapterProc } from './scenario';

const root = path.resolve(__dirname, '..', '..');

/** Fast timings (as the integration tests use) so a burst settles in seconds. */
export const fastFlags: Record<string, string> = {
  'quiescent-poll': '10s',
  'active-poll-min': '300ms',
  'active-poll-max': '3s',
  'flap-tolerance': '3s',
  'deletion-timeout': '20s',
  'finalizer-grace': '3s',
};

/**
 * A TCP proxy in front of the apiserver (TLS passes through: the apiserver's certificate names 127.0.0.1). Every
 * accepted connection is counted with its time, so the connection attempts of our processes during an outage can
 * be told apart from normal traffic (kept-alive connections are few and long-lived).
 */
export class KubeProxy {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  readonly accepts: number[] = [];
  port = 0;
  private cut = false;

  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<void> {
    [this.port] = (await freePorts(1)) as [number];
    this.server = net.createServer((client) => {
      this.accepts.push(Date.now());
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      if (this.cut) {
        client.destroy();
        return;
      }
      const up = net.connect(this.upstreamPort, '127.0.0.1');
      this.sockets.add(up);
      up.on('close', () => {
        this.sockets.delete(up);
        client.destroy();
      });
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
      client.pipe(up);
      up.pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  /** Cuts every open connection and refuses new ones (accepting and closing them, so attempts are counted). */
  setCut(cut: boolean): void {
    this.cut = cut;
    if (cut) for (const s of this.sockets) s.destroy();
  }

  /** Connection attempts in [from, to). */
  attempts(from: number, to: number): number {
    return this.accepts.filter((t) => t >= from && t < to).length;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server?.close();
  }
}

/** A kubeconfig like the plane's, pointing at the proxy. */
export function proxiedKubeconfig(env: TestenvState, proxyPort: number, file: string): string {
  const text = fs
    .readFileSync(env.kubeconfig, 'utf8')
    .replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${proxyPort}`);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

function rssKiB(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const num = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
    return { rss: num('VmRSS'), hwm: num('VmHWM') };
  } catch {
    return undefined;
  }
}

export interface FleetOptions {
  dir: string;
  env: TestenvState;
  kubeconfig: string;
  workflowBundle: string;
  say: (m: string) => void;
}

/** One of our processes: `node --import tsx src/cli.ts <mode> …`, logging JSON to its own file. */
class Proc implements AdapterProc {
  private child?: ChildProcess;
  private expectExit = false;
  unexpectedExits = 0;
  peakKiB = 0;
  readonly log: string;
  addr = '';
  /** Kept for restart: which bundle the next start loads (a rolling restart swaps it for a new build). */
  bundle: string;

  constructor(
    readonly name: string,
    readonly mode: 'run' | 'watcher' | 'worker',
    private readonly flags: Record<string, string>,
    private readonly fleet: Fleet,
  ) {
    this.log = path.join(fleet.opts.dir, 'logs', `${name}.log`);
    this.bundle = fleet.opts.workflowBundle;
  }

  get adapterName(): string {
    return this.flags['adapter-name']!;
  }

  get taskQueue(): string {
    return this.flags['task-queue']!;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const [port] = (await freePorts(1)) as [number];
    this.addr = `127.0.0.1:${port}`;
    const args = [
      '--import',
      'tsx',
      path.join(root, 'src', 'cli.ts'),
      this.mode,
      ...Object.entries({
        ...this.flags,
        'metrics-addr': this.addr,
        'health-addr': this.addr,
        'temporal-metrics-addr': '0',
      }).flatMap(([k, v]) => [`--${k}`, v]),
    ];
    fs.mkdirSync(path.dirname(this.log), { recursive: true });
    const fd = fs.openSync(this.log, 'a');
    this.expectExit = false;
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, KSM_FLUX_WORKFLOW_BUNDLE: this.bundle, LOG_LEVEL: 'info' },
    });
    fs.closeSync(fd);
    this.child = child;
    child.on('exit', (code, sig) => {
      if (!this.expectExit) {
        this.unexpectedExits++;
        this.fleet.opts.say(`!! ${this.name} (pid ${child.pid}) exited by itself: code ${code} signal ${sig}`);
      }
    });
    await waitUntil(
      `${this.name} /readyz`,
      async () => {
        if (!this.alive) throw new Error(`${this.name} exited while starting; see ${this.log}`);
        const res = await fetch(`http://${this.addr}/readyz`, { signal: AbortSignal.timeout(2000) });
        return res.status === 200;
      },
      // Generous: on a loaded 2-core machine loading the sources took over 90 s once.
      { timeoutMs: 180_000, intervalMs: 250 },
    );
  }

  sample(): void {
    if (!this.alive) return;
    const r = rssKiB(this.pid);
    if (r) this.peakKiB = Math.max(this.peakKiB, r.hwm, r.rss);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    this.sample();
    this.expectExit = true;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  }

  async restart(o: { signal?: NodeJS.Signals; workflowBundle?: string } = {}): Promise<void> {
    await this.kill(o.signal ?? 'SIGKILL');
    if (o.workflowBundle) this.bundle = o.workflowBundle;
    await this.start();
  }
}

export class Fleet {
  readonly procs: Proc[] = [];
  private sampler?: NodeJS.Timeout;
  private seq = 0;

  constructor(readonly opts: FleetOptions) {
    this.sampler = setInterval(() => this.procs.forEach((p) => p.sample()), 500);
    this.sampler.unref();
  }

  async startAdapter(
    mode: 'run' | 'watcher' | 'worker',
    o: { adapterName: string; taskQueue: string; flags?: Record<string, string>; name?: string },
  ): Promise<Proc> {
    const name = o.name ?? `${mode}-${++this.seq}`;
    const p = new Proc(
      name,
      mode,
      {
        kubeconfig: this.opts.kubeconfig,
        'temporal-address': this.opts.env.temporalAddress,
        'temporal-namespace': this.opts.env.temporalNamespace,
        'task-queue': o.taskQueue,
        'adapter-name': o.adapterName,
        'adapter-namespace': 'kcm-system',
        'lease-name': `lease-${o.adapterName}`,
        'lease-duration': '6s',
        ...fastFlags,
        ...(o.flags ?? {}),
      },
      this,
    );
    this.procs.push(p);
    await p.start();
    return p;
  }

  peakRssMiB(since = 0): number {
    this.procs.forEach((p) => p.sample());
    return Math.round(Math.max(0, ...this.procs.slice(since).map((p) => p.peakKiB)) / 1024);
  }

  unexpectedExits(since = 0): number {
    return this.procs.slice(since).reduce((n, p) => n + p.unexpectedExits, 0);
  }

  async stopAll(since = 0): Promise<void> {
    for (const p of this.procs.slice(since)) await p.kill('SIGTERM');
  }

  close(): void {
    if (this.sampler) clearInterval(this.sampler);
  }
}

/** The command line a control-plane process was started with (to start it again exactly so). */
function cmdline(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

/**
 * Stops one of the plane's processes and returns a function that starts it again with the same arguments (same
 * ports, same data: etcd keeps its data, Temporal its SQLite file) and updates the saved state.
 */
export async function stopPlaneProcess(
  env: TestenvState,
  name: string,
): Promise<{ restart: () => Promise<Started>; port: number | undefined }> {
  const idx = env.procs.findIndex((p) => p.name === name);
  const p = env.procs[idx];
  if (!p) throw new Error(`no ${name} in the plane (${env.procs.map((q) => q.name).join(', ')})`);
  const args = cmdline(p.pid).slice(1);
  const portArg = args.find((a) => a.startsWith('--secure-port='))?.split('=')[1] ?? args[args.indexOf('--port') + 1];
  const port = portArg ? Number(portArg) : undefined;
  await stop(p, 10_000);
  return {
    port,
    restart: async () => {
      // The port may linger briefly after the old process is gone.
      for (let i = 0; i < 50 && port && (await tcpOpen(port)); i++) await sleep(100);
      const started = startDetached(env.dir, p.name, p.bin, args);
      env.procs[idx] = started;
      fs.writeFileSync(path.join(env.dir, 'state.json'), JSON.stringify(env, null, 2), { mode: 0o600 });
      if (port) await waitUntil(`${name} listening again`, () => tcpOpen(port), { timeoutMs: 60_000, proc: started });
      // Listening is not serving: Temporal loads its namespaces, the apiserver its storage, after the port opens.
      if (name === 'temporal')
        await waitUntil(
          'Temporal serving again',
          async () => {
            const conn = await Connection.connect({ address: env.temporalAddress, connectTimeout: 2000 });
            try {
              await conn.workflowService.describeNamespace({ namespace: env.temporalNamespace });
              return true;
            } finally {
              await conn.close();
            }
          },
          { timeoutMs: 60_000, intervalMs: 100, proc: started },
        );
      if (name === 'kube-apiserver')
        await waitUntil(
          'kube-apiserver ready again',
          async () =>
            (
              await kubeGet(
                { server: env.server, token: env.token, caPem: fs.readFileSync(path.join(env.dir, 'ca.crt'), 'utf8') },
                '/readyz',
              )
            )[0] === 200,
          { timeoutMs: 60_000, intervalMs: 100, proc: started },
        );
      return started;
    },
  };
}

export { isAlive };
