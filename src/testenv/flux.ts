// Flux controllers against the local control plane (issue: end to end with real Flux).
import type { Started } from './proc';

export async function startFlux(_dir: string, _kubeconfig: string): Promise<Started[]> {
  throw new Error('Flux controllers are not available yet in this build of ksm-flux');
}
