// PostgreSQL from Debian's package for the production Temporal server: a throwaway cluster in the state dir,
// run as an unprivileged user, on a free loopback port, with no Unix socket.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, startDetached, waitUntil, type Started } from './proc';

const run = promisify(execFile);

export interface Postgres {
  host: string;
  port: number;
  /** Superuser created by initdb; loopback connections are trusted, so any password works. */
  user: string;
  dataDir: string;
  /** True when dataDir is outside the state dir (see dataDirFor); the caller removes it after stopping. */
  dataDirOutside: boolean;
  proc: Started;
  /** The bin directory of the server (psql, pg_isready, …). */
  bin: string;
}

const PG_ROOT = '/usr/lib/postgresql';

/** The bin directory of the newest PostgreSQL installed by Debian's packages, if any. */
export function postgresBinDir(): string | undefined {
  if (process.env.KSM_FLUX_PG_BIN) return process.env.KSM_FLUX_PG_BIN;
  let majors: string[];
  try {
    majors = fs.readdirSync(PG_ROOT).filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  const bins = majors
    .sort((a, b) => Number(b) - Number(a))
    .map((m) => path.join(PG_ROOT, m, 'bin'))
    .filter((d) => fs.existsSync(path.join(d, 'postgres')) && fs.existsSync(path.join(d, 'initdb')));
  return bins[0];
}

/**
 * Installs Debian's `postgresql` when no server is installed (only as root, which CI is); otherwise says what to
 * run. apt's own progress goes to our stderr.
 */
export async function ensurePostgresInstalled(say: (m: string) => void = () => undefined): Promise<string> {
  const found = postgresBinDir();
  if (found) return found;
  if (process.getuid?.() !== 0)
    throw new Error('PostgreSQL is not installed: run `sudo apt-get install -y postgresql` (Debian) and retry');
  const apt = (args: string[]) =>
    new Promise<number>((resolve) => {
      const child = spawn('apt-get', args, {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      child.on('error', () => resolve(127));
      child.on('exit', (code) => resolve(code ?? 1));
    });
  const t0 = Date.now();
  say("installing Debian's postgresql (apt-get install -y postgresql)…");
  if ((await apt(['install', '-y', '-q', 'postgresql'])) !== 0) {
    say('apt-get install failed; updating the package lists and retrying…');
    if ((await apt(['update', '-q'])) !== 0 || (await apt(['install', '-y', '-q', 'postgresql'])) !== 0)
      throw new Error('apt-get install -y postgresql failed (see the output above)');
  }
  const bin = postgresBinDir();
  if (!bin) throw new Error(`apt-get installed postgresql but no server is under ${PG_ROOT}/<major>/bin`);
  say(`postgresql installed in ${((Date.now() - t0) / 1000).toFixed(1)} s (${bin})`);
  return bin;
}

/**
 * PostgreSQL refuses to run as root. As root we drop to the package's `postgres` system user with setpriv, which
 * execs (no intermediate process), so the pid we record is the postmaster's own and stopping it is exact.
 */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [bin, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--clear-groups', '--', bin, ...args]];
}

function serverUserIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line)
    throw new Error('running as root but there is no `postgres` system user (Debian creates it with the package)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** True when every directory from / down to dir can be searched by uid/gid (what initdb needs to reach it). */
export function searchableBy(dir: string, ids: { uid: number; gid: number }): boolean {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const st = fs.statSync(d);
    const bit = st.uid === ids.uid ? 0o100 : st.gid === ids.gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) return false;
    if (d === path.dirname(d)) return true;
  }
}

/**
 * DIR/<name>-data, unless the server user cannot reach into DIR (a checkout under a private home directory):
 * then a private directory under the system temp dir, which the caller removes.
 */
function dataDirFor(dir: string, name: string, ids?: { uid: number; gid: number }): [string, boolean] {
  if (!ids || searchableBy(dir, ids)) return [path.join(dir, `${name}-data`), false];
  return [fs.mkdtempSync(path.join(os.tmpdir(), `ksm-flux-${name}-`)), true];
}

/** Initialises a cluster in DIR/<name>-data and starts it on a free loopback port. */
export async function startPostgres(
  dir: string,
  opts: { name?: string; say?: (m: string) => void } = {},
): Promise<Postgres> {
  const name = opts.name ?? 'postgres';
  const bin = await ensurePostgresInstalled(opts.say);
  const user = 'temporal';
  const ids = serverUserIds();
  const [dataDir, dataDirOutside] = dataDirFor(dir, name, ids);
  if (!dataDirOutside) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.mkdirSync(dataDir, { mode: 0o700 });
  }
  if (ids) fs.chownSync(dataDir, ids.uid, ids.gid);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  // Trust on loopback only (the server listens nowhere else); fsync off: the cluster is deleted with DIR, and the
  // dev server it is compared with runs SQLite with synchronous=OFF.
  const [initBin, initArgs] = asServerUser(path.join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    user,
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  try {
    await run(initBin, initArgs, { env, cwd: '/' });
  } catch (e) {
    if (dataDirOutside) fs.rmSync(dataDir, { recursive: true, force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `initdb failed in ${dataDir}${ids ? ' (as user postgres: every parent directory must be searchable by it)' : ''}: ${err.stderr || err.message}`,
    );
  }
  const port = await freePort();
  const [pgBin, pgArgs] = asServerUser(path.join(bin, 'postgres'), [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
    '-c',
    'shared_buffers=128MB',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'log_min_messages=warning',
  ]);
  const started = startDetached(dir, name, pgBin, pgArgs, env);
  // The process is the postmaster itself (setpriv execs): record its binary so pid checks match it.
  const proc: Started = { ...started, bin: path.join(bin, 'postgres') };
  const cleanup = () => dataDirOutside && fs.rmSync(dataDir, { recursive: true, force: true });
  await waitUntil(
    `${name} accepting connections`,
    async () => {
      try {
        await run(path.join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', user], { env });
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 60_000, intervalMs: 200, proc },
  ).catch((e: unknown) => {
    cleanup();
    throw e;
  });
  return { host: '127.0.0.1', port, user, dataDir, dataDirOutside, proc, bin };
}
