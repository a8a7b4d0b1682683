// The test command: builds or reuses the control plane, starts one for the whole run (global setup),
// runs node's test runner over the suites, always tears the control plane down, and prints
// a closing "N passed, N failed" line.
//
//   tsx test/run.ts            unit + integration (+ replay)
//   tsx test/run.ts --unit     unit and replay only (no servers)
//   tsx test/run.ts --e2e      end to end with real Flux controllers
//   tsx test/run.ts [files…]   only these files (integration env still started)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bundleTo } from '../scripts/bundle-workflows';
import { ensureBuilt } from '../src/testenv/build';
import { down, envOf, up } from '../src/testenv/testenv';

const root = path.resolve(__dirname, '..');

function findTests(dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findTests(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

function runNodeTests(files: string[], env: NodeJS.ProcessEnv, tapFile: string): Promise<number> {
  const args = [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

function tapCounts(file: string): { pass: number; fail: number; skipped: number } {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const num = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { pass: num('pass'), fail: num('fail'), skipped: num('skipped') + num('todo') };
}

async function main() {
  const argv = process.argv.slice(2);
  const unitOnly = argv.includes('--unit');
  const e2e = argv.includes('--e2e');
  const explicit = argv.filter((a) => !a.startsWith('--'));
  const unit = [...findTests('test/unit'), ...findTests('test/replay')];
  const integration = findTests('test/integration');
  const files = explicit.length ? explicit : e2e ? findTests('test/e2e') : unitOnly ? unit : [...unit, ...integration];
  const needsServers = files.some((f) => !f.startsWith('test/unit') && !f.startsWith('test/replay'));
  const artifacts = path.join(root, 'test-artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  const tap = path.join(artifacts, `results-${process.pid}.tap`);

  let env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  const dir = path.join(root, '.testenv', e2e ? `e2e-${process.pid}` : `test-${process.pid}`);
  let code = 1;
  const cleanup = async () => {
    if (needsServers) await down({ dir, quiet: true }).catch(() => undefined);
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    if (needsServers) {
      await ensureBuilt(
        e2e ? ['crds', 'etcd', 'k8s', 'temporal', 'flux', 'helm'] : ['crds', 'etcd', 'k8s', 'temporal'],
      );
      const t0 = Date.now();
      const s = await up({ dir, flux: e2e });
      process.stderr.write(`[test] control plane up in ${Date.now() - t0} ms (${dir})\n`);
      env = { ...env, ...envOf(s), KSM_FLUX_TESTENV_DIR: dir };
    }
    if (needsServers) {
      // Bundle the workflows once for every worker the tests start.
      const bundle = path.join(artifacts, 'workflow-bundle.js');
      const t1 = Date.now();
      await bundleTo(bundle);
      process.stderr.write(`[test] workflow bundle in ${Date.now() - t1} ms\n`);
      env.KSM_FLUX_WORKFLOW_BUNDLE = bundle;
    }
    code = await runNodeTests(files, env, tap);
  } finally {
    await cleanup();
  }
  const c = tapCounts(tap);
  process.stdout.write(`\n${c.pass} passed, ${c.fail} failed${c.skipped ? `, ${c.skipped} skipped` : ''}\n`);
  process.exit(code !== 0 || c.fail > 0 ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
