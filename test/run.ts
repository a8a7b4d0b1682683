// The test command: builds or reuses the control plane, starts one for the whole run (global setup),
// runs node's test runner over the suites, always tears the control plane down, and prints
// a closing "N passed, N failed" line.
//
//   tsx test/run.ts            unit + integration (+ replay)
//   tsx test/run.ts --unit     unit and replay only (no servers)
//   tsx test/run.ts --e2e      end to end with real Flux controllers (prints the time of each scenario)
//   tsx test/run.ts [files…]   only these files (integration env still started; with Flux when they are all
//                              under test/e2e/)
//
// An e2e file that starts with the line `// testenv: kcm` runs against a control plane with the real kcm
// controller manager too (testenv up --kcm). kcm owns StateManagementProvider status and validates every
// ServiceTemplate, which the other e2e files play themselves, so those files get their own plane (kcm-free)
// and the kcm files run after them on a second one.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bundleTo } from '../scripts/bundle-workflows';
import { ensureBuilt, suiteTargets } from '../src/testenv/build';
import { stop, type Started } from '../src/testenv/proc';
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

function runNodeTests(
  files: string[],
  env: NodeJS.ProcessEnv,
  tapFile: string,
  passThrough: string[] = [],
): Promise<number> {
  const args = [
    ...passThrough,
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    // A hung test (e.g. a deadlocked workflow) fails instead of stalling the run.
    '--test-timeout=300000',
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

/** Whether an e2e file asks for the real kcm (first line `// testenv: kcm`). */
function needsKcm(file: string): boolean {
  try {
    return /^\/\/ testenv: kcm\b/.test(fs.readFileSync(path.resolve(root, file), 'utf8'));
  } catch {
    return false;
  }
}

function tapCounts(file: string): { pass: number; fail: number; skipped: number } {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const num = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { pass: num('pass'), fail: num('fail'), skipped: num('skipped') + num('todo') };
}

/** Top-level tests (e2e scenarios) of the TAP file with their durations: `ok N - name` then `duration_ms: X`. */
function tapDurations(file: string): { name: string; result: 'ok' | 'FAIL' | 'skip'; ms: number }[] {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const out: { name: string; result: 'ok' | 'FAIL' | 'skip'; ms: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    // Scenarios are the tests one level inside each file's describe block (4 spaces of TAP indentation).
    const m = /^    (ok|not ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*)?$/.exec(lines[i]!);
    if (!m) continue;
    for (let j = i + 1; j < Math.min(lines.length, i + 12); j++) {
      const d = /^ {6}duration_ms: ([\d.]+)/.exec(lines[j]!);
      if (d) {
        out.push({ name: m[2]!, result: m[3] ? 'skip' : m[1] === 'ok' ? 'ok' : 'FAIL', ms: Number(d[1]) });
        break;
      }
      if (/^ {0,4}\S/.test(lines[j]!)) break;
    }
  }
  return out;
}

function formatMs(ms: number): string {
  return ms >= 60_000
    ? `${Math.floor(ms / 60_000)}m${((ms % 60_000) / 1000).toFixed(1)}s`
    : `${(ms / 1000).toFixed(1)}s`;
}

/** Extra control planes the e2e tests start ("target clusters") record their processes; stop any left over. */
async function stopTargets(dir: string): Promise<void> {
  const targets = path.join(dir, 'targets');
  if (!fs.existsSync(targets)) return;
  for (const d of fs.readdirSync(targets)) {
    const f = path.join(targets, d, 'procs.json');
    if (!fs.existsSync(f)) continue;
    try {
      const procs = JSON.parse(fs.readFileSync(f, 'utf8')) as Started[];
      for (const p of [...procs].reverse()) await stop(p, 2000);
    } catch {
      /* best effort */
    }
  }
}

/** Copies every `logs/` directory under DIR (control plane, Flux, target clusters) to DEST. */
function keepLogs(dir: string, dest: string): void {
  const walk = (d: string, rel: string, depth: number) => {
    if (depth > 3 || !fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.endsWith('-data') || e.name.endsWith('.git')) continue;
      const p = path.join(d, e.name);
      if (e.name === 'logs') fs.cpSync(p, path.join(dest, rel), { recursive: true });
      else walk(p, path.join(rel, e.name), depth + 1);
    }
  };
  try {
    walk(dir, '.', 0);
    if (fs.existsSync(dest)) process.stderr.write(`[test] e2e logs kept in ${path.relative(root, dest)}\n`);
  } catch (e) {
    process.stderr.write(`[test] could not keep the e2e logs: ${(e as Error).message}\n`);
  }
}

async function main() {
  const wallStart = Date.now();
  const argv = process.argv.slice(2);
  const unitOnly = argv.includes('--unit');
  const explicit = argv.filter((a) => !a.startsWith('--'));
  // Explicit files that are all end-to-end tests need the Flux controllers too.
  const e2e =
    argv.includes('--e2e') ||
    (explicit.length > 0 &&
      explicit.every((f) => path.relative(root, path.resolve(root, f)).startsWith(`test${path.sep}e2e${path.sep}`)));
  const unit = [...findTests('test/unit'), ...findTests('test/replay')];
  const integration = findTests('test/integration');
  const files = explicit.length ? explicit : e2e ? findTests('test/e2e') : unitOnly ? unit : [...unit, ...integration];
  const needsServers = files.some((f) => !f.startsWith('test/unit') && !f.startsWith('test/replay'));
  const artifacts = path.join(root, 'test-artifacts');
  fs.mkdirSync(artifacts, { recursive: true });

  const baseEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  // One phase per control plane: e2e files that need kcm run after the others, on a plane with kcm.
  const phases: { files: string[]; kcm: boolean }[] = e2e
    ? [
        { files: files.filter((f) => !needsKcm(f)), kcm: false },
        { files: files.filter(needsKcm), kcm: true },
      ].filter((p) => p.files.length > 0)
    : [{ files, kcm: false }];
  const taps: string[] = [];
  let dir = '';
  let code = 0;
  let bundle: string | undefined;
  const cleanup = async (phaseCode: number) => {
    if (!needsServers || !dir) return;
    if (e2e) {
      await stopTargets(dir);
      // Controller, apiserver and target-cluster logs are what explains an e2e failure: keep them.
      if (phaseCode !== 0 || process.env.KSM_FLUX_KEEP_LOGS)
        keepLogs(
          dir,
          path.join(artifacts, `e2e-logs-${process.pid}${path.basename(dir).includes('kcm') ? '-kcm' : ''}`),
        );
    }
    await down({ dir, quiet: true }).catch(() => undefined);
  };
  process.on('SIGINT', () => void cleanup(1).then(() => process.exit(130)));
  process.on('SIGTERM', () => void cleanup(1).then(() => process.exit(143)));
  if (needsServers) {
    const kcm = phases.some((p) => p.kcm);
    // The demo's e2e test runs the real kcm too: an e2e run builds it either way.
    await ensureBuilt(
      e2e ? suiteTargets.e2e.filter((t) => t !== 'kcm' || kcm || argv.includes('--e2e')) : suiteTargets.integration,
    );
  }
  // The values renderer (WebAssembly) is needed by unit tests too.
  else await ensureBuilt(['render']);
  for (const [i, phase] of phases.entries()) {
    let env = baseEnv;
    const tap = path.join(artifacts, `results-${process.pid}${i ? `-${i}` : ''}.tap`);
    taps.push(tap);
    dir = path.join(root, '.testenv', `${e2e ? 'e2e' : 'test'}-${process.pid}${phase.kcm ? '-kcm' : ''}`);
    let phaseCode = 1;
    try {
      if (needsServers) {
        const t0 = Date.now();
        // KSM_FLUX_TEMPORAL=postgres runs the suites on the production Temporal server instead of the dev server.
        const temporal = process.env.KSM_FLUX_TEMPORAL === 'postgres' ? 'postgres' : 'dev';
        const s = await up({ dir, flux: e2e, kcm: phase.kcm, temporal });
        process.stderr.write(
          `[test] control plane${phase.kcm ? ' with kcm' : ''} up in ${Date.now() - t0} ms (${dir})` +
            `${s.kcmControllersMs ? `; kcm's ClusterDeployment/MultiClusterService controllers ran after ${s.kcmControllersMs} ms` : ''}\n`,
        );
        env = { ...env, ...envOf(s), KSM_FLUX_TESTENV_DIR: dir };
        if (!bundle) {
          // Bundle the workflows once for every worker the tests start.
          bundle = path.join(artifacts, 'workflow-bundle.js');
          const t1 = Date.now();
          await bundleTo(bundle);
          process.stderr.write(`[test] workflow bundle in ${Date.now() - t1} ms\n`);
        }
        env.KSM_FLUX_WORKFLOW_BUNDLE = bundle;
      }
      // e.g. --test-name-pattern=Conflict runs one e2e scenario (the suite's setup still runs).
      phaseCode = await runNodeTests(
        phase.files,
        env,
        tap,
        argv.filter((a) => a.startsWith('--test-name-pattern=')),
      );
    } finally {
      await cleanup(phaseCode);
    }
    if (phaseCode !== 0) code = phaseCode;
  }
  const counts = taps.map(tapCounts);
  const c = {
    pass: counts.reduce((n, x) => n + x.pass, 0),
    fail: counts.reduce((n, x) => n + x.fail, 0),
    skipped: counts.reduce((n, x) => n + x.skipped, 0),
  };
  if (e2e) {
    const rows = taps.flatMap(tapDurations);
    if (rows.length) {
      const w = Math.max(...rows.map((r) => r.name.length));
      process.stdout.write(`\nscenario times:\n`);
      for (const r of rows)
        process.stdout.write(`  ${r.result.padEnd(4)}  ${r.name.padEnd(w)}  ${formatMs(r.ms).padStart(8)}\n`);
    }
    process.stdout.write(`e2e wall clock: ${formatMs(Date.now() - wallStart)}\n`);
  }
  process.stdout.write(`\n${c.pass} passed, ${c.fail} failed${c.skipped ? `, ${c.skipped} skipped` : ''}\n`);
  process.exit(code !== 0 || c.fail > 0 ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
