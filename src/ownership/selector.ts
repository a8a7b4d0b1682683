// Kubernetes LabelSelector semantics (matchLabels AND matchExpressions). Workflow-safe.

export interface SelectorRequirement {
  key: string;
  operator: string;
  values?: string[] | null;
}
export interface Selector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: SelectorRequirement[] | null;
}

export type SelectorResult = { matches: boolean; error?: undefined } | { matches: false; error: string };

/** A nil selector matches everything, as in the built-in adapter; an empty one does too. */
export function matchSelector(
  labels: Record<string, string> | null | undefined,
  selector: Selector | null | undefined,
): SelectorResult {
  if (!selector) return { matches: true };
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (l[k] !== v) return { matches: false };
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!values.length) return { matches: false, error: `selector: operator In on ${req.key} needs values` };
        if (!has || !values.includes(l[req.key]!)) return { matches: false };
        break;
      case 'NotIn':
        if (!values.length) return { matches: false, error: `selector: operator NotIn on ${req.key} needs values` };
        if (has && values.includes(l[req.key]!)) return { matches: false };
        break;
      case 'Exists':
        if (values.length) return { matches: false, error: `selector: operator Exists on ${req.key} takes no values` };
        if (!has) return { matches: false };
        break;
      case 'DoesNotExist':
        if (values.length)
          return { matches: false, error: `selector: operator DoesNotExist on ${req.key} takes no values` };
        if (has) return { matches: false };
        break;
      default:
        return { matches: false, error: `selector: unknown operator ${JSON.stringify(req.operator)} on ${req.key}` };
    }
  }
  return { matches: true };
}
