// Deployment objects that stand for processes the local control plane runs directly (no kubelet runs here): the
// adapter, and the Flux controllers. A StateManagementProvider names such Deployments in `spec.adapter` and
// `spec.provisioner`; kcm's SMP controller GETs them and evaluates their readiness rules, and so does
// `ksm-flux doctor`. The stand-in carries the status a rolled-out Deployment has (nothing else writes it: the
// test plane runs no deployment controller) and an annotation saying where the real process runs.
import { STAND_IN_ANNOTATION } from '../workflow/constants';
import type { KubeClient, KubeObject } from '../kube/client';

const deployments = (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`;

/** Creates (or keeps) Deployment NS/NAME with one available replica; `note` says where the process runs. */
export async function ensureStandInDeployment(
  kube: KubeClient,
  namespace: string,
  name: string,
  note: string,
): Promise<KubeObject> {
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'ksm-flux-testenv' };
  const body = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels, annotations: { [STAND_IN_ANNOTATION]: note } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels },
        // Never scheduled: no scheduler or kubelet runs in the local control plane.
        spec: { containers: [{ name, image: 'ksm-flux.invalid/runs-locally' }] },
      },
    },
  };
  const existing = await kube.get(`${deployments(namespace)}/${name}`);
  const obj = existing ?? (await kube.create<KubeObject>(deployments(namespace), body));
  const generation = (obj.metadata.generation as number | undefined) ?? 1;
  await kube.mergePatch(`${deployments(namespace)}/${name}/status`, {
    status: {
      observedGeneration: generation,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      conditions: [
        {
          type: 'Available',
          status: 'True',
          reason: 'RunsLocally',
          message: note,
          lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
          lastUpdateTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
      ],
    },
  });
  return obj;
}
