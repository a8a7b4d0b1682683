// The fault suite's contract: a scenario gets the running control plane (a FaultContext) and returns one row
// of the report. Scenarios live one per file in test/faults/scenarios/NN-name.ts (NN: the issue point, for the
// order) and export `scenario`; the runner
// (test/faults/run.ts) finds them there, so adding a scenario touches no shared file.
import fs from 'node:fs';
import path from 'node:path';
import type { KubeClient } from '../../src/kube/client';
import type { TestenvState } from '../../src/testenv/testenv';

/** One line of the report. Counts are of ServiceSets (or Flux objects for duplicates/orphans). */
export interface Row {
  scenario: string;
  /** ServiceSet creations, edits and deletions the scenario made. */
  operations: number;
  /** Faults injected (kills, restarts, outages, foreign edits…), with a short description. */
  faults: number;
  faultsDescription?: string;
  /** ServiceSets (live and deleted) that reached what they ask for, out of how many. */
  converged: number;
  total: number;
  /** Asked-for things that never happened (missing Flux objects, ServiceSets never handled, deletions left). */
  lost: number;
  duplicates: number;
  orphans: number;
  /** From each ServiceSet's last operation (or the fault's end) until it was seen converged. */
  convergeP50Ms?: number;
  convergeMaxMs?: number;
  /** Requests per second our processes made to the faulted dependency while it was down. */
  outageRequestsPerS?: number;
  /** Seconds from a dependency's return until our processes worked again (scenario 10's measure). */
  recoveryS?: number;
  /** Largest resident set of any of our processes during the scenario (MiB). */
  peakRssMiB?: number;
  /** Anything else worth a line in the report (status regressions, handover time, …). */
  notes: string[];
  /** Whether every check of the scenario held; a failing row fails the suite. */
  ok: boolean;
  /** What failed, named (empty when ok). */
  failures: string[];
  wallMs?: number;
}

/** Our adapter processes (watcher / worker), started as separate OS processes by the runner's Fleet. */
export interface AdapterProc {
  readonly name: string;
  readonly mode: 'run' | 'watcher' | 'worker';
  readonly pid: number;
  /** Its identity (the SMP names it) and task queue: start more processes of the same adapter with them. */
  readonly adapterName: string;
  readonly taskQueue: string;
  readonly alive: boolean;
  /** The metrics/health address (host:port). */
  readonly addr: string;
  /** Log file (JSON lines). */
  readonly log: string;
  /** Exits seen that we did not cause (a crash the scenario must report). */
  readonly unexpectedExits: number;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts it again with the same identity and flags (e.g. after a kill; SIGKILL unless `signal` says otherwise),
   * optionally on another workflow bundle (a new build).
   */
  restart(o?: { signal?: NodeJS.Signals; workflowBundle?: string }): Promise<void>;
}

export interface FaultContext {
  /** --quick: CI's short version; scenarios scale their burst down and keep the same checks. */
  quick: boolean;
  /** The control plane (kube-apiserver/etcd, Temporal), started by the runner in its own directory. */
  env: TestenvState;
  /** A kube client for the scenario itself (straight to the apiserver, not through the fault proxy). */
  kube: KubeClient;
  /** Starts one of our processes (separate OS process) on a fresh identity unless `adapterName` is given. */
  startAdapter(
    mode: 'run' | 'watcher' | 'worker',
    o?: { adapterName?: string; taskQueue?: string; flags?: Record<string, string>; name?: string },
  ): Promise<AdapterProc>;
  /** The TCP proxy every adapter process reaches the apiserver through: counts connection attempts, can cut. */
  kubeProxy: { setCut(cut: boolean): void; attempts(fromMs: number, toMs: number): number };
  /**
   * Stops one of the plane's processes by its testenv name ('temporal', 'kube-apiserver', …) and returns how to
   * start it again with the same arguments and data.
   */
  stopPlaneProcess(name: string): Promise<{ restart: () => Promise<unknown> }>;
  /** Peak RSS (MiB) over every process the scenario started so far. */
  peakRssMiB(): number;
  /** Progress lines on stderr. */
  say(msg: string): void;
}

export interface Scenario {
  /** Short, unique; --only NAME selects it. */
  name: string;
  /** Issue point(s) it proves, e.g. "13.1". */
  covers: string;
  /** Runs in --quick (CI). Scenarios that need minutes or Flux controllers say false. */
  quick: boolean;
  /** Needs the real Flux controllers (the runner then starts the plane with --flux). */
  flux?: boolean;
  run(ctx: FaultContext): Promise<Row>;
}

/** Every scenario file in test/faults/scenarios (each exports `scenario`), in file-name order. */
export function loadScenarios(dir = path.join(__dirname, 'scenarios')): Scenario[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => {
      const mod = require(path.join(dir, f)) as { scenario?: Scenario };
      if (!mod.scenario) throw new Error(`${f} exports no \`scenario\``);
      return mod.scenario;
    });
}

/** An empty row to fill in. */
export function row(scenario: string): Row {
  return {
    scenario,
    operations: 0,
    faults: 0,
    converged: 0,
    total: 0,
    lost: 0,
    duplicates: 0,
    orphans: 0,
    notes: [],
    ok: true,
    failures: [],
  };
}

export function percentile(xs: number[], p: number): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
