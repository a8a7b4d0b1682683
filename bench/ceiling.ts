// The ceiling on its own (also a section of `npm run bench`): Temporal alone on each backend, workflow starts/s and
// signals/s (bench/sections/ceiling.ts). Prints a markdown table and writes bench/results/ceiling-<time>.json.
// Not part of npm test.
// Usage: npx tsx bench/ceiling.ts [--starts 1000] [--signals 2000] [--concurrency 64] [--backends dev,postgres]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parseArgs } from '../src/args';
import { ensureBuilt, type BuildTarget } from '../src/testenv/build';
import { ceilingMarkdown, measureCeiling, type Backend, type CeilingResult } from './sections/ceiling';

const { flags } = parseArgs(process.argv.slice(2), {
  starts: 'string',
  signals: 'string',
  concurrency: 'string',
  backends: 'string',
});
const N = Number(flags.starts ?? 1000);
const M = Number(flags.signals ?? 2000);
const C = Number(flags.concurrency ?? 64);
const backends = String(flags.backends ?? 'dev,postgres').split(',') as Backend[];
for (const b of backends) if (b !== 'dev' && b !== 'postgres') throw new Error(`unknown backend ${b}`);
if (!(N > 0 && M >= 0 && C > 0)) throw new Error('--starts and --concurrency must be positive, --signals ≥ 0');

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const targets: BuildTarget[] = ['temporal'];
  if (backends.includes('postgres')) targets.push('temporal-server');
  await ensureBuilt(targets);
  // The machine may be shared: the load around the run says how much the figures can be trusted.
  const loadBefore = os.loadavg()[0]!;
  const results: CeilingResult[] = [];
  for (const b of backends) results.push(await measureCeiling(b, N, M, C));
  const loadAfter = os.loadavg()[0]!;
  process.stdout.write(`${ceilingMarkdown(results, [loadBefore, loadAfter])}\n`);
  const out = path.join(__dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, `ceiling-${Date.now()}.json`);
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverage: { before: loadBefore, after: loadAfter },
    command: `npx tsx bench/ceiling.ts ${process.argv.slice(2).join(' ')}`.trim(),
    results,
  };
  fs.writeFileSync(file, JSON.stringify(report, null, 2));
  process.stderr.write(`[ceiling] JSON in ${path.relative(process.cwd(), file)}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
