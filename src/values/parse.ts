// A service's values: YAML text (after Go-template rendering, src/values/) → the JSON object a HelmRelease
// carries, with line-precise errors; and the merge Sveltos applies when valuesFrom content joins the values.
// Pure and workflow-safe.
import YAML from 'yaml';

export type ValuesResult = { ok: true; values: Record<string, unknown> | undefined } | { ok: false; message: string };

export interface ParseOptions {
  /** Names the document in messages ("values", "ConfigMap x key y"). */
  what?: string;
  /**
   * The text is secret (a Secret's data): messages name the line and the kind of error only, never a word
   * of the content (the YAML library quotes tokens in some messages).
   */
  secret?: boolean;
}

export function parseValues(src: string | null | undefined, opts: ParseOptions = {}): ValuesResult {
  const what = opts.what ?? 'values';
  if (src === undefined || src === null || src.trim() === '') return { ok: true, values: undefined };
  // Helm reads values as YAML 1.1 (merge keys, yes/no booleans); so do we. The library's own uniqueKeys check
  // compares every key with every other one (minutes for a mapping of 100 000 keys): ours is linear.
  const doc = YAML.parseDocument(src, {
    prettyErrors: false,
    uniqueKeys: false,
    version: '1.1',
    merge: true,
    customTags: asHelmReadsThem,
  });
  const err = doc.errors[0] ?? badKey(doc);
  if (err) {
    const offset = err.pos[0];
    const line = lineOf(src, offset);
    const col = offset - src.lastIndexOf('\n', offset - 1);
    const where = `line ${line}, column ${col}`;
    const why = opts.secret ? err.code : err.message.split('\n')[0];
    return { ok: false, message: `${what}: YAML syntax error at ${where}: ${why}` };
  }
  if (doc.contents && YAML.isAlias(doc.contents)) return { ok: false, message: `${what}: must be a YAML mapping` };
  let v: unknown;
  try {
    v = doc.toJS({ maxAliasCount: 100, reviver: asHelmDecodes });
  } catch (e) {
    return { ok: false, message: `${what}: ${opts.secret ? 'invalid YAML' : (e as Error).message}` };
  }
  if (v === null || v === undefined) return { ok: true, values: undefined };
  if (typeof v !== 'object' || Array.isArray(v)) {
    const line = doc.contents?.range ? lineOf(src, doc.contents.range[0]) : 1;
    const got = Array.isArray(v) ? 'a list' : `a ${typeof v}`;
    return { ok: false, message: `${what}: line ${line}: expected a mapping of keys to values, got ${got}` };
  }
  return { ok: true, values: v as Record<string, unknown> };
}

/**
 * YAML 1.1 as Helm reads it (go-yaml v2 into interface{}, then JSON), not as the full 1.1 schema: a plain
 * timestamp stays the string it is (`tag: 2024-01-15` is not "2024-01-15T00:00:00.000Z") and base-60 numbers
 * stay strings (`at: 12:30` is not 750).
 */
function asHelmReadsThem(tags: YAML.Tags): YAML.Tags {
  return tags.filter(
    (t) =>
      typeof t === 'string' || (t.tag !== 'tag:yaml.org,2002:timestamp' && !('format' in t && t.format === 'TIME')),
  );
}

/** Values Helm gets for the 1.1 collection and binary tags: !!binary → its text, !!set → keys with null, !!omap → a mapping. */
function asHelmDecodes(_key: unknown, v: unknown): unknown {
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (v instanceof Set) return Object.fromEntries([...v].map((x) => [String(x), null]));
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
  return v;
}

/**
 * The first key repeated in a mapping (scalar keys, by value; merge keys `<<` may repeat) or that is itself a
 * list or mapping (JSON has no such keys; Helm refuses them), as a parse error.
 */
function badKey(doc: YAML.Document): { pos: [number, number]; code: string; message: string } | undefined {
  let found: { pos: [number, number]; code: string; message: string } | undefined;
  YAML.visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const k = pair.key;
        if (YAML.isCollection(k)) {
          const at = k.range?.[0] ?? 0;
          found = {
            pos: [at, at],
            code: 'COLLECTION_KEY',
            message: 'a mapping key must be a scalar, not a collection',
          };
          return YAML.visit.BREAK;
        }
        if (!YAML.isScalar(k) || k.value === '<<') continue;
        if (seen.has(k.value)) {
          const at = k.range?.[0] ?? 0;
          found = { pos: [at, at], code: 'DUPLICATE_KEY', message: 'Map keys must be unique' };
          return YAML.visit.BREAK;
        }
        seen.add(k.value);
      }
      return undefined;
    },
  });
  return found;
}

function lineOf(src: string, offset: number): number {
  return src.slice(0, offset).split('\n').length;
}

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * `src` merged over `dst` as Sveltos merges valuesFrom content into values (mergo with override): mappings
 * merge key by key, recursively; anything else in `src` (scalars, lists, null) replaces what `dst` has.
 * Returns a new object; neither input is changed.
 */
export function mergeOver(dst: Record<string, unknown>, src: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...dst };
  for (const [k, v] of Object.entries(src)) {
    const cur = Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined;
    // Defined, not assigned: a "__proto__" key of the values is data, not the result's prototype.
    Object.defineProperty(out, k, {
      value: isMap(v) && isMap(cur) ? mergeOver(cur, v) : v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** One Flux valuesFrom entry: a single data key of a ConfigMap or Secret in the ServiceSet's namespace. */
export interface ValuesFromKey {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  valuesKey: string;
}

/**
 * A Helm service's values as the activity resolved them (templates rendered, valuesFrom read): what the plan
 * writes. Lives only inside an activity or the plan command; never a Temporal payload.
 */
export interface ResolvedValues {
  /** Inline values, rendered and parsed, with templated valuesFrom ConfigMaps merged over them (Sveltos order). */
  values?: Record<string, unknown>;
  /** Plain (untemplated) valuesFrom objects, one entry per data key, in reference order then key order. */
  valuesFrom: ValuesFromKey[];
  /** Digest of the identity and resourceVersion of every object valuesFrom names; absent without valuesFrom. */
  refsDigest?: string;
}
