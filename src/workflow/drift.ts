// Drift of our Flux objects: someone other than ksm-flux (kubectl edit, another controller, a CI job) changed
// the spec of a HelmRelease or Kustomization we own. Pure and workflow-safe.
//
// Why compare the live object with the plan, and not the generation recorded at our last apply: the
// applied-hash annotation only says what *we* last wrote; a foreign spec edit leaves it alone. A generation
// recorded at apply time would need memory in the workflow (and would flag our own side patches — suspend,
// resume — as drift). The plan is already computed on every pass, so the check needs nothing remembered:
//   1. every field we set must still hold our value (subset comparison: fields the API server defaults, or
//      Flux adds, are not drift);
//   2. a spec field we do *not* set but another field manager owns (managedFields) was added by someone else
//      (e.g. `spec.suspend: true`, a values key, `dependsOn`): it is drift too, and server-side apply alone
//      would leave it in place (it is not ours to drop), so the apply removes it explicitly.
// Flux's controllers write status, their finalizer and annotations — never spec — so they never count.

/** The field managers that are ksm-flux itself: the apply and the side patches (suspend, resume, requests). */
export const FIELD_MANAGER = 'ksm-flux';
export const SIDE_FIELD_MANAGER = 'ksm-flux-control';
export const OUR_FIELD_MANAGERS: readonly string[] = [FIELD_MANAGER, SIDE_FIELD_MANAGER];

/** What drifted on one Flux object (field paths only, never values: they may be anything). */
export interface Drift {
  /** Dotted field paths that differ from the plan or were added by another manager, e.g. spec.values.replicas. */
  paths: string[];
  /** The other field managers that own the drifted fields (as managedFields names them), when known. */
  managers: string[];
}

/** The part of a planned object the drift check reads. */
export interface PlannedShape {
  metadata: { labels?: Record<string, string> };
  spec: unknown;
}

/** The part of a live object the drift check reads. */
export interface LiveShape {
  metadata: { labels?: unknown; managedFields?: unknown; [k: string]: unknown };
  spec?: unknown;
  [k: string]: unknown;
}

interface ManagedFieldsEntry {
  manager?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

const MAX_PATHS = 10;
const MAX_DEPTH = 4;

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const absent = (v: unknown) => v === undefined || v === null;

function shown(segs: string[]): string {
  return segs.slice(0, MAX_DEPTH).join('.');
}

/** Paths (segments) where `live` does not hold what `planned` says. */
function differences(planned: unknown, live: unknown, segs: string[], out: string[][]): void {
  if (planned === undefined) return;
  // A null in an apply means "not set"; an empty map or list is the same as none.
  if (planned === null) {
    if (!absent(live)) out.push(segs);
    return;
  }
  if (Array.isArray(planned)) {
    if (!planned.length) {
      if (Array.isArray(live) ? live.length > 0 : !absent(live)) out.push(segs);
      return;
    }
    if (!Array.isArray(live) || live.length !== planned.length) {
      out.push(segs);
      return;
    }
    const inner: string[][] = [];
    planned.forEach((p, i) => differences(p, live[i], [...segs, String(i)], inner));
    if (inner.length) out.push(segs); // a list is replaced whole: name the list
    return;
  }
  if (isObject(planned)) {
    if (!Object.keys(planned).length) {
      if (!absent(live) && !(isObject(live) && !Object.keys(live).length)) out.push(segs);
      return;
    }
    if (!isObject(live)) {
      out.push(segs);
      return;
    }
    for (const [k, v] of Object.entries(planned)) differences(v, live[k], [...segs, k], out);
    return;
  }
  if (planned !== live) out.push(segs);
}

function lookup(o: unknown, segs: string[]): unknown {
  let cur = o;
  for (const s of segs) {
    if (!isObject(cur)) return undefined;
    cur = cur[s];
  }
  return cur;
}

/** The spec fields each foreign manager owns (leaf paths, from managedFields fieldsV1). */
function foreignOwned(live: LiveShape, ours: readonly string[]): { manager: string; segs: string[] }[] {
  const entries = Array.isArray(live.metadata.managedFields)
    ? (live.metadata.managedFields as ManagedFieldsEntry[])
    : [];
  const out: { manager: string; segs: string[] }[] = [];
  for (const e of entries) {
    const manager = e.manager ?? '';
    if (ours.includes(manager) || (e.subresource && e.subresource !== '')) continue;
    const spec = e.fieldsV1?.['f:spec'];
    if (!isObject(spec)) continue;
    const walk = (node: Record<string, unknown>, segs: string[]) => {
      const fields = Object.keys(node).filter((k) => k.startsWith('f:'));
      // Owning list items (k:/v:/i:) or the node itself ('.') is owning something at this path.
      if (!fields.length || Object.keys(node).some((k) => k !== '.' && !k.startsWith('f:')))
        out.push({ manager, segs });
      for (const f of fields) {
        const child = node[f];
        walk(isObject(child) ? child : {}, [...segs, f.slice(2)]);
      }
    };
    walk(spec, ['spec']);
  }
  return out;
}

/**
 * Spec fields another manager added that the plan does not set (segments from the object root): the apply must
 * remove them, since server-side apply leaves fields it does not own. Only fields that exist on the live object.
 */
export function foreignAdditions(
  planned: PlannedShape,
  live: LiveShape,
  ours: readonly string[] = OUR_FIELD_MANAGERS,
): string[][] {
  const root = { spec: planned.spec };
  const liveRoot = { spec: live.spec };
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const { segs } of foreignOwned(live, ours)) {
    // The shortest prefix the plan does not set: that whole field is theirs (a deeper path is inside it).
    for (let n = 2; n <= segs.length; n++) {
      const p = segs.slice(0, n);
      if (!absent(lookup(root, p))) continue;
      if (lookup(liveRoot, p) === undefined) break;
      const k = JSON.stringify(p);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(p);
      }
      break;
    }
  }
  // Outer fields first; a field inside one already removed needs no removal of its own.
  return out
    .sort((a, b) => a.length - b.length)
    .filter((p, i, all) => !all.slice(0, i).some((q) => q.every((s, j) => p[j] === s)));
}

/** Drift of a live Flux object from its plan, or undefined when it holds exactly what we set. */
export function detectDrift(
  planned: PlannedShape,
  live: LiveShape,
  ours: readonly string[] = OUR_FIELD_MANAGERS,
): Drift | undefined {
  const diffs: string[][] = [];
  differences(planned.spec, live.spec, ['spec'], diffs);
  // Our labels (others may add labels of their own: not drift).
  for (const [k, v] of Object.entries(planned.metadata.labels ?? {}))
    if (lookup(live.metadata.labels, [k]) !== v) diffs.push(['metadata', 'labels', k]);
  const added = foreignAdditions(planned, live, ours);
  const all = [...diffs, ...added];
  if (!all.length) return undefined;
  const paths = [...new Set(all.map(shown))];
  const owned = foreignOwned(live, ours);
  const related = (a: string[], b: string[]) => a.every((s, i) => b[i] === undefined || b[i] === s);
  const managers = [
    ...new Set(owned.filter((o) => all.some((p) => related(p, o.segs) || related(o.segs, p))).map((o) => o.manager)),
  ].sort();
  return { paths: paths.slice(0, MAX_PATHS).concat(paths.length > MAX_PATHS ? ['…'] : []), managers };
}

/** RFC 6901 pointer of a path. */
export function jsonPointer(segs: string[]): string {
  return segs.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** The Event note for a drift we are restoring. */
export function driftNote(ref: { kind: string; namespace: string; name: string }, d: Drift): string {
  const who = d.managers.length ? ` by ${d.managers.join(', ')}` : '';
  return `${ref.kind} ${ref.namespace}/${ref.name} was changed${who} (${d.paths.join(', ')}): restored to the ServiceSet's spec`;
}
