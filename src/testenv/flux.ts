// Flux controllers against the local control plane (issue: end to end with real Flux): source-, kustomize- and
// helm-controller as plain processes with KUBECONFIG pointing at the local kube-apiserver, every namespace
// watched, metrics/health (and source-controller's artifact server) on free loopback ports. Which arguments they
// get — kcm's label-filtered Flux (default) or a standalone one — is src/testenv/fluxModes.ts.
import type { FluxMode } from '../workflow/fluxMode';
import { startFluxControllers } from './fluxModes';
import type { Started } from './proc';

export function startFlux(dir: string, kubeconfig: string, mode: FluxMode = 'kcm'): Promise<Started[]> {
  return startFluxControllers(dir, kubeconfig, { mode });
}
