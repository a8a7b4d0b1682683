// Summarises V8 CPU profiles (`npm run bench -- --profile DIR` writes DIR/<process>/*.cpuprofile, one per
// thread of each watcher and worker process): self time by function and by package/file, so a bottleneck has
// a name. Profiles under 0.5 s of CPU (tsx's loader thread, idle threads) are left out.
//   npx tsx bench/profile.ts DIR|FILE.cpuprofile [--top 25]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from '../src/args';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package under node_modules, node's internals, V8, or a file of ours. */
export function placeOf(url: string): string {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : url.replace(/^file:\/\//, '');
}

export function summarise(p: Profile): {
  totalMs: number;
  byFunction: Map<string, number>;
  byPlace: Map<string, number>;
} {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let totalMs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    if (!n) continue;
    const f = n.callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    totalMs += ms;
    const place = placeOf(f.url);
    const fn = `${f.functionName || '(anonymous)'} ${place}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    byPlace.set(place, (byPlace.get(place) ?? 0) + ms);
  }
  return { totalMs, byFunction, byPlace };
}

function top(m: Map<string, number>, total: number, n: number): string {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, v]) => `| ${(v / 1000).toFixed(2)} s | ${((100 * v) / total).toFixed(1)} % | ${k.replace(/\|/g, '\\|')} |`,
    )
    .join('\n');
}

if (require.main === module) {
  const { flags, positionals } = parseArgs(process.argv.slice(2), { top: 'string' });
  const n = Number(flags.top ?? 25);
  const files = positionals.flatMap((a) =>
    fs.statSync(a).isDirectory()
      ? (fs.readdirSync(a, { recursive: true }) as string[])
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => path.join(a, f))
      : [a],
  );
  if (!files.length) throw new Error('usage: npx tsx bench/profile.ts DIR|FILE.cpuprofile [--top 25]');
  for (const f of files) {
    const p = JSON.parse(fs.readFileSync(f, 'utf8')) as Profile;
    const s = summarise(p);
    if (s.totalMs < 500 && files.length > 1) continue;
    const wall = (p.endTime - p.startTime) / 1e6;
    process.stdout.write(
      `\n## ${path.relative(process.cwd(), f)}: ${(s.totalMs / 1000).toFixed(1)} s of CPU samples (idle aside) in ${wall.toFixed(0)} s\n\n` +
        `| self | share | package or file |\n| ---: | ---: | --- |\n${top(s.byPlace, s.totalMs, n)}\n\n` +
        `| self | share | function |\n| ---: | ---: | --- |\n${top(s.byFunction, s.totalMs, n)}\n`,
    );
  }
}
