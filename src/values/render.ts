// Go-template rendering of values, with Sveltos' semantics: the Go program in ./wasm (text/template, sprig and
// Sveltos' own functions, missingkey=error) compiled to WebAssembly by scripts/build-render.sh. Loaded by
// activities and the plan command only, never by workflow code. One instance serves every call: a call is
// synchronous, so calls never interleave.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WASI as WasiT } from 'node:wasi';

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
interface WasmInstance {
  exports: Record<string, unknown>;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(mod: WasmModule, imports: Record<string, unknown>): Promise<WasmInstance>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Instance {
  memory: { buffer: ArrayBuffer };
  input_buffer(n: number): number;
  render(): number;
  output_buffer(): number;
}

let compiled: Promise<WasmModule> | undefined;
let live: Instance | undefined;

async function instance(): Promise<Instance> {
  if (live) return live;
  compiled ??= fs.promises.readFile(locateModule()).then((b) => wasmApi.compile(b));
  const mod = await compiled;
  if (live) return live;
  // node:wasi warns once that it is experimental; it is the WASI host Node ships, and we use only its basics.

  const { WASI } = require('node:wasi') as { WASI: typeof WasiT };
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
  const inst = await wasmApi.instantiate(mod, { wasi_snapshot_preview1: wasi.wasiImport });
  wasi.initialize(inst);
  live = inst.exports as unknown as Instance;
  return live;
}

/** Loads and instantiates the module now (the first render otherwise pays for it). */
export async function warmUp(): Promise<void> {
  await instance();
}

// Every observation of a settled ServiceSet renders its values again; the same template with the same context
// gives the same output (and memoising keeps time- or random-based functions from churning the applied hash).
const MEMO_ENTRIES = 2000;
const memo = new Map<string, RenderResult>();
export const renderStats = { calls: 0, memoHits: 0 };

/**
 * Renders one template. Values without `{{` are returned as they are, without calling the module. Results are
 * memoised by a digest of the request (held in this process only).
 */
export async function renderTemplate(req: RenderRequest): Promise<RenderResult> {
  if (!isTemplate(req.template)) return { ok: true, output: req.template };
  renderStats.calls++;
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify([req.name, req.template, req.context]))
    .digest('base64');
  const hit = memo.get(key);
  if (hit) {
    renderStats.memoHits++;
    memo.delete(key); // LRU order
    memo.set(key, hit);
    return hit;
  }
  const r = await renderUncached(req);
  memo.set(key, r);
  if (memo.size > MEMO_ENTRIES) memo.delete(memo.keys().next().value!);
  return r;
}

/** Renders with the module, bypassing the memo (the bench measures this). */
export async function renderUncached(req: RenderRequest): Promise<RenderResult> {
  const inst = await instance();
  const input = Buffer.from(JSON.stringify(req));
  let out: Buffer;
  try {
    const inPtr = inst.input_buffer(input.length);
    new Uint8Array(inst.memory.buffer, inPtr, input.length).set(input);
    const n = inst.render();
    const outPtr = inst.output_buffer();
    // Read after the calls: memory may have grown, which detaches earlier views.
    out = Buffer.from(new Uint8Array(inst.memory.buffer, outPtr, n));
  } catch (e) {
    // The Go runtime died (out of memory, a fatal error): start a fresh instance next time.
    live = undefined;
    return { ok: false, error: `renderer failed: ${(e as Error).message}` };
  }
  const r = JSON.parse(out.toString('utf8')) as { output?: string; error?: string; line?: number };
  if (r.error !== undefined) return { ok: false, error: r.error, ...(r.line ? { line: r.line } : {}) };
  return { ok: true, output: r.output ?? '' };
}
