// Go-template rendering of values, with Sveltos' semantics: the Go program in ./wasm (text/template, sprig and
// Sveltos' own functions, missingkey=error) compiled to WebAssembly by scripts/build-render.sh. Loaded by
// activities and the plan command only, never by workflow code. One instance, on a thread of its own (bounded in
// time, output and memory: see renderLimits), serves every call, one at a time.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Lru } from '../util/lru';

export interface RenderRequest {
  /** Appears in Go's messages ("template: NAME:LINE:COL: ..."). */
  name: string;
  template: string;
  /** The objects a template sees: `.Cluster` etc. (JSON). */
  context: RenderContext;
}

export interface RenderContext {
  Cluster?: Record<string, unknown> | null;
  KubeadmControlPlane?: Record<string, unknown> | null;
  InfrastructureProvider?: Record<string, unknown> | null;
}

export type RenderResult = { ok: true; output: string } | { ok: false; error: string; line?: number };

/** A Go template action starts with `{{`; text without one renders to itself and is left untouched. */
export function isTemplate(s: string | null | undefined): boolean {
  return !!s && s.includes('{{');
}

const SRC_DIR = path.resolve(__dirname, 'wasm');

/** The cache key scripts/build-render.sh uses: sha256 over (name NUL content) of go.mod, go.sum and *.go in byte order. */
export function sourceDigest(dir = SRC_DIR): string {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'))
    .sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1));
  const h = crypto.createHash('sha256');
  for (const f of files) {
    h.update(f);
    h.update('\0');
    h.update(fs.readFileSync(path.join(dir, f)));
  }
  return h.digest('hex').slice(0, 16);
}

function cacheRoot(): string {
  return (
    process.env.KSM_FLUX_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'ksm-flux')
  );
}

/** Where the module is: KSM_FLUX_RENDER_WASM, beside the compiled code (npm run build), or the build cache. */
export function locateModule(): string {
  const explicit = process.env.KSM_FLUX_RENDER_WASM;
  if (explicit) return explicit;
  const beside = path.join(__dirname, 'render.wasm');
  if (fs.existsSync(beside)) return beside;
  if (fs.existsSync(SRC_DIR)) {
    const prefix = `values-render-${sourceDigest()}-`;
    const root = cacheRoot();
    const dirs = fs.existsSync(root) ? fs.readdirSync(root).filter((d) => d.startsWith(prefix)) : [];
    for (const d of dirs.sort().reverse()) {
      const f = path.join(root, d, 'render.wasm');
      if (fs.existsSync(f)) return f;
    }
  }
  throw new Error(
    'the values renderer (render.wasm) is not built: run `npm run build` or `ksm-flux testenv build` (scripts/build-render.sh)',
  );
}

// The project's TypeScript library set has no WebAssembly declarations: the few members we use.
interface WasmModule {
  readonly __wasmModule: unique symbol;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * Bounds on one render. A values template is user input: `{{ range until 100000000 }}` or a string doubled in a
 * loop must end as a named failure, not as a worker whose event loop (and so every heartbeat and every other
 * activity) is stuck, nor as gigabytes of memory. Time is bounded by running the module on its own thread and
 * terminating that thread; output by the Go side (it stops at the first write past the bound); memory by a
 * maximum on the module's linear memory (Go declares none), so an allocation past it kills only that instance.
 */
export const renderLimits = {
  timeoutMs: 5_000,
  maxOutputBytes: 1024 * 1024,
  maxMemoryBytes: 256 * 1024 * 1024,
};

/** Sets the bounds (tests use small ones); returns the previous values. */
export function setRenderLimits(l: Partial<typeof renderLimits>): typeof renderLimits {
  const before = { ...renderLimits };
  Object.assign(renderLimits, l);
  return before;
}

const WASM_PAGE = 64 * 1024;

function readLeb(b: Uint8Array, p: number): [number, number] {
  let r = 0;
  let shift = 0;
  let x: number;
  do {
    x = b[p++]!;
    r += (x & 0x7f) * 2 ** shift;
    shift += 7;
  } while (x & 0x80);
  return [r, p];
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let x = n % 128;
    n = Math.floor(n / 128);
    if (n) x |= 0x80;
    out.push(x);
  } while (n);
  return out;
}

/**
 * The module's bytes with a maximum on its (single, own) linear memory: the memory section's limits get a max of
 * maxPages (kept when the module already has a lower one). Anything else is returned unchanged.
 */
export function withMemoryMax(bytes: Uint8Array, maxPages: number): Uint8Array {
  let p = 8; // magic + version
  while (p < bytes.length) {
    const id = bytes[p]!;
    const [size, body] = readLeb(bytes, p + 1);
    if (id === 5) {
      const [count, q0] = readLeb(bytes, body);
      if (count !== 1) return bytes;
      const flag = bytes[q0]!;
      if (flag !== 0 && flag !== 1) return bytes; // shared or 64-bit memories: leave alone
      const [min, q1] = readLeb(bytes, q0 + 1);
      let rest = q1;
      let max = maxPages;
      if (flag === 1) {
        const [m, q2] = readLeb(bytes, q1);
        max = Math.min(m, maxPages);
        rest = q2;
      }
      const limits = [0x01, ...leb(min), ...leb(Math.max(min, max))];
      const section = [...leb(1), ...limits, ...bytes.subarray(rest, body + size)];
      return Buffer.concat([
        bytes.subarray(0, p),
        Buffer.from([5, ...leb(section.length), ...section]),
        bytes.subarray(body + size),
      ]);
    }
    p = body + size;
  }
  return bytes;
}

// The thread that runs the module. Plain JavaScript (evaluated), so that it runs the same from TypeScript
// sources and from the build. One request at a time: {id, input} in, {id, output} or {id, fatal} out.
const THREAD_SOURCE = String.raw`
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parentPort, workerData, threadId } = require('node:worker_threads');
// node:wasi warns that it is experimental, once per thread; it is the WASI host Node ships, and we use its basics.
const emitWarning = process.emitWarning;
process.emitWarning = (w, ...rest) => (/WASI/.test(String(w)) ? undefined : emitWarning.call(process, w, ...rest));
const { WASI } = require('node:wasi');
// Go writes a fatal error (and every goroutine's stack) to stderr: keep it in an unlinked file of this thread,
// to name the cause in the result instead of flooding the worker's log.
const errPath = path.join(os.tmpdir(), 'ksm-flux-render-' + process.pid + '-' + threadId + '.stderr');
const errFd = fs.openSync(errPath, 'a+');
fs.unlinkSync(errPath);
function goFatal() {
  const buf = Buffer.alloc(4096);
  const n = fs.readSync(errFd, buf, 0, buf.length, 0);
  const lines = buf.subarray(0, n).toString('utf8').split('\n');
  return lines.filter((l) => /^(fatal error|runtime|panic): /.test(l)).slice(0, 2).join('; ');
}
let inst;
// One instance per thread.
async function instance() {
  if (inst) return inst;
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true, stdout: errFd, stderr: errFd });
  const i = await WebAssembly.instantiate(workerData.module, { wasi_snapshot_preview1: wasi.wasiImport });
  wasi.initialize(i);
  inst = i.exports;
  return inst;
}
// Instantiate before the first request, so that a request's time bound counts rendering only.
instance().then(
  () => parentPort.postMessage({ ready: true }),
  (e) => parentPort.postMessage({ ready: false, fatal: String((e && e.message) || e) }),
);
parentPort.on('message', async ({ id, input }) => {
  try {
    const x = await instance();
    const inPtr = x.input_buffer(input.length);
    new Uint8Array(x.memory.buffer, inPtr, input.length).set(input);
    const n = x.render();
    const outPtr = x.output_buffer();
    // Read after the calls: memory may have grown, which detaches earlier views.
    parentPort.postMessage({ id, output: Buffer.from(new Uint8Array(x.memory.buffer, outPtr, n)).toString('utf8') });
  } catch (e) {
    // The Go runtime died (out of memory, a fatal error): the host ends this thread, a fresh one serves the next.
    parentPort.postMessage({ id, fatal: goFatal() || String((e && e.message) || e) });
  }
});
`;

type ThreadReply = { id: number; output?: string; fatal?: string };

let compiled: Promise<WasmModule> | undefined;
let thread: Promise<Worker> | undefined;
let current: Worker | undefined;
let nextId = 1;
// Renders run one after another (one instance, one thread); this chain orders them.
let queue: Promise<unknown> = Promise.resolve();
/** Threads started and retired (a test checks that a runaway render retires its thread). */
export const renderThreadStats = { started: 0, terminated: 0 };

function moduleOnce(): Promise<WasmModule> {
  compiled ??= fs.promises
    .readFile(locateModule())
    .then((b) => wasmApi.compile(withMemoryMax(b, Math.floor(renderLimits.maxMemoryBytes / WASM_PAGE))));
  return compiled;
}

async function renderThread(): Promise<Worker> {
  thread ??= startThread();
  return thread;
}

async function startThread(): Promise<Worker> {
  const module = await moduleOnce();
  const w = new Worker(THREAD_SOURCE, { eval: true, workerData: { module } });
  // An idle renderer must not keep a process (e.g. `ksm-flux plan`) alive; a pending call holds its own timer.
  w.unref();
  const forget = () => {
    if (current === w) thread = undefined;
  };
  w.on('error', forget);
  w.on('exit', forget);
  renderThreadStats.started++;
  current = w;
  await new Promise<void>((resolve, reject) => {
    const onReady = (m: { ready?: boolean; fatal?: string }) => {
      if (m.ready === undefined) return;
      w.off('message', onReady);
      w.off('exit', onExit);
      if (m.ready) resolve();
      else reject(new Error(`the values renderer did not start: ${m.fatal}`));
    };
    const onExit = (code: number) => reject(new Error(`the values renderer thread exited (${code}) while starting`));
    w.on('message', onReady);
    w.on('exit', onExit);
  }).catch((e: unknown) => {
    forget();
    void w.terminate();
    throw e;
  });
  return w;
}

function retire(w: Worker): void {
  if (current === w) thread = undefined;
  renderThreadStats.terminated++;
  void w.terminate();
}

/** One call on the thread, bounded in time: past the bound the thread is terminated (a new one serves the next). */
async function callThread(input: Uint8Array): Promise<ThreadReply | { timedOut: true }> {
  const w = await renderThread();
  const id = nextId++;
  return new Promise((resolve) => {
    const done = (r: ThreadReply | { timedOut: true }) => {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('exit', onExit);
      resolve(r);
    };
    const onMessage = (m: ThreadReply) => {
      if (m.id !== id) return;
      // A dead Go runtime is not reused: end the thread (and free its memory); the next call starts a fresh one.
      if (m.fatal !== undefined) retire(w);
      done(m);
    };
    const onExit = () => done({ id, fatal: 'the renderer thread exited' });
    const timer = setTimeout(() => {
      retire(w);
      done({ timedOut: true });
    }, renderLimits.timeoutMs);
    w.on('message', onMessage);
    w.on('exit', onExit);
    w.postMessage({ id, input });
  });
}

/** Loads the module and starts its thread now (the first render otherwise pays for it). */
export async function warmUp(): Promise<void> {
  await renderUncached({ name: 'warm-up', template: '{{ "" }}', context: {} });
}

// Every observation of a settled ServiceSet renders its values again; the same template with the same context
// gives the same output (and memoising keeps time- or random-based functions from churning the applied hash).
// Bounded in entries and in bytes: outputs may be up to renderLimits.maxOutputBytes each.
const memo = new Lru<RenderResult>(2000, 32 * 1024 * 1024);
const sizeOf = (r: RenderResult) => (r.ok ? r.output.length : r.error.length);

/**
 * Renders one template. Values without `{{` are returned as they are, without calling the module. Results are
 * memoised by a digest of the request (held in this process only).
 */
export async function renderTemplate(req: RenderRequest): Promise<RenderResult> {
  if (!isTemplate(req.template)) return { ok: true, output: req.template };
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify([req.name, req.template, req.context]))
    .digest('base64');
  const hit = memo.get(key);
  if (hit) return hit;
  const r = await renderUncached(req);
  memo.add(key, r, sizeOf(r));
  return r;
}

/** Renders with the module, bypassing the memo (the bench measures this). Calls run one at a time. */
export function renderUncached(req: RenderRequest): Promise<RenderResult> {
  const run = queue.then(() => renderBounded(req));
  queue = run.catch(() => undefined);
  return run;
}

async function renderBounded(req: RenderRequest): Promise<RenderResult> {
  const input = Buffer.from(JSON.stringify({ ...req, maxOutput: renderLimits.maxOutputBytes }));
  const r = await callThread(input);
  if ('timedOut' in r) {
    return {
      ok: false,
      error: `rendering did not finish within ${renderLimits.timeoutMs / 1000}s (stopped; a values template must finish in that time)`,
    };
  }
  if (r.fatal !== undefined) {
    const oom = /out of memory/.test(r.fatal);
    return {
      ok: false,
      error: oom
        ? `rendering ran out of memory (a values template may use at most ${renderLimits.maxMemoryBytes / (1024 * 1024)} MiB): ${r.fatal}`
        : `renderer failed: ${r.fatal}`,
    };
  }
  const res = JSON.parse(r.output ?? '{}') as { output?: string; error?: string; line?: number };
  if (res.error !== undefined) return { ok: false, error: res.error, ...(res.line ? { line: res.line } : {}) };
  return { ok: true, output: res.output ?? '' };
}
