// Installs the pinned upstream CRDs and waits until each is Established and served through discovery.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { KubeClient } from '../kube/client';
import { waitUntil } from './proc';

interface CrdDoc {
  metadata: { name: string };
  spec: { group: string; names: { plural: string; kind: string }; versions: { name: string; served: boolean }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

export function readCrds(dir: string): CrdDoc[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => YAML.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CrdDoc);
}

const crdPath = (name = '') => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions${name ? `/${name}` : ''}`;

export async function installCrds(client: KubeClient, dir: string, only?: (crd: CrdDoc) => boolean): Promise<string[]> {
  const crds = readCrds(dir).filter((c) => !only || only(c));
  // Server-side apply, as raw JSON: idempotent when `up` runs again.
  await Promise.all(
    crds.map((crd) =>
      client.apply(
        crdPath(crd.metadata.name),
        { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', ...crd },
        'ksm-flux-testenv',
      ),
    ),
  );
  for (const crd of crds) {
    await waitUntil(
      `CRD ${crd.metadata.name} Established`,
      async () =>
        !!(await client.get<CrdDoc>(crdPath(crd.metadata.name)))?.status?.conditions?.some(
          (c) => c.type === 'Established' && c.status === 'True',
        ),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  }
  // Discovery: clients map kind → resource through it (envtest's WaitForCRDs does the same).
  for (const crd of crds) {
    for (const v of crd.spec.versions.filter((x) => x.served)) {
      await waitUntil(
        `discovery ${crd.spec.group}/${v.name} ${crd.spec.names.plural}`,
        async () => {
          const res = await client.get<{ resources: { name: string }[] }>(`/apis/${crd.spec.group}/${v.name}`);
          return !!res?.resources.some((r) => r.name === crd.spec.names.plural);
        },
        { timeoutMs: 10_000, intervalMs: 50 },
      );
    }
  }
  return crds.map((c) => c.metadata.name);
}
