// The container image, built without a Docker engine: the Dockerfile is parsed and its steps are performed
// here. Each stage gets a directory as its root file system; COPY takes files from the build context
// (filtered by .dockerignore) or from an earlier stage, RUN runs in the stage's WORKDIR with its ENV (npm
// from the local cache), and the final stage's ENTRYPOINT + CMD is started from the assembled runtime tree,
// as the Dockerfile's numeric USER when this process may switch users, against the test control plane.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import {
  createHelmTemplate,
  createKubeconfigSecret,
  createNamespace,
  createServiceSet,
  createSmp,
  eventually,
  getServiceSet,
  testEnv,
  uniqueName,
} from '../support/env';

const repo = path.resolve(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------------------------
// Dockerfile model

interface Instruction {
  op: string;
  /** The instruction's text after the keyword, continuation lines joined. */
  rest: string;
  line: number;
}

interface Stage {
  index: number;
  name?: string;
  base: string;
  instructions: Instruction[];
}

interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Logical lines: comments dropped (also inside continuations), `\` continuations joined. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let cur = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const t = raw.trim();
    if (t.startsWith('#') || (t === '' && !cur)) return;
    if (!cur) start = i + 1;
    if (t.endsWith('\\')) {
      cur += `${t.slice(0, -1).trimEnd()} `;
      return;
    }
    cur += t;
    out.push({ text: cur.trim(), line: start });
    cur = '';
  });
  if (cur.trim()) out.push({ text: cur.trim(), line: start });
  return out;
}

/** Shell-like words: whitespace separated, quotes and backslashes removed. */
function words(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      started = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      started = true;
    } else if (/\s/.test(c)) {
      if (cur || started) out.push(cur);
      cur = '';
      started = false;
    } else cur += c;
  }
  if (cur || started) out.push(cur);
  return out;
}

/** Docker's variable substitution: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}. */
function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)/g, (_m, a: string | undefined, def: string | undefined, b) => {
    const v = vars[(a ?? b) as string];
    return v !== undefined && v !== '' ? v : (def ?? '');
  });
}

/** KEY=VALUE pairs (quotes allowed), or the legacy `KEY VALUE` form. */
function keyValues(rest: string, vars: Record<string, string>): Record<string, string> {
  const w = words(substitute(rest, vars));
  if (w.length && !w[0]!.includes('=')) return { [w[0]!]: w.slice(1).join(' ') };
  return Object.fromEntries(w.map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]));
}

/** Exec form (a JSON array) as is; shell form through /bin/sh -c, as Docker does. */
function commandOf(rest: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    const v: unknown = JSON.parse(t);
    assert.ok(Array.isArray(v) && v.every((x) => typeof x === 'string'), `exec form must be strings: ${t}`);
    return v;
  }
  return ['/bin/sh', '-c', t];
}

/** Leading `--name=value` options of COPY and RUN. */
function options(rest: string): { opts: Record<string, string>; rest: string } {
  const opts: Record<string, string> = {};
  let r = rest.trim();
  for (let m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(r); m; m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(r)) {
    opts[m[1]!] = m[2] ?? 'true';
    r = r.slice(m[0].length);
  }
  return { opts, rest: r };
}

function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const { text: t, line } of logicalLines(text)) {
    const m = /^(\w+)\s*(.*)$/s.exec(t);
    assert.ok(m, `Dockerfile line ${line}: cannot parse ${JSON.stringify(t)}`);
    const op = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (op === 'FROM') {
      const w = words(rest).filter((x) => !x.startsWith('--platform'));
      const as = w.findIndex((x) => x.toUpperCase() === 'AS');
      stages.push({
        index: stages.length,
        base: substitute(w[0]!, globalArgs),
        ...(as > 0 ? { name: w[as + 1]! } : {}),
        instructions: [],
      });
    } else if (!stages.length) {
      assert.equal(op, 'ARG', `Dockerfile line ${line}: only ARG may come before the first FROM`);
      const [k, ...v] = rest.trim().split('=');
      globalArgs[k!] = v.join('=');
    } else stages[stages.length - 1]!.instructions.push({ op, rest, line });
  }
  return { globalArgs, stages };
}

// ---------------------------------------------------------------------------------------------------------
// .dockerignore (Docker's rules: last matching pattern wins, a pattern also matches everything below a
// matching folder, `!` re-includes, `**` spans folders)

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function dockerignore(contextDir: string): (rel: string) => boolean {
  const file = path.join(contextDir, '.dockerignore');
  const patterns = (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const p = path.posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '');
      return { negate, re: globToRegExp(p) };
    });
  return (rel: string) => {
    const parts = rel.split(path.sep).join('/').split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const p of patterns) if (prefixes.some((x) => p.re.test(x))) excluded = !p.negate;
    return excluded;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Performing the stages

interface BuiltStage {
  stage: Stage;
  /** The stage's root file system. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  expose: string[];
  labels: Record<string, string>;
}

/** Where an absolute path inside a stage lives on this machine. */
const inRoot = (root: string, p: string) => path.join(root, path.posix.resolve('/', p));

function runLogged(argv: string[], cwd: string, env: NodeJS.ProcessEnv, log: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => log.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => log.push(d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

function copy(src: string, dest: string, intoDir: boolean, filter?: (abs: string) => boolean): void {
  const opts = { recursive: true, verbatimSymlinks: true, ...(filter ? { filter } : {}) };
  if (fs.statSync(src).isDirectory()) {
    // Docker copies a folder's contents, not the folder itself.
    fs.mkdirSync(dest, { recursive: true });
    fs.cpSync(src, dest, opts);
  } else {
    const target = intoDir ? path.join(dest, path.basename(src)) : dest;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.cpSync(src, target, opts);
  }
}

/** The environment of a RUN step: the host's node and npm, the local npm cache, and the stage's ENV. */
function runEnv(stageEnv: Record<string, string>): NodeJS.ProcessEnv {
  const npmCache = spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).stdout.trim();
  return {
    PATH: `${path.dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: os.homedir(),
    LANG: 'C.UTF-8',
    ...(npmCache ? { npm_config_cache: npmCache } : {}),
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...stageEnv,
  };
}

async function performStages(df: Dockerfile, contextDir: string, work: string, log: string[]): Promise<BuiltStage[]> {
  const ignored = dockerignore(contextDir);
  const fromContext = (abs: string) => {
    const rel = path.relative(contextDir, abs);
    return rel === '' || !ignored(rel);
  };
  const built: BuiltStage[] = [];
  for (const stage of df.stages) {
    const parent = built.find((b) => b.stage.name === stage.base);
    const root = path.join(work, `stage-${stage.index}${stage.name ? `-${stage.name}` : ''}`);
    fs.mkdirSync(root, { recursive: true, mode: 0o755 });
    if (parent) fs.cpSync(parent.root, root, { recursive: true, verbatimSymlinks: true });
    const b: BuiltStage = {
      stage,
      root,
      workdir: parent?.workdir ?? '/',
      env: { ...(parent?.env ?? {}) },
      expose: [],
      labels: {},
      ...(parent?.user ? { user: parent.user } : {}),
    };
    const args: Record<string, string> = {};
    const vars = () => ({ ...args, ...b.env });
    for (const ins of stage.instructions) {
      const where = `Dockerfile line ${ins.line} (${ins.op})`;
      switch (ins.op) {
        case 'ARG': {
          const [k, ...v] = ins.rest.trim().split('=');
          args[k!] = v.length ? substitute(v.join('='), vars()) : (df.globalArgs[k!] ?? '');
          break;
        }
        case 'ENV':
          Object.assign(b.env, keyValues(ins.rest, vars()));
          break;
        case 'LABEL':
          Object.assign(b.labels, keyValues(ins.rest, vars()));
          break;
        case 'WORKDIR':
          b.workdir = path.posix.resolve(b.workdir, substitute(ins.rest.trim(), vars()));
          fs.mkdirSync(inRoot(root, b.workdir), { recursive: true });
          break;
        case 'USER':
          b.user = substitute(ins.rest.trim(), vars());
          break;
        case 'EXPOSE':
          b.expose.push(...words(substitute(ins.rest, vars())));
          break;
        case 'ENTRYPOINT':
          b.entrypoint = commandOf(ins.rest);
          delete b.cmd; // Docker resets CMD when ENTRYPOINT is set
          break;
        case 'CMD':
          b.cmd = commandOf(ins.rest);
          break;
        case 'COPY': {
          const { opts, rest } = options(ins.rest);
          const w = words(substitute(rest, vars()));
          assert.ok(w.length >= 2, `${where}: COPY needs a source and a destination`);
          const dest = w[w.length - 1]!;
          const sources = w.slice(0, -1);
          const destAbs = inRoot(root, path.posix.resolve(b.workdir, dest));
          const intoDir = dest.endsWith('/') || sources.length > 1;
          for (const s of sources) {
            if (opts.from) {
              const from = built.find((x) => x.stage.name === opts.from || String(x.stage.index) === opts.from);
              assert.ok(from, `${where}: no earlier stage ${opts.from}`);
              const src = inRoot(from.root, path.posix.resolve('/', s));
              assert.ok(fs.existsSync(src), `${where}: ${s} does not exist in stage ${opts.from}`);
              copy(src, destAbs, intoDir);
            } else {
              const src = path.resolve(contextDir, s);
              const rel = path.relative(contextDir, src);
              assert.ok(!rel.startsWith('..'), `${where}: ${s} is outside the build context`);
              assert.ok(fs.existsSync(src) && fromContext(src), `${where}: ${s} is not in the build context`);
              copy(src, destAbs, intoDir, fromContext);
            }
          }
          break;
        }
        case 'RUN': {
          const { rest } = options(ins.rest); // --mount=type=cache and friends: the local cache stands in
          const argv = commandOf(rest);
          log.push(`\n[image] ${stage.name ?? stage.index}: RUN ${rest}\n`);
          const t0 = Date.now();
          const code = await runLogged(argv, inRoot(root, b.workdir), runEnv({ ...args, ...b.env }), log);
          log.push(`[image] exit ${code} after ${Date.now() - t0} ms\n`);
          assert.equal(code, 0, `${where}: RUN ${rest} failed:\n${log.join('').slice(-4000)}`);
          break;
        }
        case 'HEALTHCHECK':
        case 'STOPSIGNAL':
        case 'VOLUME':
        case 'SHELL':
          assert.fail(`${where}: this test does not perform ${ins.op}; teach it, or do without`);
          break;
        default:
          assert.fail(`${where}: unsupported instruction ${ins.op}`);
      }
    }
    built.push(b);
  }
  return built;
}

// ---------------------------------------------------------------------------------------------------------
// Running the runtime tree

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

/** Parses `uid[:gid]`; both numeric. */
function numericUser(user: string | undefined): { uid: number; gid: number } | undefined {
  const m = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  return m ? { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) } : undefined;
}

/** setpriv (util-linux) runs the process as the image's user when this process is allowed to. */
function userSwitch(u: { uid: number; gid: number }): string[] {
  const argv = ['setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--clear-groups', '--'];
  const probe = spawnSync(argv[0]!, [...argv.slice(1), 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? argv : [];
}

interface Proc {
  child: ChildProcess;
  out: string[];
  exited: Promise<number | null>;
}

async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: await r.text() };
}

/** Until url answers 200; fails at once, with the process's output, if the process exits. */
async function waitReady(p: Proc, url: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      assert.fail(
        `exited (${p.child.exitCode ?? p.child.signalCode}) before ${url} was ready:\n${p.out.join('').slice(-4000)}`,
      );
    try {
      const r = await httpGet(url);
      if (r.status === 200) return;
      last = `${r.status} ${r.body.trim()}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline)
      assert.fail(`${url} not ready after ${timeoutMs} ms (last: ${last}):\n${p.out.join('').slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// ---------------------------------------------------------------------------------------------------------

describe('container image (Dockerfile performed without a Docker engine)', () => {
  const dockerfileText = fs.readFileSync(path.join(repo, 'Dockerfile'), 'utf8');
  const df = parseDockerfile(dockerfileText);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-image-'));
  const log: string[] = [];
  const procs: Proc[] = [];
  let built: BuiltStage[] | undefined;
  let runtime: BuiltStage | undefined;
  let asUser: string[] = [];
  let kubeconfig = '';

  const final = df.stages[df.stages.length - 1]!;
  const appDir = () => {
    assert.ok(runtime, 'the image was not built (see the build test)');
    return inRoot(runtime.root, runtime.workdir);
  };

  /** The runtime environment: the image's ENV on a clean slate, plus what a `docker run -e` would add. */
  const imageEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: runtime!.root, // "/" for a user without a passwd entry; not writable
    ...runtime!.env,
    ...extra,
  });

  /** ENTRYPOINT + args (args replace CMD, as with `docker run image args…`), from the runtime tree. */
  const start = (args: string[] | undefined, extra: Record<string, string> = {}): Proc => {
    const r = runtime!;
    const entry = r.entrypoint ?? [];
    const argv = [...entry, ...(args ?? r.cmd ?? [])].map((a, i) =>
      i === 0 && a === 'node'
        ? process.execPath
        : a.startsWith('/') && fs.existsSync(inRoot(r.root, a))
          ? inRoot(r.root, a)
          : a,
    );
    const full = [...asUser, ...argv];
    const child = spawn(full[0]!, full.slice(1), {
      cwd: inRoot(r.root, r.workdir),
      env: imageEnv(extra),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p: Proc = { child, out: [], exited: new Promise((res) => child.on('exit', (c) => res(c))) };
    child.stdout.on('data', (d: Buffer) => p.out.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => p.out.push(d.toString()));
    procs.push(p);
    return p;
  };

  const stop = async (p: Proc): Promise<number | null> => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
    p.child.kill('SIGTERM');
    const t = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
    const code = await p.exited;
    clearTimeout(t);
    return code;
  };

  /** Flags that keep a started process apart from other tests' adapters and ports. */
  const adapterFlags = async (id: string) => {
    const [health, metrics, temporalMetrics] = [await freePort(), await freePort(), await freePort()];
    return {
      health,
      metrics,
      flags: [
        '--health-addr',
        `127.0.0.1:${health}`,
        '--metrics-addr',
        `127.0.0.1:${metrics}`,
        '--temporal-metrics-addr',
        `127.0.0.1:${temporalMetrics}`,
        '--adapter-name',
        id,
        '--adapter-namespace',
        'kcm-system',
        '--task-queue',
        `tq-${id}`,
        '--lease-name',
        `lease-${id}`,
        '--lease-duration',
        '3s',
        '--active-poll-min',
        '200ms',
        '--active-poll-max',
        '2s',
      ],
    };
  };

  const controlPlaneEnv = () => {
    const env = testEnv();
    return {
      KUBECONFIG: kubeconfig,
      TEMPORAL_ADDRESS: env.temporalAddress,
      TEMPORAL_NAMESPACE: env.temporalNamespace,
      LOG_LEVEL: 'info',
    };
  };

  before(() => {
    fs.chmodSync(work, 0o755); // readable by the image's user
  });

  after(async () => {
    for (const p of procs) await stop(p).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('Dockerfile: multi-stage on a glibc Node base, numeric non-root USER, exec-form ENTRYPOINT, ports', () => {
    assert.ok(df.stages.length >= 2, 'a build stage and a runtime stage');
    for (const s of df.stages) {
      assert.doesNotMatch(s.base, /alpine|musl/i, `stage ${s.name ?? s.index}: Temporal's core bridge needs glibc`);
      // The render stage only builds the values renderer (WebAssembly) with Go; nothing of it runs but the module.
      if (s.name === 'render') assert.match(s.base, /^golang:[\w.-]+-(bookworm|trixie)$/, 'render stage: Debian Go');
      else assert.match(s.base, /^node:\d+[\w.-]*-(bookworm|trixie|bullseye)(-slim)?$/, `stage ${s.name}: Debian Node`);
    }
    const baseMajor = /^node:(\d+)/.exec(final.base)?.[1];
    assert.equal(
      baseMajor,
      process.versions.node.split('.')[0],
      "the image's Node major is the one these steps run with",
    );
    const build = df.stages.find((x) => x.name === 'build')!;
    const runs = build.instructions.filter((i) => i.op === 'RUN').map((i) => options(i.rest).rest);
    assert.ok(
      runs.some((r) => /\bnpm ci\b/.test(r)),
      'npm ci',
    );
    assert.ok(
      runs.some((r) => /\bnpm run build\b/.test(r)),
      'npm run build',
    );
    assert.ok(
      runs.some((r) => /\bnpm prune --omit=dev\b/.test(r)),
      'npm prune --omit=dev',
    );
    const finalCopies = final.instructions.filter((i) => i.op === 'COPY');
    assert.ok(finalCopies.length > 0);
    for (const c of finalCopies)
      assert.match(c.rest, /--from=/, `the runtime stage takes files only from the build stage: COPY ${c.rest}`);
    const userLine = final.instructions.filter((i) => i.op === 'USER').pop();
    const u = numericUser(userLine?.rest.trim());
    assert.ok(u, `USER must be numeric uid[:gid] (got ${JSON.stringify(userLine?.rest)})`);
    assert.notEqual(u.uid, 0, 'USER is not root');
    assert.notEqual(u.gid, 0, 'group is not root');
    const entry = final.instructions.filter((i) => i.op === 'ENTRYPOINT').pop();
    assert.ok(entry && entry.rest.trim().startsWith('['), 'ENTRYPOINT in exec form (signals reach node)');
    assert.deepEqual(commandOf(entry.rest), ['node', '/app/dist/src/cli.js']);
    const cmd = final.instructions.filter((i) => i.op === 'CMD').pop();
    assert.deepEqual(cmd && commandOf(cmd.rest), ['run']);
    const expose = final.instructions.filter((i) => i.op === 'EXPOSE').flatMap((i) => words(i.rest));
    assert.ok(expose.includes('8080') && expose.includes('8081'), `EXPOSE 8080 8081 (got ${expose.join(' ')})`);
    assert.ok(final.instructions.some((i) => i.op === 'LABEL' && /org\.opencontainers\.image\.title/.test(i.rest)));
  });

  it('.dockerignore keeps local state and secrets out of the build context', () => {
    const ignored = dockerignore(repo);
    for (const p of [
      'node_modules/zod/package.json',
      'dist/src/cli.js',
      '.git/config',
      '.testenv/test-1/kubeconfig',
      'test-artifacts/x.png',
      'test/unit/args.test.ts',
      'src/x.log',
    ])
      assert.ok(ignored(p), `${p} is excluded`);
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'src/cli.ts', 'scripts/bundle-workflows.ts'])
      assert.ok(!ignored(p), `${p} is in the context`);
  });

  it(
    'performs every stage: npm ci, npm run build, npm prune, then the runtime stage',
    { timeout: 20 * 60_000 },
    async (t) => {
      const t0 = Date.now();
      try {
        built = await performStages(df, repo, work, log);
      } finally {
        fs.mkdirSync(path.join(repo, 'test-artifacts'), { recursive: true });
        fs.writeFileSync(path.join(repo, 'test-artifacts', 'image-build.log'), log.join(''));
      }
      runtime = built[built.length - 1]!;
      t.diagnostic(
        `stages performed in ${((Date.now() - t0) / 1000).toFixed(1)} s (log: test-artifacts/image-build.log)`,
      );
      // The runtime tree is readable by the image's user, as the files of an image are.
      spawnSync('chmod', ['-R', 'a+rX', runtime.root]);
      const u = numericUser(runtime.user)!;
      asUser = process.getuid?.() === 0 ? userSwitch(u) : [];
      t.diagnostic(
        asUser.length ? `processes run as ${u.uid}:${u.gid} (setpriv)` : 'processes run as the current user',
      );
      // The kubeconfig as a read-only mount would give it.
      const kubeDir = path.join(runtime.root, 'kube');
      fs.mkdirSync(kubeDir, { recursive: true, mode: 0o755 });
      kubeconfig = path.join(kubeDir, 'config');
      fs.copyFileSync(testEnv().kubeconfig, kubeconfig);
      fs.chmodSync(kubeconfig, 0o444);
    },
  );

  it('the runtime tree: compiled CLI, prebuilt workflow bundle, production dependencies only, no sources', () => {
    const app = appDir();
    for (const f of [
      'package.json',
      'bin/ksm-flux',
      'dist/src/cli.js',
      'dist/src/worker.js',
      'dist/workflow-bundle.js',
      'node_modules/@temporalio/worker/package.json',
      'node_modules/@temporalio/core-bridge/package.json',
    ])
      assert.ok(fs.existsSync(path.join(app, f)), `${f} is in the image`);
    assert.match(fs.readFileSync(path.join(app, 'dist/workflow-bundle.js'), 'utf8'), /serviceSetWorkflow/);
    for (const f of ['src', 'test', 'scripts', 'tsconfig.json', 'package-lock.json', '.testenv', '.git'])
      assert.ok(!fs.existsSync(path.join(app, f)), `${f} is not in the image`);
    const stray: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|tsx|mts|cts)$/.test(e.name) && !/\.d\.[mc]?ts$/.test(e.name)) stray.push(p);
      }
    };
    walk(path.join(app, 'dist'));
    walk(path.join(app, 'bin'));
    assert.deepEqual(stray, [], 'no TypeScript sources in dist/ or bin/');

    const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
    for (const d of Object.keys(pkg.dependencies as Record<string, string>))
      assert.ok(fs.existsSync(path.join(app, 'node_modules', d, 'package.json')), `dependency ${d} is in the image`);
    for (const d of ['typescript', 'tsx', 'eslint', 'prettier', '@temporalio/testing', 'playwright-core'])
      assert.ok(!fs.existsSync(path.join(app, 'node_modules', d)), `devDependency ${d} is not in the image`);
    // Every package the lock file marks as needed only for development is gone.
    const lock = JSON.parse(fs.readFileSync(path.join(repo, 'package-lock.json'), 'utf8'));
    const devOnly = Object.entries(lock.packages as Record<string, { dev?: boolean }>)
      .filter(([p, v]) => p && v.dev)
      .map(([p]) => p)
      .filter((p) => fs.existsSync(path.join(app, p)));
    assert.deepEqual(devOnly, [], 'no dev-only packages from package-lock.json');
  });

  it('`--help` exits 0', async () => {
    const p = start(['--help']);
    const code = await p.exited;
    assert.equal(code, 0, p.out.join(''));
    assert.match(p.out.join(''), /Usage: ksm-flux <command>/);
    const v = start(['version']);
    assert.equal(await v.exited, 0, v.out.join(''));
    assert.match(v.out.join(''), /^\d+\.\d+\.\d+/);
  });

  it('the worker loads the prebuilt workflow bundle dist/workflow-bundle.js (and the native core bridge)', async () => {
    const app = appDir();
    const script =
      "const w = require(process.argv[1]); process.stdout.write(JSON.stringify(w.workflowSource())); require('@temporalio/core-bridge');";
    const argv = [...asUser, process.execPath, '-e', script, path.join(app, 'dist/src/worker.js')];
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: app, env: imageEnv(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      workflowBundle: { codePath: path.join(app, 'dist', 'workflow-bundle.js') },
    });
  });

  it(
    'the default command (`run`) is ready, serves ksm_flux_ metrics and reconciles a ServiceSet',
    { timeout: 180_000 },
    async () => {
      const { kube } = testEnv();
      const id = uniqueName('img');
      const { health, metrics, flags } = await adapterFlags(id);
      const [cmd] = runtime!.cmd ?? [];
      assert.equal(cmd, 'run');
      const p = start([cmd, ...flags], controlPlaneEnv());
      const output = () => p.out.join('').slice(-4000);
      await waitReady(p, `http://127.0.0.1:${health}/readyz`);
      assert.equal((await httpGet(`http://127.0.0.1:${health}/healthz`)).status, 200);
      const m = await httpGet(`http://127.0.0.1:${metrics}/metrics`);
      assert.equal(m.status, 200);
      assert.match(m.body, /^ksm_flux_/m);

      const ns = uniqueName('image');
      const smp = uniqueName('smp');
      await createNamespace(kube, ns);
      await createSmp(kube, { name: smp, adapterName: id, adapterNamespace: 'kcm-system' });
      await createHelmTemplate(kube, ns, 'chart');
      await createKubeconfigSecret(kube, ns, 'cluster1');
      await createServiceSet(kube, {
        namespace: ns,
        name: 'img',
        provider: smp,
        labels: { 'ksm.k0rdent.mirantis.com/adapter': id },
        services: [{ name: 'app', namespace: 'web', template: 'chart', version: '1.0.0' }],
      });
      const hr = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('img', 'web', 'app') };
      await eventually('HelmRelease from the image-built adapter', () => kube.get(paths.flux(hr)), 60_000).catch(
        (e: Error) => assert.fail(`${e.message}\n${output()}`),
      );
      await eventually(
        'ServiceSet status written',
        async () => (await getServiceSet(kube, ns, 'img'))?.status?.services?.length === 1,
        30_000,
      );
      assert.equal(await stop(p), 0, `stops cleanly on SIGTERM:\n${output()}`);
    },
  );

  it('`worker` is ready and serves ksm_flux_ metrics', { timeout: 120_000 }, async () => {
    const { health, metrics, flags } = await adapterFlags(uniqueName('imgw'));
    const p = start(['worker', ...flags], controlPlaneEnv());
    const output = () => p.out.join('').slice(-4000);
    await waitReady(p, `http://127.0.0.1:${health}/readyz`);
    const m = await httpGet(`http://127.0.0.1:${metrics}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.body, /^ksm_flux_/m);
    assert.equal(await stop(p), 0, `stops cleanly on SIGTERM:\n${output()}`);
  });
});
