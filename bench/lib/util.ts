// Small helpers shared by the benchmark sections: bounded concurrency, percentiles, process figures from /proc.
import fs from 'node:fs';
import os from 'node:os';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const say = (m: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** Runs fn(0..count-1) with at most `limit` calls in flight; resolves with the elapsed milliseconds. */
export async function pool(count: number, limit: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, count)) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
  return performance.now() - t0;
}

/** Nearest-rank percentile of unsorted samples (p in 0..100). */
export function percentile(samples: number[], p: number): number {
  if (!samples.length) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const load1 = () => os.loadavg()[0]!;

/** Figures of one process: CPU seconds used so far (user + system), resident set now and its peak. */
export interface ProcFigures {
  cpuSeconds: number;
  rssMiB: number;
  peakRssMiB: number;
}

// Linux reports CPU time in clock ticks; USER_HZ is 100 on every architecture Node runs on.
const TICKS = 100;

export function procFigures(pid: number): ProcFigures | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(rest[11]) + Number(rest[12])) / TICKS;
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { cpuSeconds, rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

export const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : 'n/a');
export const secs = (x: number) => (Number.isFinite(x) ? `${(x / 1000).toFixed(1)} s` : 'n/a');
export const num = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

export function table(head: string[], rows: (string | number)[][], align?: ('l' | 'r')[]): string {
  const sep = head.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---'));
  return [head, sep, ...rows.map((r) => r.map(String))].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** A duration flag: 90s, 3m, 500ms, or plain milliseconds. */
export function durationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new Error(`not a duration: ${v}`);
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] ?? 1);
}

/**
 * CPU seconds of processes and all their descendants alive now (PostgreSQL runs a backend process per connection;
 * its postmaster's own figures would miss them).
 */
export function treeCpuSeconds(pids: number[]): number {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(e), Number(rest[1]));
      cpu.set(Number(e), (Number(rest[11]) + Number(rest[12])) / TICKS);
    } catch {
      /* gone meanwhile */
    }
  }
  const roots = new Set(pids);
  let total = 0;
  for (const [pid, c] of cpu) {
    for (let p: number | undefined = pid, depth = 0; p && depth < 32; p = parent.get(p), depth++)
      if (roots.has(p)) {
        total += c;
        break;
      }
  }
  return total;
}
