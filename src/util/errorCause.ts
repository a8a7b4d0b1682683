// What a failure log says about an error: its message and every cause under it. The Temporal client wraps gRPC
// failures ("Failed to signalWithStart Workflow" with the gRPC error as `cause`), and Node's fetch/net errors
// wrap the system error the same way, so the top message alone never says *why*.

/** gRPC status codes by number (the SDK's errors carry the number). */
const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

export interface ErrorDescription {
  /** The messages from the outermost error down to the root cause, joined with ": ", repeats dropped. */
  error: string;
  /** The gRPC status of the first error in the chain that has one (e.g. UNAVAILABLE). */
  grpcCode?: string;
  /** A system error code from the chain (ECONNREFUSED, ECONNRESET, …). */
  code?: string;
  /** An HTTP status from the chain (a Kubernetes API error). */
  status?: number;
}

function field(e: unknown, k: string): unknown {
  return e && typeof e === 'object' ? (e as Record<string, unknown>)[k] : undefined;
}

/** Describes an error and its cause chain (bounded: cycles and deep chains stop after 8 links). */
export function describeError(e: unknown): ErrorDescription {
  const messages: string[] = [];
  const out: ErrorDescription = { error: '' };
  const seen = new Set<unknown>();
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 8 && !seen.has(cur); depth++) {
    seen.add(cur);
    const msg =
      cur instanceof Error || typeof field(cur, 'message') === 'string' ? String(field(cur, 'message')) : String(cur);
    // A wrapper often repeats its cause's message (or the cause repeats the wrapper's details): keep each once.
    const text = msg.trim();
    if (text && !messages.some((m) => m.includes(text))) messages.push(text);
    const grpc = field(cur, 'code');
    if (typeof grpc === 'number' && out.grpcCode === undefined && field(cur, 'metadata') !== undefined)
      out.grpcCode = GRPC_CODES[grpc] ?? String(grpc);
    else if (typeof grpc === 'string' && out.code === undefined) out.code = grpc;
    const status = field(cur, 'status');
    if (typeof status === 'number' && out.status === undefined) out.status = status;
    // Errors that carry several causes (AggregateError: e.g. both IPv4 and IPv6 refused) name the first.
    const errors = field(cur, 'errors');
    cur = field(cur, 'cause') ?? (Array.isArray(errors) ? errors[0] : undefined);
  }
  out.error = messages.join(': ') || 'unknown error';
  return out;
}
