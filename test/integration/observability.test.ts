// Metrics (ours and the Temporal runtime's), health and readiness that mean something, and
// `ksm-flux doctor` (Temporal, CRDs, SMP readiness rules evaluated locally with CEL, RBAC).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { doctor, runChecks } from '../../src/commands/doctor';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { freePorts, stop } from '../../src/testenv/proc';
import { startTemporal, type TemporalEndpoint } from '../../src/testenv/temporal';
import { stage, startTestAdapter, testConfig, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, setFluxStatus, testEnv, uniqueName } from '../support/env';

async function get(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, text: await r.text() };
}

describe('observability', () => {
  const { kube } = testEnv();
  const ns = uniqueName('obs');
  let adapter: TestAdapter;
  let base: string;

  before(async () => {
    const [port, tport] = await freePorts(2);
    // One address for metrics and health; the Temporal runtime exports its own metrics beside it.
    adapter = await startTestAdapter({
      'metrics-addr': `127.0.0.1:${port}`,
      'health-addr': `127.0.0.1:${port}`,
      'temporal-metrics-addr': `127.0.0.1:${tport}`,
    });
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => adapter?.stop());

  it('exports reconcile, apply, service-state, signal and watch metrics, plus Temporal runtime metrics', async () => {
    const smp = await stage(adapter, ns, { helm: ['chart'] });
    await createServiceSet(kube, {
      namespace: ns,
      name: 'm1',
      provider: smp,
      services: [
        { name: 'a', namespace: 'web', template: 'chart' },
        { name: 'b', namespace: 'web', template: 'missing' },
      ],
    });
    const hr = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('m1', 'web', 'a') };
    await eventually('HelmRelease', () => kube.get(paths.flux(hr)));
    await setFluxStatus(kube, hr, { ready: 'True', reason: 'InstallSucceeded' });
    await eventually(
      'Deployed',
      async () =>
        (await getServiceSet(kube, ns, 'm1'))?.status?.services?.find((s: any) => s.name === 'a')?.state === 'Deployed',
    );
    const text = await eventually(
      'metrics with service states',
      async () => {
        const r = await get(`${base}/metrics`);
        return /ksm_flux_services\{state="Deployed"\} [1-9]/.test(r.text) && r.text;
      },
      15_000,
      500,
    );
    assert.match(text, /ksm_flux_reconciles_total\{outcome="ok"\} [1-9]/);
    assert.match(text, /ksm_flux_reconcile_duration_seconds_bucket\{le="[^"]+"\} [1-9]/);
    assert.match(text, /ksm_flux_applies_total\{kind="HelmRelease"\} [1-9]/);
    assert.match(text, /ksm_flux_status_writes_total [1-9]/);
    assert.match(text, /ksm_flux_services\{state="Pending"\} [1-9]/); // b waits for its template
    assert.match(text, /ksm_flux_workflow_signals_total\{kind="ServiceSet"\} [1-9]/);
    assert.match(text, /ksm_flux_watch_restarts\{resource="servicesets"\} \d/);
    assert.match(text, /ksm_flux_kube_requests_total\{verb="patch",code="200"\} [1-9]/);
    assert.match(text, /ksm_flux_leader 1/);
    assert.match(text, /ksm_flux_process_resident_memory_bytes/);
    assert.match(text, /temporal_[a-z_]+/, 'Temporal runtime metrics appended');
  });

  it('/healthz and /readyz answer 200 with their checks', async () => {
    const h = await get(`${base}/healthz`);
    assert.equal(h.status, 200);
    const r = await get(`${base}/readyz`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /\[\+\] worker ok/);
    assert.match(r.text, /\[\+\] temporal ok/);
    assert.match(r.text, /\[\+\] informers ok/);
  });

  it('/readyz turns 503 when Temporal goes away, and names the failing check', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-obs-'));
    let temporal: TemporalEndpoint | undefined;
    let a: TestAdapter | undefined;
    try {
      temporal = await startTemporal(dir, { ui: false });
      const [port] = await freePorts(1);
      a = await startTestAdapter(
        {
          'temporal-address': temporal.address,
          'health-addr': `127.0.0.1:${port}`,
          'metrics-addr': `127.0.0.1:${port}`,
        },
        'watcher',
      );
      await eventually('ready', async () => (await get(`http://127.0.0.1:${port}/readyz`)).status === 200);
      await stop(temporal.proc);
      const r = await eventually(
        'not ready',
        async () => {
          const x = await get(`http://127.0.0.1:${port}/readyz`);
          return x.status === 503 && x;
        },
        20_000,
        300,
      );
      assert.match(r.text, /\[-\] temporal: Temporal unreachable/);
    } finally {
      await a?.stop().catch(() => undefined);
      if (temporal) await stop(temporal.proc);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('doctor: Temporal, CRDs, SMP readiness rules (naming the failing one) and RBAC', async () => {
    const id = adapter.cfg.adapterName;
    // The adapter "Deployment" and a Flux controller, with status as a kubelet-backed cluster would show.
    const dep = (name: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'kcm-system' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    });
    for (const [name, available] of [
      [id, 1],
      [`${id}-hc`, 0],
    ] as const) {
      await kube.create('/apis/apps/v1/namespaces/kcm-system/deployments', dep(name));
      await kube.mergePatch(`/apis/apps/v1/namespaces/kcm-system/deployments/${name}/status`, {
        status: { replicas: 1, availableReplicas: available, readyReplicas: available },
      });
    }
    const smpName = uniqueName('smp-doc');
    await kube.create(paths.smps(), {
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'StateManagementProvider',
      metadata: { name: smpName },
      spec: {
        adapter: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: id,
          namespace: 'kcm-system',
          readinessRule: 'self.status.availableReplicas >= 1',
        },
        provisioner: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: `${id}-hc`,
            namespace: 'kcm-system',
            readinessRule: 'self.status.availableReplicas >= self.spec.replicas',
          },
        ],
        provisionerCRDs: [
          { group: 'helm.toolkit.fluxcd.io', version: 'v2', resources: ['helmreleases'] },
          { group: 'example.com', version: 'v1', resources: ['widgets'] },
        ],
        selector: {},
        suspend: false,
      },
    });
    const lines: string[] = [];
    const ok = await doctor(testConfig({ 'adapter-name': id }), { smp: smpName, out: (s) => lines.push(s) });
    const outText = lines.join('\n');
    assert.equal(ok, false, outText);
    assert.match(outText, /ok\s+temporal\s+127\.0\.0\.1:\d+ namespace default/);
    assert.match(outText, /ok\s+crd helmreleases\.helm\.toolkit\.fluxcd\.io/);
    assert.match(
      outText,
      new RegExp(
        `ok\\s+smp ${smpName} adapter\\s+Deployment kcm-system/${id}: rule "self.status.availableReplicas >= 1" is true`,
      ),
    );
    assert.match(
      outText,
      new RegExp(
        `FAIL\\s+smp ${smpName} provisioner\\s+Deployment kcm-system/${id}-hc: rule "self.status.availableReplicas >= self.spec.replicas" failed: No such key: availableReplicas`,
      ),
    );
    assert.match(outText, /FAIL\s+smp \S+ provisionerCRD\s+widgets\.example\.com v1 is not served/);
    // kcm mode (the default) needs a kustomize-controller; this SMP names none.
    assert.match(
      outText,
      /FAIL\s+flux kustomize-controller \(kcm mode, smp \S+\)\s+no kustomize-controller \(Kustomize and Resources services need it.*the SMP names no kustomize-controller provisioner/,
    );
    assert.match(outText, /ok\s+rbac patch servicesets\/status\.k0rdent\.mirantis\.com/);
    assert.match(outText, /checks failed/);

    // As an identity without permissions, RBAC checks fail and say why.
    await kube.create('/api/v1/namespaces/kcm-system/serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: `nobody-${id}` },
    });
    const tok = await kube.create<{ status: { token: string } }>(
      `/api/v1/namespaces/kcm-system/serviceaccounts/nobody-${id}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    );
    const kc = fs.readFileSync(testEnv().kubeconfig, 'utf8').replace(/token: .*/, `token: ${tok.status.token}`);
    const kcFile = path.join(os.tmpdir(), `kc-${id}`);
    fs.writeFileSync(kcFile, kc);
    try {
      const checks = await runChecks(testConfig({ kubeconfig: kcFile, 'adapter-name': id }), { smp: smpName });
      const rbac = checks.filter((c) => c.name.startsWith('rbac'));
      assert.ok(rbac.length >= 20);
      assert.ok(
        rbac.every((c) => !c.ok && /denied/.test(c.detail)),
        JSON.stringify(rbac.filter((c) => c.ok || !/denied/.test(c.detail)).slice(0, 3)),
      );
    } finally {
      fs.rmSync(kcFile, { force: true });
    }
  });
});
