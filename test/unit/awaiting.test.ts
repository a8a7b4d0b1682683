import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ServiceTemplate } from '../../src/api/k0rdent';
import { awaitedInput } from '../../src/plan/awaiting';
import { decidePass } from '../../src/workflow/decide';
import { edgeEvents } from '../../src/workflow/events';
import { computeStatus } from '../../src/workflow/status';
import type { PlanError } from '../../src/workflow/types';
import { fluxObs, helmChartTemplate, invalidTemplate, observation, svcObs, T0, T0_MS } from './fixtures';

const staleTemplate = ServiceTemplate.parse({
  metadata: { name: 'tpl', namespace: 'ns', uid: 'u-tpl', generation: 3 },
  spec: { helm: { chartSpec: { chart: 'x', version: '1.0.0' } } },
  status: { valid: false, validationError: 'values schema mismatch', observedGeneration: 2 },
});

describe('awaitedInput: not there yet (wait) or bad input (fail)', () => {
  const table: { name: string; err: PlanError; template?: ServiceTemplate; waits: RegExp | false }[] = [
    {
      name: 'kubeconfig Secret missing (cluster still being created) → waits for it',
      err: {
        reason: 'KubeconfigSecretNotFound',
        message: 'kubeconfig Secret ns/c1-kubeconfig of cluster c1 not found',
      },
      waits: /^waiting for kubeconfig Secret ns\/c1-kubeconfig/,
    },
    {
      name: 'ServiceTemplate missing → waits for it to exist',
      err: { reason: 'TemplateNotFound', message: 'ServiceTemplate ns/nginx not found' },
      waits: /^waiting for ServiceTemplate ns\/nginx to exist$/,
    },
    {
      name: 'no status.chartRef yet → waits for kcm',
      err: { reason: 'TemplateNotReady', message: 'ServiceTemplate nginx has no status.chartRef yet' },
      waits: /waiting for kcm to validate the template/,
    },
    {
      name: 'valid=false "Source is not ready" (kcm fetching the source) → waits',
      err: { reason: 'TemplateInvalid', message: 'ServiceTemplate t is invalid: Source is not ready' },
      template: invalidTemplate('t', 'Source is not ready'),
      waits: /waiting for ServiceTemplate t to become valid: Source is not ready/,
    },
    {
      name: 'valid=false, HelmChart artifact not ready yet → waits',
      err: { reason: 'TemplateInvalid', message: 'x' },
      template: invalidTemplate('t', 'helm chart artifact is not ready yet'),
      waits: /become valid/,
    },
    {
      name: 'valid=false, HelmChart download failing (source-controller retries) → waits',
      err: { reason: 'TemplateInvalid', message: 'x' },
      template: invalidTemplate('t', 'failed to download helm chart artifact: connection refused'),
      waits: /become valid/,
    },
    {
      name: 'valid=false for an older generation (being validated again) → waits',
      err: { reason: 'TemplateInvalid', message: 'x' },
      template: staleTemplate,
      waits: /become valid/,
    },
    {
      name: 'valid=false with a definitive error (bad chart) → Failed',
      err: { reason: 'TemplateInvalid', message: 'ServiceTemplate t is invalid: chart.metadata.name is required' },
      template: invalidTemplate('t', 'chart.metadata.name is required'),
      waits: false,
    },
    { name: 'invalid values → Failed', err: { reason: 'InvalidValues', message: 'line 2: bad' }, waits: false },
    { name: 'release name too long → Failed', err: { reason: 'NameTooLong', message: 'x' }, waits: false },
  ];
  for (const c of table) {
    test(c.name, () => {
      const w = awaitedInput(c.err, c.template ?? helmChartTemplate());
      if (c.waits === false) assert.equal(w, undefined);
      else assert.match(w?.message ?? '(not waiting)', c.waits);
    });
  }
});

describe('a waiting service: Pending, nothing applied, a Normal Event once, no Warning', () => {
  const awaiting = { reason: 'WaitingForKubeconfig', message: 'waiting for kubeconfig Secret ns/c1-kubeconfig' };
  const obs = observation({
    target: { selfManagement: false, kubeconfigSecret: 'c1-kubeconfig', kubeconfigSecretFound: false },
    services: [svcObs('a', { desired: undefined, awaiting })],
  });
  const out = computeStatus({ obs, memory: {}, now: T0, nowMs: T0_MS, applyErrors: {}, flapToleranceMs: 1000 });

  test('Pending, no failureMessage; the condition names what is awaited', () => {
    const e = out.status.services[0]!;
    assert.equal(e.state, 'Pending');
    assert.equal(e.failureMessage, undefined);
    const c = out.status.conditions.find((x) => x.type === 'FluxObjectsApplied')!;
    assert.deepEqual([c.status, c.reason], ['False', 'FluxObjectsWaiting']);
    assert.match(c.message, /apps\/a: waiting for kubeconfig Secret ns\/c1-kubeconfig/);
    assert.deepEqual(
      out.transitions.map((t) => t.to),
      ['Pending'],
    );
  });

  test('nothing is applied', () => {
    const plan = decidePass(obs, { retry: false, rejected: {} });
    assert.deepEqual([plan.apply, plan.remove, plan.handOver], [[], [], []]);
  });

  test('one Normal event on the edge, none on the next pass', () => {
    const first = edgeEvents('uid', obs, obs.status, out.status, T0);
    assert.deepEqual(
      first.map((e) => [e.type, e.reason]),
      [['Normal', 'FluxObjectsWaiting']],
    );
    const again = computeStatus({
      obs: { ...obs, status: out.status },
      memory: out.memory,
      now: T0,
      nowMs: T0_MS + 5000,
      applyErrors: {},
      flapToleranceMs: 1000,
    });
    assert.deepEqual(edgeEvents('uid', obs, out.status, again.status, T0), []);
    assert.deepEqual(again.transitions, []);
  });

  test('an object applied earlier keeps reporting what Flux says (no false Failed, no false Pending)', () => {
    const o = observation({ services: [svcObs('a', { desired: undefined, awaiting, flux: fluxObs() })] });
    const s = computeStatus({ obs: o, memory: {}, now: T0, nowMs: T0_MS, applyErrors: {}, flapToleranceMs: 1000 });
    assert.equal(s.status.services[0]!.state, 'Deployed');
  });
});
