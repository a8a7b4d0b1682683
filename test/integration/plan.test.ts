// `ksm-flux plan`: what it prints is what the worker applies (same planning code), a file is planned without
// applying anything, and a ServiceSet that would fail makes it exit non-zero naming why.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { plan, type PlanReport } from '../../src/commands/plan';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createCapiCluster, installCapiClusterCrd } from '../support/capi';
import { createServiceSet, eventually, getServiceSet, testEnv, uniqueName } from '../support/env';

const root = path.resolve(__dirname, '..', '..');

async function runPlan(
  arg: string | undefined,
  opts: { file?: string } = {},
): Promise<{ code: number; report: PlanReport }> {
  let text = '';
  const code = await plan({ kubeconfig: testEnv().kubeconfig }, arg, { ...opts, json: true, out: (s) => (text += s) });
  return { code, report: JSON.parse(text) as PlanReport };
}

describe('ksm-flux plan', () => {
  const { kube } = testEnv();
  const ns = uniqueName('plan');
  let adapter: TestAdapter;
  let smp: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-plan-'));
  const hrPath = (ss: string, svc: string) =>
    paths.flux({ kind: 'HelmRelease', namespace: ns, name: fluxObjectName(ss, 'web', svc) });
  const services = (values: string) => [
    {
      name: 'web-a',
      namespace: 'web',
      template: 'app',
      values,
      valuesFrom: [{ kind: 'ConfigMap' as const, name: 'extra' }],
      helmOptions: { labels: { team: 'a' }, timeout: '7m' },
    },
  ];

  before(async () => {
    await installCapiClusterCrd(kube);
    adapter = await startTestAdapter();
    smp = await stage(adapter, ns, { helm: ['app'] });
    await createCapiCluster(kube, ns, 'cluster1', { env: 'prod' });
    await kube.create(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'extra', namespace: ns },
      data: { 'b.yaml': 'b: 1\n', 'a.yaml': 'a: 1\n' },
    });
  });
  after(async () => {
    await adapter?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('prints exactly the object the worker applied, and no diff against it', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'p1',
      provider: smp,
      config: { interval: '3m', syncMode: 'ContinuousWithDriftDetection', reloader: true },
      services: services('env: {{ index .Cluster.metadata.labels "env" }}\nreplicas: 2\n'),
    });
    const live: any = await eventually('applied', () => kube.get(hrPath('p1', 'web-a')));
    const { code, report } = await runPlan(`${ns}/p1`);
    assert.equal(code, 0);
    assert.equal(report.fails, false);
    assert.match(report.unsupported.join('\n'), /provider\.config\.reloader/);
    const s = report.services[0]!;
    assert.equal(s.service, 'web/web-a');
    assert.equal(s.live, true);
    assert.deepEqual(s.diff, [], 'the live object matches the plan');
    const o: any = s.object;
    // What plan prints is what the worker wrote: spec, labels, annotations, owner.
    assert.deepEqual(o.spec, live.spec);
    assert.deepEqual(o.metadata.labels, live.metadata.labels);
    for (const [k, v] of Object.entries(o.metadata.annotations)) assert.equal(live.metadata.annotations[k], v, k);
    assert.deepEqual(o.metadata.ownerReferences, live.metadata.ownerReferences);
    // and it shows what the issue asks for: rendered values, merged helmOptions, labels, the kubeConfig reference.
    assert.deepEqual(o.spec.values, { env: 'prod', replicas: 2 });
    assert.equal(o.spec.timeout, '7m');
    assert.deepEqual(o.spec.commonMetadata, { labels: { team: 'a' } });
    assert.deepEqual(o.spec.kubeConfig, { secretRef: { name: 'cluster1-kubeconfig', key: 'value' } });
    assert.deepEqual(
      o.spec.valuesFrom.map((v: any) => v.valuesKey),
      ['a.yaml', 'b.yaml'],
    );
  });

  it('--file: plans a changed ServiceSet with a diff, applies nothing; the command line prints it', async () => {
    const live: any = await getServiceSet(kube, ns, 'p1');
    const changed = {
      apiVersion: live.apiVersion,
      kind: 'ServiceSet',
      metadata: { name: 'p1', namespace: ns },
      spec: { ...live.spec, services: services('env: {{ index .Cluster.metadata.labels "env" }}\nreplicas: 5\n') },
    };
    const file = path.join(tmp, 'changed.yaml');
    fs.writeFileSync(file, YAML.stringify(changed));
    const before = (await kube.get<any>(hrPath('p1', 'web-a'))).metadata.resourceVersion;
    const { code, report } = await runPlan(undefined, { file });
    assert.equal(code, 0);
    const d = report.services[0]!.diff;
    assert.ok(d.includes('-     replicas: 2') && d.includes('+     replicas: 5'), d.join('\n'));
    assert.equal((await kube.get<any>(hrPath('p1', 'web-a'))).metadata.resourceVersion, before, 'nothing applied');

    const r = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(root, 'src', 'cli.ts'),
        'plan',
        '--file',
        file,
        '--kubeconfig',
        testEnv().kubeconfig,
      ],
      { cwd: root },
    );
    assert.match(r.stdout, /--- service web\/web-a → HelmRelease /);
    assert.match(r.stdout, /\+ {5}replicas: 5/);
    assert.match(r.stdout, /result: OK/);
  });

  it('exits non-zero naming why when the ServiceSet would fail (template error, bad config)', async () => {
    const bad = {
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'ServiceSet',
      metadata: { name: 'p2', namespace: ns },
      spec: {
        cluster: 'cluster1',
        provider: { name: smp },
        services: services('a: 1\nb: {{ .Cluster.spec.nope }}\n'),
      },
    };
    const file = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(file, YAML.stringify(bad));
    const t = await runPlan(undefined, { file });
    assert.equal(t.code, 1);
    assert.equal(t.report.services[0]!.error!.reason, 'InvalidValuesTemplate');
    assert.match(t.report.services[0]!.error!.message, /service web\/web-a, line 2: .*"nope"/);

    fs.writeFileSync(
      file,
      YAML.stringify({ ...bad, spec: { ...bad.spec, provider: { name: smp, config: { replicas: 2 } } } }),
    );
    const c = await runPlan(undefined, { file });
    assert.equal(c.code, 1);
    assert.match(c.report.configError!, /provider\.config\.replicas: unknown key/);
    const r = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(root, 'src', 'cli.ts'),
        'plan',
        '--file',
        file,
        '--kubeconfig',
        testEnv().kubeconfig,
      ],
      { cwd: root },
    ).catch((e: { code: number; stdout: string }) => e);
    assert.equal((r as { code?: number }).code, 1);
    assert.match(r.stdout, /FAIL provider config: provider\.config\.replicas: unknown key/);
    assert.equal(await kube.get(paths.serviceSet(ns, 'p2')), undefined, 'nothing created');
  });

  it('agrees with the worker on every row: planned, waiting (template, kubeconfig) and failing (duplicate, values)', async () => {
    const rows = [
      { name: 'ok', namespace: 'web', template: 'app', values: 'replicas: 1\n' },
      { name: 'no-template', namespace: 'web', template: 'not-there' },
      { name: 'twice', namespace: 'web', template: 'app' },
      { name: 'twice', namespace: 'web', template: 'app', values: 'b: 1\n' },
      { name: 'bad-values', namespace: 'web', template: 'app', values: 'a: [\n' },
    ];
    const cases = [
      { name: 'p3', cluster: 'cluster1' },
      { name: 'p4', cluster: 'no-kubeconfig' }, // its kubeconfig Secret does not exist
    ];
    for (const c of cases) {
      await createServiceSet(kube, { namespace: ns, name: c.name, provider: smp, cluster: c.cluster, services: rows });
      // The worker's verdict per service, from the status it wrote.
      const states: Record<string, string[]> = await eventually(`${c.name} status`, async () => {
        const st = (await getServiceSet(kube, ns, c.name))?.status?.services as
          { namespace: string; name: string; state: string }[] | undefined;
        if (!st || st.length < new Set(rows.map((r) => `${r.namespace}/${r.name}`)).size) return undefined;
        const out: Record<string, string[]> = {};
        for (const e of st) (out[`${e.namespace}/${e.name}`] ??= []).push(e.state);
        return out;
      });
      const { report } = await runPlan(`${ns}/${c.name}`);
      const verdictOf = (state: string) => (state === 'Failed' ? 'FAIL' : state === 'Pending' ? 'WAITING' : 'planned');
      const planned = report.services.map((s) => ({
        service: s.service,
        verdict: s.object ? 'planned' : s.awaiting || s.error?.pending ? 'WAITING' : 'FAIL',
      }));
      assert.equal(planned.length, rows.length);
      for (const p of planned)
        assert.deepEqual(
          [...new Set(states[p.service]!.map(verdictOf))],
          [p.verdict],
          `${c.name} ${p.service}: plan says ${p.verdict}, the worker wrote ${states[p.service]!.join(', ')}`,
        );
      // Not trivially equal: each case has rows of every kind the worker tells apart.
      const kinds = new Set(planned.map((p) => p.verdict));
      assert.ok(kinds.has('FAIL') && kinds.has('WAITING'), JSON.stringify(planned));
      if (c.cluster === 'cluster1') assert.ok(kinds.has('planned'), JSON.stringify(planned));
    }
  });
});
