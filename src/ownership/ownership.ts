// Is a ServiceSet ours? Its StateManagementProvider names our adapter, and the ServiceSet's labels match the
// provider's selector (full LabelSelector semantics). Pure: the caller reads the provider.
import type { ServiceSet, StateManagementProvider } from '../api/k0rdent';
import { matchSelector } from './selector';

export function ownership(
  smp: StateManagementProvider | undefined,
  ss: ServiceSet,
  identity: { name: string; namespace: string },
): { owned: boolean; reason?: string } {
  if (!smp) return { owned: false, reason: `StateManagementProvider ${ss.spec.provider.name || '(none)'} not found` };
  const a = smp.spec.adapter;
  if (a.name !== identity.name || (a.namespace ?? '') !== identity.namespace) {
    return {
      owned: false,
      reason: `StateManagementProvider ${smp.metadata.name} names adapter ${a.namespace}/${a.name}, not ${identity.namespace}/${identity.name}`,
    };
  }
  const m = matchSelector(ss.metadata.labels, smp.spec.selector);
  if (m.error) return { owned: false, reason: `StateManagementProvider ${smp.metadata.name}: ${m.error}` };
  if (!m.matches)
    return { owned: false, reason: `labels do not match the selector of StateManagementProvider ${smp.metadata.name}` };
  return { owned: true };
}
