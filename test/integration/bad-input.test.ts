// Bad input gives a clear, named error in the ServiceSet status and an Event; nothing crashes, nothing
// else is disturbed, and fixing the input recovers without a manual step.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createHelmTemplate,
  createKubeconfigSecret,
  createKustomizeTemplate,
  createServiceSet,
  events,
  eventsWith,
  eventually,
  getServiceSet,
  sleep,
  testEnv,
  uniqueName,
} from '../support/env';

describe('bad input', () => {
  const { kube } = testEnv();
  const ns = uniqueName('bad');
  let adapter: TestAdapter;
  let smp: string;
  const hrPath = (ss: string, svc: string) =>
    paths.flux({ kind: 'HelmRelease', namespace: ns, name: fluxObjectName(ss, 'web', svc) });
  const entry = async (ss: string, svc: string) =>
    (await getServiceSet(kube, ns, ss))?.status?.services?.find((s: any) => s.name === svc);
  const failedWith = (ss: string, svc: string, re: RegExp) =>
    eventually(`${ss}/${svc} Failed with ${re}`, async () => {
      const e = await entry(ss, svc);
      return e?.state === 'Failed' && re.test(e.failureMessage ?? '') && e;
    });

  const stateWith = (ss: string, svc: string, state: string, re: RegExp) =>
    eventually(`${ss}/${svc} ${state} with ${re}`, async () => {
      const o = await getServiceSet(kube, ns, ss);
      const e = o?.status?.services?.find((s: any) => s.name === svc);
      const c = o?.status?.conditions?.find((x: any) => x.type === 'FluxObjectsApplied');
      return e?.state === state && !e.failureMessage && re.test(c?.message ?? '') && e;
    });

  before(async () => {
    adapter = await startTestAdapter();
    smp = await stage(adapter, ns, { helm: ['good'] });
    await createHelmTemplate(kube, ns, 'broken', {
      valid: false,
      validationError: 'chart nginx 9.9.9 not found in repository',
    });
    await createHelmTemplate(kube, ns, 'unready', { chartRef: false });
    await createKustomizeTemplate(kube, ns, 'cm-source', { sourceKind: 'ConfigMap' });
  });
  after(async () => adapter?.stop());

  it('invalid provider config: named key in a condition and a Warning event, nothing applied; fixing it applies', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'cfg',
      provider: smp,
      config: { interval: '5m', retries: 3, priority: 'high' },
      services: [{ name: 'a-cfg', namespace: 'web', template: 'good' }],
    });
    const o: any = await eventually('ProviderConfigValid=False', async () => {
      const x = await getServiceSet(kube, ns, 'cfg');
      return x?.status?.conditions?.find((c: any) => c.type === 'ProviderConfigValid' && c.status === 'False') && x;
    });
    const c = o.status.conditions.find((x: any) => x.type === 'ProviderConfigValid');
    assert.equal(c.reason, 'ProviderConfigInvalid');
    assert.match(c.message, /provider\.config\.retries: unknown key/);
    assert.match(c.message, /provider\.config\.priority: /);
    assert.equal(o.status.conditions.find((x: any) => x.type === 'FluxObjectsApplied').status, 'False');
    await sleep(800);
    assert.equal(await kube.get(hrPath('cfg', 'a-cfg')), undefined, 'nothing applied');
    const evs = await events(kube, ns);
    assert.ok(evs.some((e) => e.reason === 'ProviderConfigInvalid' && e.type === 'Warning' && /retries/.test(e.note)));

    await kube.mergePatch(paths.serviceSet(ns, 'cfg'), {
      spec: { provider: { config: { retries: null, priority: 200 } } },
    });
    const applied: any = await eventually('applied after the fix', () => kube.get(hrPath('cfg', 'a-cfg')), 10_000);
    assert.equal(applied.spec.interval, '5m');
    await eventually(
      'condition back to True',
      async () =>
        (await getServiceSet(kube, ns, 'cfg')).status.conditions.find((x: any) => x.type === 'ProviderConfigValid')
          .status === 'True',
    );
  });

  it('broken values YAML fails that service only, naming the line; the other service is applied', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'vals',
      provider: smp,
      services: [
        { name: 'bad-yaml', namespace: 'web', template: 'good', values: 'replicas: 2\nimage:\n  tag: [unclosed\n' },
        { name: 'a-list', namespace: 'web', template: 'good', values: '- a\n- b\n' },
        { name: 'fine', namespace: 'web', template: 'good', values: 'replicas: 3\n' },
      ],
    });
    const e = await failedWith('vals', 'bad-yaml', /^values: YAML syntax error at line \d+/);
    assert.equal(e.type, 'Helm');
    await failedWith('vals', 'a-list', /expected a mapping/);
    await eventually('the good service applied', () => kube.get(hrPath('vals', 'fine')));
    assert.equal(await kube.get(hrPath('vals', 'bad-yaml')), undefined);
    const o = await getServiceSet(kube, ns, 'vals');
    const cond = o.status.conditions.find((x: any) => x.type === 'FluxObjectsApplied');
    assert.equal(cond.reason, 'FluxObjectsBuildFailed');
    assert.match(cond.message, /web\/bad-yaml/);
    await eventsWith(
      kube,
      ns,
      'a FluxObjectsBuildFailed event',
      (x) => x.reason === 'FluxObjectsBuildFailed' && x.regarding.name === 'vals',
    );

    const services = o.spec.services.map((s: any) => (s.name === 'bad-yaml' ? { ...s, values: 'replicas: 2\n' } : s));
    await kube.mergePatch(paths.serviceSet(ns, 'vals'), { spec: { services } });
    await eventually('fixed values applied', () => kube.get(hrPath('vals', 'bad-yaml')), 10_000);
  });

  it('invalid templates, over-long release names, unsupported sources fail; missing/not-ready templates wait', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'tmpl',
      provider: smp,
      services: [
        { name: 'missing', namespace: 'web', template: 'does-not-exist' },
        { name: 'invalid', namespace: 'web', template: 'broken' },
        { name: 'unready', namespace: 'web', template: 'unready' },
        { name: 'x'.repeat(54), namespace: 'web', template: 'good' },
        { name: 'cm', namespace: 'web', template: 'cm-source' },
      ],
    });
    // Not there yet is waiting (Pending), not Failed (test/integration/awaiting.test.ts has the details).
    await stateWith('tmpl', 'missing', 'Pending', /waiting for ServiceTemplate .*\/does-not-exist to exist/);
    await failedWith('tmpl', 'invalid', /ServiceTemplate broken is invalid: chart nginx 9\.9\.9 not found/);
    await stateWith('tmpl', 'unready', 'Pending', /has no status\.chartRef yet/);
    await failedWith('tmpl', 'x'.repeat(54), /54 characters; Helm allows at most 53/);
    const cm = await failedWith(
      'tmpl',
      'cm',
      /needs a GitRepository, OCIRepository, Bucket or ExternalArtifact source, not a ConfigMap/,
    );
    assert.equal(cm.type, 'Kustomize');
    // The template appears later: the watcher re-triggers the ServiceSet.
    await createHelmTemplate(kube, ns, 'does-not-exist');
    await eventually('applied once the template exists', () => kube.get(hrPath('tmpl', 'missing')), 10_000);
  });

  it('an object the API server refuses (a helmOptions timeout that is no duration) is a non-retryable, named failure', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'refused',
      provider: smp,
      services: [
        { name: 'bad-timeout', namespace: 'web', template: 'good', helmOptions: { timeout: 'soon' } },
        { name: 'fine-too', namespace: 'web', template: 'good' },
      ],
    });
    // (A namespace over 63 characters, refused here before, is now named by the plan: hostile.test.ts n-ns64.)
    await failedWith('refused', 'bad-timeout', /HelmRelease.*is invalid.*timeout/);
    await eventually('the other service applied', () => kube.get(hrPath('refused', 'fine-too')));
    const o = await getServiceSet(kube, ns, 'refused');
    const cond = o.status.conditions.find((x: any) => x.type === 'FluxObjectsApplied');
    assert.equal(cond.reason, 'FluxObjectsApplyFailed');
    // Not retried in a loop: the same input stays refused without new apply attempts.
    const applies = adapter.worker!.client.stats.byVerb.patch ?? 0;
    await sleep(2500);
    const after = adapter.worker!.client.stats.byVerb.patch ?? 0;
    assert.ok(after - applies <= 1, `no apply loop (${after - applies} patches)`);
  });

  it('missing kubeconfig Secret: waiting (Pending, named), recovered when the Secret appears', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'nosecret',
      provider: smp,
      cluster: 'ghost',
      services: [{ name: 'ns-svc', namespace: 'web', template: 'good' }],
    });
    await stateWith(
      'nosecret',
      'ns-svc',
      'Pending',
      /waiting for kubeconfig Secret .*\/ghost-kubeconfig of cluster ghost/,
    );
    assert.equal(await kube.get(hrPath('nosecret', 'ns-svc')), undefined);
    await createKubeconfigSecret(kube, ns, 'ghost');
    await eventually('applied once the Secret exists', () => kube.get(hrPath('nosecret', 'ns-svc')), 15_000);
  });

  it('the adapter is still healthy and reconciling after all of this', async () => {
    assert.equal(adapter.worker!.worker.getState(), 'RUNNING');
    await createServiceSet(kube, {
      namespace: ns,
      name: 'after',
      provider: smp,
      services: [{ name: 'after-svc', namespace: 'web', template: 'good' }],
    });
    await eventually('a new ServiceSet is applied', () => kube.get(hrPath('after', 'after-svc')));
  });
});
