// A service's `values` is a YAML string; HelmRelease.spec.values must be a JSON object.
import YAML from 'yaml';

export type ValuesResult = { ok: true; values: Record<string, unknown> | undefined } | { ok: false; message: string };

export function parseValues(src: string | null | undefined): ValuesResult {
  if (src === undefined || src === null || src.trim() === '') return { ok: true, values: undefined };
  // Helm reads values as YAML 1.1 (merge keys, yes/no booleans); so do we.
  const doc = YAML.parseDocument(src, { prettyErrors: false, uniqueKeys: true, version: '1.1', merge: true });
  const err = doc.errors[0];
  if (err) {
    const offset = err.pos[0];
    const line = lineOf(src, offset);
    const col = offset - src.lastIndexOf('\n', offset - 1);
    const where = `line ${line}, column ${col}`;
    return { ok: false, message: `values: YAML syntax error at ${where}: ${err.message.split('\n')[0]}` };
  }
  if (doc.contents && YAML.isAlias(doc.contents)) return { ok: false, message: 'values: must be a YAML mapping' };
  const v: unknown = doc.toJS({ maxAliasCount: 100 });
  if (v === null || v === undefined) return { ok: true, values: undefined };
  if (typeof v !== 'object' || Array.isArray(v)) {
    const line = doc.contents?.range ? lineOf(src, doc.contents.range[0]) : 1;
    const what = Array.isArray(v) ? 'a list' : `a ${typeof v}`;
    return { ok: false, message: `values: line ${line}: expected a mapping of keys to values, got ${what}` };
  }
  return { ok: true, values: v as Record<string, unknown> };
}

function lineOf(src: string, offset: number): number {
  return src.slice(0, offset).split('\n').length;
}
