// Messages we store (status, observed Flux conditions) are bounded: an ellipsis marks the cut. Pure and
// workflow-safe.
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
