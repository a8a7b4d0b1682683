// docker-compose.yml checked against the real CLI and configuration (no Docker engine here): every command
// is a ksm-flux command with working `--help`, every flag and variable is one the CLI knows, the values pass
// the start-up validation, and the healthcheck asks /readyz on the port the process is told to serve it on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { parseArgs } from '../../src/args';
import { bareTrueFlags, configFlags, loadConfig, optionHelp } from '../../src/config';
import { devServerSearchAttributeFlags } from '../../src/workflow/searchAttributes';

const repo = path.resolve(__dirname, '..', '..');
const bin = path.join(repo, 'bin', 'ksm-flux');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { type?: string; source?: string; target?: string; read_only?: boolean })[];
  ports?: (string | number | { target?: number; published?: string | number })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  user?: string;
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = YAML.parse(fs.readFileSync(path.join(repo, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as Compose;

const adapterServices = ['ksm-flux-watcher', 'ksm-flux-worker'] as const;
const knownFlags = new Set(optionHelp.map((o) => o.flag));
const knownEnv = new Set([...optionHelp.map((o) => o.env), 'KUBECONFIG']);

function svc(name: string): Service {
  const s = compose.services[name];
  assert.ok(s, `service ${name} exists`);
  return s;
}

function commandOf(s: Service): string[] {
  assert.ok(Array.isArray(s.command), 'command in list form (no shell in between)');
  return s.command.map(String);
}

function envOf(s: Service): Record<string, string> {
  const e = s.environment ?? {};
  if (Array.isArray(e))
    return Object.fromEntries(e.map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Short volume syntax `source:target[:mode]`; the source may be `${VAR:-default}`. */
function volumesOf(s: Service): { source: string; target: string; readOnly: boolean }[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target ?? '', readOnly: !!v.read_only };
    const m = /^(\$\{[^}]*\}|[^:]+):([^:]+)(?::(ro|rw))?$/.exec(v);
    assert.ok(m, `volume ${v}`);
    return { source: m[1]!, target: m[2]!, readOnly: m[3] === 'ro' };
  });
}

function portsOf(s: Service): number[] {
  return (s.ports ?? []).map((p) =>
    typeof p === 'object' ? Number(p.target) : Number(String(p).split(':').pop()!.split('/')[0]),
  );
}

/** The ENV lines of the Dockerfile's final stage (the image's defaults under the compose environment). */
function imageEnv(): Record<string, string> {
  const text = fs.readFileSync(path.join(repo, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const finalStage = text.split(/^FROM /m).pop()!;
  const out: Record<string, string> = {};
  for (const line of finalStage.split('\n').filter((l) => /^ENV\s/.test(l)))
    for (const [, k, v] of line.slice(4).matchAll(/(\w+)=("[^"]*"|\S*)/g)) out[k!] = v!.replace(/^"|"$/g, '');
  return out;
}

function runCli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, out }));
  });
}

describe('docker-compose.yml', () => {
  it('has the Temporal dev server with its Web UI, a watcher and a worker', () => {
    for (const name of ['temporal', ...adapterServices]) svc(name);
  });

  it('temporal: the official CLI image, dev server with Web UI on all interfaces, SQLite on a volume', () => {
    const t = svc('temporal');
    assert.match(t.image ?? '', /^temporalio\/temporal:\d+\.\d+\.\d+$/, 'the Temporal CLI image, pinned');
    const cmd = commandOf(t);
    assert.deepEqual(cmd.slice(0, 2), ['server', 'start-dev']);
    const flag = (f: string) => (cmd.includes(f) ? cmd[cmd.indexOf(f) + 1] : undefined);
    assert.equal(flag('--ip'), '0.0.0.0');
    assert.equal(flag('--ui-ip'), '0.0.0.0');
    assert.ok(!cmd.includes('--headless'), 'the Web UI is on');
    const ports = portsOf(t);
    assert.ok(ports.includes(7233) && ports.includes(8233), `ports 7233 and 8233 (got ${ports.join(', ')})`);
    assert.equal(flag('--port') ?? '7233', '7233');
    assert.equal(flag('--ui-port') ?? '8233', '8233');
    const db = flag('--db-filename');
    assert.ok(db, 'a database file (not in memory)');
    const vol = volumesOf(t).find((v) => db.startsWith(`${v.target.replace(/\/$/, '')}/`));
    assert.ok(vol, `${db} is on a volume`);
    assert.ok(compose.volumes && vol.source in compose.volumes, `named volume ${vol.source} is declared`);
    assert.ok(t.healthcheck?.test, 'a healthcheck, so the adapter can wait for it');
  });

  it("temporal: registers ksm-flux's search attributes at start, exactly as the test environment does", () => {
    const cmd = commandOf(svc('temporal'));
    const pairs = (args: string[]) => args.flatMap((a, i) => (a === '--search-attribute' ? [args[i + 1]] : [])).sort();
    assert.deepEqual(pairs(cmd), pairs(devServerSearchAttributeFlags()));
  });

  for (const name of adapterServices) {
    describe(name, () => {
      it('is built from the Dockerfile', () => {
        const s = svc(name);
        const build = typeof s.build === 'string' ? { context: s.build } : s.build;
        assert.ok(build, 'build section');
        const file = path.resolve(repo, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
        assert.equal(file, path.join(repo, 'Dockerfile'));
        assert.ok(s.image, 'tags the image it builds');
        assert.ok(s.user === undefined || !/^0(:|$)|^root/.test(s.user), 'not root');
      });

      it('runs a real ksm-flux command with flags the CLI knows, whose values pass validation', async () => {
        const s = svc(name);
        const cmd = commandOf(s);
        const expected = name === 'ksm-flux-watcher' ? 'watcher' : 'worker';
        assert.equal(cmd[0], expected);
        const help = await runCli([cmd[0], '--help']);
        assert.equal(help.code, 0, help.out);
        for (const a of cmd.slice(1).filter((x) => x.startsWith('--'))) {
          const f = a.split('=')[0]!;
          assert.ok(knownFlags.has(f), `${f} is a ksm-flux option`);
          assert.ok(help.out.includes(f), `${f} appears in \`${cmd[0]} --help\``);
        }
        const { positionals, flags } = parseArgs(cmd, configFlags, bareTrueFlags);
        assert.deepEqual(positionals, [expected], 'no stray arguments');
        assert.doesNotThrow(() => loadConfig(flags, { ...imageEnv(), ...envOf(s) }));
      });

      it('sets only variables ksm-flux reads, pointing at the temporal service and a read-only kubeconfig', () => {
        const s = svc(name);
        const env = envOf(s);
        for (const k of Object.keys(env)) assert.ok(knownEnv.has(k), `${k} is a ksm-flux variable`);
        const temporalCmd = commandOf(svc('temporal'));
        const port = temporalCmd.includes('--port') ? temporalCmd[temporalCmd.indexOf('--port') + 1] : '7233';
        assert.equal(env.TEMPORAL_ADDRESS, `temporal:${port}`);
        const ns = temporalCmd.includes('--namespace')
          ? temporalCmd[temporalCmd.indexOf('--namespace') + 1]
          : 'default';
        assert.equal(env.TEMPORAL_NAMESPACE, ns);
        assert.equal(env.KUBECONFIG, '/kube/config');
        const kube = volumesOf(s).find((v) => v.target === env.KUBECONFIG);
        assert.ok(kube, 'the kubeconfig is mounted');
        assert.ok(kube.readOnly, 'read-only');
        assert.equal(kube.source, '${KUBECONFIG_FILE:-~/.kube/config}');
        const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
        assert.ok(deps.includes('temporal'), 'depends on temporal');
      });

      it('health-checks /readyz with node on the configured health port', async () => {
        const s = svc(name);
        const test = s.healthcheck?.test;
        assert.ok(Array.isArray(test), 'healthcheck test in list form');
        assert.equal(test[0], 'CMD', 'exec form: the image has no curl, node does the request');
        assert.equal(test[1], 'node');
        const script = test.slice(2).join(' ');
        const url = /http:\/\/(127\.0\.0\.1|localhost):(\d+)\/readyz/.exec(script);
        assert.ok(url, `a request to /readyz on loopback in ${script}`);
        const { flags } = parseArgs(commandOf(s), configFlags, bareTrueFlags);
        const cfg = loadConfig(flags, { ...imageEnv(), ...envOf(s) });
        assert.notEqual(cfg.healthAddr, '0', 'the health endpoint is on');
        const [host, port] = [
          cfg.healthAddr.slice(0, cfg.healthAddr.lastIndexOf(':')),
          cfg.healthAddr.split(':').pop(),
        ];
        assert.equal(port, url[2], `healthcheck port = --health-addr ${cfg.healthAddr}`);
        assert.ok(['', '0.0.0.0', '127.0.0.1', 'localhost', '[::]'].includes(host), 'reachable on loopback');

        // The check itself: exit 0 on 200, 1 on 503 and when nothing listens.
        const argsFor = (p: number) => test.slice(2).map((a) => a.replace(`:${url[2]}/`, `:${p}/`));
        const runCheck = (p: number) =>
          new Promise<number>((resolve) => {
            const child = spawn(process.execPath, argsFor(p), { stdio: 'ignore' });
            child.on('exit', (c) => resolve(c ?? -1));
          });
        let status = 200;
        const server = http.createServer((req, res) => {
          assert.equal(req.url, '/readyz');
          res.writeHead(status).end();
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        const p = (server.address() as net.AddressInfo).port;
        try {
          assert.equal(await runCheck(p), 0, 'healthy on 200');
          status = 503;
          assert.equal(await runCheck(p), 1, 'unhealthy on 503');
        } finally {
          await new Promise((r) => server.close(r));
        }
        assert.equal(await runCheck(p), 1, 'unhealthy when nothing listens');
      });
    });
  }
});
