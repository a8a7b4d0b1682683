// Latency at low load, one ServiceSet at a time on an open-loop clock (a fixed rate, never waiting for the
// previous one): ServiceSet created → all its HelmReleases applied, then HelmRelease Ready written (the bench plays
// helm-controller) → the ServiceSet's services all Deployed. Every instant comes from a watch event.
import type { Adapter, Plane } from '../lib/plane';
import { serviceSetObject, stage } from '../lib/plane';
import { playReady, Tracker } from '../lib/track';
import { ms, num, percentile, say, sleep, table } from '../lib/util';

export interface LatencyResult {
  samples: number;
  ratePerSec: number;
  createToApplied: number[];
  readyToDeployed: number[];
}

async function openLoop(count: number, ratePerSec: number, fn: (i: number) => Promise<void>): Promise<void> {
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / ratePerSec;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    running.push(fn(i));
  }
  await Promise.all(running);
}

export async function latency(
  plane: Plane,
  adapter: Adapter,
  ns: string,
  samples: number,
  services: number,
  ratePerSec: number,
  timeoutMs: number,
): Promise<LatencyResult> {
  await stage(plane.kube, ns, adapter, samples);
  const tr = new Tracker(plane.kube, ns, services);
  await tr.start();
  try {
    const created = new Map<string, number>();
    await openLoop(samples, ratePerSec, async (i) => {
      const name = `lat${i}`;
      await plane.kube.create(
        `/apis/k0rdent.mirantis.com/v1beta1/namespaces/${ns}/servicesets`,
        serviceSetObject(ns, name, adapter.smp, i, services),
      );
      created.set(name, performance.now());
    });
    const total = samples * services;
    await tr.until(
      'latency: every HelmRelease applied',
      () => tr.appliedAt.size >= total,
      timeoutMs,
      () => `${tr.appliedAt.size}/${total}`,
    );
    const createToApplied = [...created].map(
      ([name, t]) => Math.max(...tr.releases(name).map((o) => tr.appliedAt.get(o.metadata.name)!)) - t,
    );
    say(
      `latency: created → applied p50 ${ms(percentile(createToApplied, 50))}, p99 ${ms(percentile(createToApplied, 99))}`,
    );

    const readyAt = new Map<string, number>();
    const names = [...created.keys()];
    await openLoop(names.length, ratePerSec, async (i) => {
      const name = names[i]!;
      await Promise.all(tr.releases(name).map((o) => playReady(plane.kube, o)));
      readyAt.set(name, performance.now());
    });
    await tr.until(
      'latency: every ServiceSet Deployed',
      () => tr.deployedAt.size >= samples,
      timeoutMs,
      () => `${tr.deployedAt.size}/${samples}`,
    );
    const readyToDeployed = names.map((n) => tr.deployedAt.get(n)! - readyAt.get(n)!);
    say(
      `latency: Ready → Deployed p50 ${ms(percentile(readyToDeployed, 50))}, p99 ${ms(percentile(readyToDeployed, 99))}`,
    );
    return { samples, ratePerSec, createToApplied, readyToDeployed };
  } finally {
    tr.stop();
  }
}

export function latencyMarkdown(r: LatencyResult, services: number, load: number[]): string {
  const row = (what: string, xs: number[], target: string) => [
    what,
    xs.length,
    ms(percentile(xs, 50)),
    ms(percentile(xs, 90)),
    ms(percentile(xs, 99)),
    ms(Math.max(...xs)),
    target,
  ];
  return [
    `## Latency at low load (${r.samples} ServiceSets × ${services} services, ${num(r.ratePerSec, 1)} per second)`,
    '',
    `Each ServiceSet is created on a fixed clock (open loop); instants come from the bench's watches. "Applied": the ` +
      `last of its HelmReleases appears. "Ready": the bench, playing helm-controller, has written Ready=True for the ` +
      `generation of each of its HelmReleases; "Deployed": its status shows every service Deployed. ` +
      `1-minute load average ${load.map((l) => num(l, 1)).join(' → ')}.`,
    '',
    table(
      ['interval', 'samples', 'p50', 'p90', 'p99', 'max', 'target'],
      [
        row('ServiceSet created → its Flux objects applied', r.createToApplied, 'p50 ≤ 250 ms, p99 ≤ 1 s'),
        row('Flux Ready written → ServiceSet Deployed', r.readyToDeployed, 'p50 ≤ 300 ms'),
      ],
    ),
    '',
  ].join('\n');
}
