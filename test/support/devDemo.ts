// Runs `ksm-flux dev` as a user would (a child process), waits for its guide, and checks that Ctrl-C
// stops every process it started.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../../src/testenv/proc';

const bin = path.resolve(__dirname, '..', '..', 'bin', 'ksm-flux');

export interface DemoRun {
  dir: string;
  child: ChildProcess;
  output: () => string;
  /** Every pid the demo's control planes recorded. */
  pids: () => number[];
  kubectl: (args: string[], kubeconfig?: string) => string;
  /** The demo's env file (KUBECONFIG, TEMPORAL_ADDRESS, …) as variables, for running `ksm-flux` against it. */
  env: () => Record<string, string>;
  /** Sends SIGINT and waits for the exit code. */
  interrupt: () => Promise<number>;
}

export async function startDemo(args: string[], readyTimeoutMs: number): Promise<DemoRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-demo-'));
  fs.rmSync(dir, { recursive: true });
  const env = { ...process.env };
  // A user's shell: no test-run environment.
  for (const k of [
    'KUBECONFIG',
    'TEMPORAL_ADDRESS',
    'TEMPORAL_NAMESPACE',
    'TEMPORAL_UI_URL',
    'KSM_FLUX_TESTENV_DIR',
    'KSM_FLUX_WORKFLOW_BUNDLE',
  ])
    delete env[k];
  const child = spawn(process.execPath, [bin, 'dev', '--dir', dir, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
  const deadline = Date.now() + readyTimeoutMs;
  while (!out.includes('Press Ctrl-C to stop everything.')) {
    if (child.exitCode !== null) assert.fail(`ksm-flux dev exited early (${child.exitCode}):\n${out.slice(-4000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGINT');
      assert.fail(`ksm-flux dev not ready after ${readyTimeoutMs} ms:\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const kubectlBin = /alias kubectl=(\S+)/.exec(out)?.[1] ?? 'kubectl';
  const mgmtKubeconfig = /export KUBECONFIG=(\S+)/.exec(out)?.[1] ?? '';
  const pids = () => {
    const found: number[] = [];
    const walk = (d: string, depth: number) => {
      if (depth > 3 || !fs.existsSync(d)) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory() && !e.name.endsWith('-data')) walk(p, depth + 1);
        else if (e.name === 'state.json' || e.name === 'procs.json') {
          const j = JSON.parse(fs.readFileSync(p, 'utf8')) as { procs?: { pid: number }[] } | { pid: number }[];
          found.push(...(Array.isArray(j) ? j : (j.procs ?? [])).map((x) => x.pid));
        }
      }
    };
    walk(dir, 0);
    return found;
  };
  return {
    dir,
    child,
    output: () => out,
    pids,
    env: () =>
      Object.fromEntries(
        fs
          .readFileSync(path.join(dir, 'env'), 'utf8')
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      ),
    kubectl: (a, kubeconfig = mgmtKubeconfig) =>
      execFileSync(kubectlBin, ['--kubeconfig', kubeconfig, ...a], { encoding: 'utf8' }),
    interrupt: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

export async function assertAllStopped(run: DemoRun, pids: number[]): Promise<void> {
  assert.ok(pids.length >= 4, `the demo recorded its processes: ${pids.join(',')}`);
  const alive = pids.filter(isAlive);
  assert.deepEqual(alive, [], 'no process of the demo left running');
  assert.ok(!fs.existsSync(run.dir) || !fs.existsSync(path.join(run.dir, 'state.json')), 'state removed');
}
