// Everything CI runs, in phases with their own control planes: unit + replay + integration (Flux status played
// by the tests), end to end with the real Flux controllers (and the browser), then the quick fault suite (our
// processes killed, Temporal and the apiserver stopped mid-burst: test/faults). Prints one closing
// "N passed, N failed" line for all.
import { spawn } from 'node:child_process';
import path from 'node:path';

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

async function main() {
  const t0 = Date.now();
  const lintOk = await checks();
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
