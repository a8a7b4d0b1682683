// The local control plane is real: the upstream CRD schemas accept and reject what they should, our
// Flux objects pass the real HelmRelease/Kustomization schemas, and Temporal runs a workflow.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { ServiceSet, ServiceTemplate } from '../../src/api/k0rdent';
import { KubeError } from '../../src/kube/client';
import { paths } from '../../src/kube/paths';
import { planService } from '../../src/plan/plan';
import { ProviderConfig } from '../../src/plan/providerConfig';
import { createNamespace, testEnv, uniqueName } from '../support/env';

const ns = uniqueName('smoke');

function serviceSetBody(name: string, services: unknown[]) {
  return {
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    kind: 'ServiceSet',
    metadata: { name, namespace: ns },
    spec: { cluster: 'c1', provider: { name: 'ksm-flux' }, services },
  };
}

async function rejected(p: Promise<unknown>): Promise<KubeError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KubeError, `expected a KubeError, got ${String(e)}`);
    return e;
  }
  assert.fail('the API server accepted an invalid object');
}

describe('control plane smoke', () => {
  const { kube } = testEnv();
  before(async () => createNamespace(kube, ns));

  it('accepts a valid ServiceSet and its status', async () => {
    await kube.create(
      paths.serviceSets(ns),
      serviceSetBody('ok', [{ name: 'nginx', namespace: 'web', template: 'nginx-1-0-0' }]),
    );
    const st = await kube.mergePatch(`${paths.serviceSet(ns, 'ok')}/status`, {
      status: {
        deployed: false,
        services: [
          {
            name: 'nginx',
            namespace: 'web',
            template: 'nginx-1-0-0',
            type: 'Helm',
            state: 'Provisioning',
            lastStateTransitionTime: new Date().toISOString(),
          },
        ],
      },
    });
    assert.equal((st as any).status.services[0].state, 'Provisioning');
  });

  it('rejects a ServiceSet without spec.cluster (required)', async () => {
    const body = serviceSetBody('no-cluster', []);
    delete (body.spec as Record<string, unknown>).cluster;
    const e = await rejected(kube.create(paths.serviceSets(ns), body));
    assert.equal(e.status, 422);
    assert.match(e.message, /spec\.cluster/);
  });

  it('rejects a service without a template (required)', async () => {
    const e = await rejected(
      kube.create(paths.serviceSets(ns), serviceSetBody('no-template', [{ name: 'x', namespace: 'y' }])),
    );
    assert.match(e.message, /template/);
  });

  it('rejects an unknown service state in status', async () => {
    await kube.create(paths.serviceSets(ns), serviceSetBody('bad-state', []));
    const e = await rejected(
      kube.mergePatch(`${paths.serviceSet(ns, 'bad-state')}/status`, {
        status: {
          deployed: false,
          services: [
            {
              name: 'a',
              namespace: 'b',
              template: 't',
              type: 'Helm',
              state: 'Sleeping',
              lastStateTransitionTime: new Date().toISOString(),
            },
          ],
        },
      }),
    );
    assert.match(e.message, /Sleeping|Unsupported value/);
  });

  it('rejects a service status with an empty type', async () => {
    await kube.create(paths.serviceSets(ns), serviceSetBody('bad-type', []));
    const e = await rejected(
      kube.mergePatch(`${paths.serviceSet(ns, 'bad-type')}/status`, {
        status: {
          deployed: false,
          services: [
            {
              name: 'a',
              namespace: 'b',
              template: 't',
              type: '',
              state: 'Pending',
              lastStateTransitionTime: new Date().toISOString(),
            },
          ],
        },
      }),
    );
    assert.equal(e.status, 422);
  });

  it('accepts a HelmRelease v2 and a Kustomization v1 built from our types', async () => {
    const ss = ServiceSet.parse({
      ...serviceSetBody('planned', []),
      metadata: { name: 'planned', namespace: ns, uid: '00000000-0000-0000-0000-000000000001' },
    });
    const config = ProviderConfig.parse({ timeout: '2m' });
    const helmT = ServiceTemplate.parse({
      metadata: { name: 'nginx-1-0-0', namespace: ns, uid: 'u1' },
      spec: { helm: { chartSpec: { chart: 'nginx' } }, helmOptions: { wait: false, labels: { team: 'a' } } },
      status: { valid: true, chartRef: { kind: 'HelmChart', name: 'nginx-1-0-0', namespace: ns } },
    });
    const ksT = ServiceTemplate.parse({
      metadata: { name: 'app-ks', namespace: ns, uid: 'u2' },
      spec: {
        kustomize: {
          deploymentType: 'Remote',
          localSourceRef: { kind: 'GitRepository', name: 'repo' },
          path: './deploy',
        },
      },
      status: { valid: true, sourceStatus: { kind: 'GitRepository', name: 'repo', namespace: ns } },
    });
    const hr = planService(
      { serviceSet: ss, config, paused: false, fluxMode: 'kcm' },
      { name: 'nginx', namespace: 'web', template: 'nginx-1-0-0', values: 'replicaCount: 2\nimage:\n  tag: "1.27"\n' },
      helmT,
    );
    const ks = planService(
      { serviceSet: ss, config, paused: true, fluxMode: 'kcm' },
      { name: 'app', namespace: 'apps', template: 'app-ks' },
      ksT,
    );
    assert.ok(hr.ok && ks.ok);
    for (const obj of [hr.object, ks.object]) {
      const path = paths.flux({ kind: obj.kind, namespace: ns, name: obj.metadata.name });
      // No owner: the garbage collector would remove objects whose owner ServiceSet does not exist.
      const got = await kube.apply(
        path,
        { ...obj, metadata: { ...obj.metadata, namespace: ns, ownerReferences: [] } },
        'ksm-flux-smoke',
      );
      assert.equal(got.kind, obj.kind);
      assert.deepEqual((got as any).spec.interval, obj.spec.interval);
    }
    const got = (await kube.get(
      paths.flux({ kind: 'HelmRelease', namespace: ns, name: hr.object.metadata.name }),
    )) as any;
    assert.deepEqual(got.spec.values, { replicaCount: 2, image: { tag: '1.27' } });
    assert.equal(got.spec.releaseName, 'nginx');
    assert.equal(got.spec.install.disableWait, true);
  });

  it('rejects a HelmRelease with a release name over 53 characters (real CRD schema)', async () => {
    const e = await rejected(
      kube.apply(
        paths.flux({ kind: 'HelmRelease', namespace: ns, name: 'too-long' }),
        {
          apiVersion: 'helm.toolkit.fluxcd.io/v2',
          kind: 'HelmRelease',
          metadata: { name: 'too-long', namespace: ns },
          spec: { interval: '5m', releaseName: 'x'.repeat(54), chartRef: { kind: 'HelmChart', name: 'c' } },
        },
        'ksm-flux-smoke',
      ),
    );
    assert.equal(e.status, 422);
  });

  describe('Temporal', () => {
    let connection: Connection;
    before(async () => {
      connection = await Connection.connect({ address: testEnv().temporalAddress });
    });
    after(async () => connection?.close());

    it('runs a trivial workflow to completion through a worker', async () => {
      const env = testEnv();
      const { NativeConnection } = await import('@temporalio/worker');
      const native = await NativeConnection.connect({ address: env.temporalAddress });
      const taskQueue = uniqueName('smoke');
      const worker = await Worker.create({
        connection: native,
        namespace: env.temporalNamespace,
        taskQueue,
        workflowsPath: require.resolve('./workflows/smoke'),
        activities: { greet: async (name: string) => `hello ${name}` },
      });
      const client = new Client({ connection, namespace: env.temporalNamespace });
      const result = await worker.runUntil(
        client.workflow.execute('smokeWorkflow', { taskQueue, workflowId: uniqueName('smoke-wf'), args: ['ksm-flux'] }),
      );
      assert.equal(result, 'hello ksm-flux');
      await native.close();
    });

    it('serves the Web UI', async () => {
      const res = await fetch(testEnv().temporalUiUrl);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /<html/i);
    });
  });
});
