// parseValues, memoised. A settled ServiceSet is observed again every few seconds, and parsing is the costly part
// of values (seconds for a 1 MiB mapping of 100 000 keys, on the worker's main thread): the same text gives the
// same result, so it is parsed once. Bounded by the total size of the texts it remembers. Results are shared:
// callers must not mutate them.
import crypto from 'node:crypto';
import { parseValues, type ParseOptions, type ValuesResult } from '../core/values';

const MAX_BYTES = 32 * 1024 * 1024;
const MAX_ENTRIES = 5000;
const memo = new Map<string, { r: ValuesResult; bytes: number }>();
let bytes = 0;
export const parseCacheStats = { hits: 0, misses: 0 };

/**
 * parseValues(src, opts), remembered by a digest of (options, text). With `keepValues: false` (a Secret's content,
 * checked only) the memo keeps the verdict and never the parsed content.
 */
export function parseValuesCached(
  src: string | null | undefined,
  opts: ParseOptions & { keepValues?: boolean } = {},
): ValuesResult {
  const text = src ?? '';
  // Small texts parse in microseconds: not worth a digest or a slot.
  if (text.length < 4096) return parseValues(src, opts);
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify([opts.what ?? '', !!opts.secret, opts.keepValues !== false]))
    .update('\0')
    .update(text)
    .digest('base64');
  const hit = memo.get(key);
  if (hit) {
    parseCacheStats.hits++;
    memo.delete(key); // LRU order
    memo.set(key, hit);
    return hit.r;
  }
  parseCacheStats.misses++;
  const parsed = parseValues(src, opts);
  const r: ValuesResult = parsed.ok && opts.keepValues === false ? { ok: true, values: undefined } : parsed;
  memo.set(key, { r, bytes: text.length });
  bytes += text.length;
  while (memo.size > MAX_ENTRIES || (bytes > MAX_BYTES && memo.size > 1)) {
    const oldest = memo.keys().next().value!;
    bytes -= memo.get(oldest)!.bytes;
    memo.delete(oldest);
  }
  return r;
}
