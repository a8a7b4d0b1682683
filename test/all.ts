// Everything CI runs, in phases with their own control planes: unit + replay + integration (Flux status played
// by the tests), end to end with the real Flux controllers (and the browser), then the quick fault suite (our
// processes killed, Temporal and the apiserver stopped mid-burst: test/faults). Prints one closing
// "N passed, N failed" line for all.
//
// On a machine where the tools are not built yet: the end-to-end tools' modules download beside the checks, the
// integration phase's tools are built first at full priority, and the end-to-end tools (Flux, helm, kcm) compile in
// the background at nice 19 while the integration phase runs, on what its tests leave idle; the e2e phase waits
// for that build (the build lock) if it is still going.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildInBackground, ensureBuilt, missingTargets, suiteTargets } from '../src/testenv/build';

const root = path.resolve(__dirname, '..');

function phase(
  name: string,
  args: string[],
  script = 'test/run.ts',
): Promise<{ code: number; passed: number; failed: number }> {
  process.stderr.write(`\n[test:all] phase ${name}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), script, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let last = '';
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      last = (last + d.toString()).slice(-4000);
    });
    child.on('exit', (code) => {
      const m = /^(\d+) passed, (\d+) failed/m.exec(
        last
          .split('\n')
          .reverse()
          .find((l) => /^\d+ passed, \d+ failed/.test(l)) ?? '',
      );
      resolve({ code: code ?? 1, passed: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? (code === 0 ? 0 : 1)) });
    });
  });
}

function checks(): Promise<boolean> {
  process.stderr.write('\n[test:all] typecheck and lint\n');
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'check'], { cwd: root, stdio: 'inherit' });
    child.on('exit', (code) => resolve(code === 0));
  });
}

/** Builds the e2e tools in the background once the integration phase's are in; says when it ends. */
function e2eToolsInBackground(t0: number): void {
  const missing = missingTargets(suiteTargets.e2e);
  if (!missing.length) return;
  const log = path.join(root, 'test-artifacts', 'build-e2e-tools.log');
  fs.mkdirSync(path.dirname(log), { recursive: true });
  process.stderr.write(
    `[test:all] building ${missing.join(', ')} in the background at nice 19 (log: ${path.relative(root, log)})\n`,
  );
  void buildInBackground(missing, log).then((code) =>
    process.stderr.write(
      `[test:all] background build of ${missing.join(', ')} ${code === 0 ? 'done' : `FAILED (exit ${code}; the e2e phase builds what is missing)`} at ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
    ),
  );
}

async function main() {
  const t0 = Date.now();
  // Module downloads are network-bound: the e2e tools' start now, beside the checks.
  const e2eMissing = missingTargets(suiteTargets.e2e);
  if (e2eMissing.length) {
    fs.mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
    void buildInBackground(e2eMissing, path.join(root, 'test-artifacts', 'fetch-e2e-modules.log'), { fetchOnly: true });
  }
  const lintOk = await checks();
  try {
    await ensureBuilt(suiteTargets.integration);
  } catch (e) {
    process.stderr.write(`[test:all] building the integration tools failed: ${(e as Error).message}\n`);
    process.stdout.write('\n0 passed, 1 failed\n');
    process.exit(1);
  }
  process.stderr.write(`[test:all] integration tools in at ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  e2eToolsInBackground(t0);
  const a = await phase('unit + replay + integration', []);
  const b = await phase('end to end (real Flux controllers)', ['--e2e']);
  const c = await phase('faults (quick)', ['--quick'], 'test/faults/run.ts');
  const passed = a.passed + b.passed + c.passed;
  const failed = a.failed + b.failed + c.failed + (lintOk ? 0 : 1);
  if (!lintOk) process.stderr.write('[test:all] typecheck or lint failed\n');
  process.stderr.write(`[test:all] finished in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  process.exit(lintOk && a.code === 0 && b.code === 0 && c.code === 0 && failed === 0 ? 0 : 1);
}

void main();
