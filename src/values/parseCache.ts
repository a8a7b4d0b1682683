// parseValues, memoised. A settled ServiceSet is observed again every few seconds, and parsing is the costly part
// of values (seconds for a 1 MiB mapping of 100 000 keys, on the worker's main thread): the same text gives the
// same result, so it is parsed once. Bounded by the total size of the texts it remembers. Results are shared:
// callers must not mutate them.
import crypto from 'node:crypto';
import { Lru } from '../util/lru';
import { parseValues, type ParseOptions, type ValuesResult } from './parse';

const memo = new Lru<ValuesResult>(5000, 32 * 1024 * 1024);

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
  if (hit) return hit;
  const parsed = parseValues(src, opts);
  const r: ValuesResult = parsed.ok && opts.keepValues === false ? { ok: true, values: undefined } : parsed;
  memo.add(key, r, text.length);
  return r;
}
