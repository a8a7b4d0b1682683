// Small process helpers for the local control plane: free ports, detached children with log files,
// readiness polling and pid-exact shutdown.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Distinct free ports (the OS may hand back a just-closed one twice). */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

/** Whether something accepts TCP connections on a loopback port (a server that is up, before it says ready). */
export function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Started {
  name: string;
  pid: number;
  bin: string;
  log: string;
}

/** Starts a child in its own process group, detached from ours, logging to DIR/logs/NAME.log. */
export function startDetached(
  dir: string,
  name: string,
  bin: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Started {
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const log = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(log, 'a');
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env, cwd: dir });
  fs.closeSync(fd);
  if (!child.pid) throw new Error(`could not start ${name} (${bin})`);
  child.unref();
  return { name, pid: child.pid, bin, log };
}

/**
 * True while pid runs. A zombie has exited: once our processes outlive the `up` that started them, whichever
 * init adopted them reaps on its own schedule (seconds here), and waiting for that made every stop slow.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return !fs.existsSync('/proc/self/stat'); // gone in between, or no /proc: trust the signal
  }
  const state = processState(stat);
  return state !== 'Z' && state !== 'X';
}

/** The state letter of a /proc/<pid>/stat line; the command name before it may itself contain ") ". */
export function processState(stat: string): string {
  const end = stat.lastIndexOf(')');
  return end < 0 ? '' : stat.charAt(end + 2);
}

/** True when pid is alive and still runs the binary we started (guards against pid reuse). */
export function isOurs(p: Started): boolean {
  if (!isAlive(p.pid)) return false;
  try {
    const exe = fs.readlinkSync(`/proc/${p.pid}/exe`);
    return path.basename(exe).replace(/ \(deleted\)$/, '') === path.basename(p.bin);
  } catch {
    return true; // no /proc: trust the pid
  }
}

export async function stop(p: Started, graceMs = 5000): Promise<void> {
  if (!isOurs(p)) return;
  try {
    process.kill(-p.pid, 'SIGTERM'); // the whole group: the child started it
  } catch {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      return;
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(p.pid)) await sleep(50);
  if (isAlive(p.pid)) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls check() until it returns true; fails with the tail of the log when the process dies or time runs out. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; proc?: Started },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      lastErr = e;
    }
    if (opts.proc && !isAlive(opts.proc.pid)) {
      throw new Error(`${what}: process exited early.\n${tail(opts.proc.log)}`);
    }
    if (Date.now() > deadline) {
      const why = lastErr instanceof Error ? ` (last error: ${lastErr.message})` : '';
      // A process that never became ready is stopped: nothing is left running behind an error.
      if (opts.proc) await stop(opts.proc);
      throw new Error(
        `${what}: not ready after ${opts.timeoutMs} ms${why}${opts.proc ? `\n${tail(opts.proc.log)}` : ''}`,
      );
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

/**
 * Runs a server start again (up to `tries` times) when it failed because a port was taken. Ports come from
 * freePorts(), which must release them before the server binds them; a server that picks more free ports of its
 * own at start (the Temporal dev server does, for its internal services) can take one of ours in between: CI saw
 * "failed listening for HTTP API on 127.0.0.1:38191: bind: address already in use". Each attempt picks new ports.
 */
export async function retryOnPortClash<T>(what: string, start: () => Promise<T>, tries = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      const clash = e instanceof Error && /address already in use/i.test(e.message);
      if (!clash || attempt >= tries) throw e;
      process.stderr.write(`[testenv] ${what}: a port was taken while it started; retrying with new ports\n`);
    }
  }
}

export function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Polls fn until it returns a truthy value, which it resolves to. On timeout the error says what was awaited and
 * the last value or error seen.
 */
export async function pollFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for: ${what}; last: ${JSON.stringify(last)?.slice(0, 2000)}`,
      );
    await sleep(intervalMs);
  }
}
