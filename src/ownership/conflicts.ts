// Who owns a contested Helm release (same cluster, namespace and release name): the higher priority wins,
// ties go to the older ServiceSet, then to the lexically smaller namespace/name. Pure and workflow-safe.

export interface Contender {
  uid: string;
  namespace: string;
  name: string;
  priority: number;
  createdAt: string;
  deleting: boolean;
}

export function compareContenders(a: Contender, b: Contender): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const ta = Date.parse(a.createdAt);
  const tb = Date.parse(b.createdAt);
  if (ta !== tb) return ta - tb;
  const ka = `${a.namespace}/${a.name}`;
  const kb = `${b.namespace}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** ServiceSets being deleted are going away and never win. */
export function pickWinner(contenders: Contender[]): Contender | undefined {
  return contenders.filter((c) => !c.deleting).sort(compareContenders)[0];
}

/** A ServiceSet of another provider (e.g. kcm's built-in ksm-projectsveltos) that deploys the same release. */
export interface ForeignClaim {
  namespace: string;
  name: string;
  provider: string;
}

export type ReleaseOwner =
  { owner: 'us' } | { owner: 'ours'; winner: Contender } | { owner: 'foreign'; claims: ForeignClaim[] };

/**
 * Who deploys a release that several ServiceSets want. Another provider's claim always stands: two providers
 * would undo each other's work on every pass, and we cannot make the other one yield, so we do (a deleting
 * claim too — its provider is still uninstalling). Among our own ServiceSets, pickWinner decides.
 */
export function releaseOwner(me: Contender, ours: Contender[], foreign: ForeignClaim[]): ReleaseOwner {
  if (foreign.length) return { owner: 'foreign', claims: foreign };
  const winner = pickWinner([me, ...ours]);
  if (!winner || winner.uid === me.uid) return { owner: 'us' };
  return { owner: 'ours', winner };
}
