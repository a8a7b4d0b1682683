import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LABEL_MANAGED } from '../../src/workflow/constants';
import {
  KCM_WATCH_LABEL_SELECTOR,
  chartTemplateMetadata,
  controllersFor,
  watchLabels,
  type FluxMode,
  type FluxWrittenKind,
} from '../../src/workflow/fluxMode';

describe('fluxMode', () => {
  const table: [FluxMode, FluxWrittenKind, Record<string, string>][] = [
    ['kcm', 'HelmRelease', { [LABEL_MANAGED]: 'true' }],
    ['kcm', 'HelmChart', { [LABEL_MANAGED]: 'true' }],
    ['kcm', 'Kustomization', { [LABEL_MANAGED]: 'true' }],
    ['standalone', 'HelmRelease', {}],
    ['standalone', 'HelmChart', {}],
    ['standalone', 'Kustomization', {}],
  ];
  for (const [mode, kind, want] of table) {
    test(`${mode}: ${kind} labels ${JSON.stringify(want)}`, () => assert.deepEqual(watchLabels(mode, kind), want));
  }

  test("the kcm label is exactly what kcm's chart passes as --watch-label-selector", () => {
    assert.equal(KCM_WATCH_LABEL_SELECTOR, 'k0rdent.mirantis.com/managed=true');
    const [k, v] = KCM_WATCH_LABEL_SELECTOR.split('=');
    assert.deepEqual(watchLabels('kcm', 'HelmRelease'), { [k!]: v });
  });

  test('chart template metadata only in kcm mode', () => {
    assert.deepEqual(chartTemplateMetadata('kcm'), { labels: { [LABEL_MANAGED]: 'true' } });
    assert.equal(chartTemplateMetadata('standalone'), undefined);
  });

  test('both modes need the three controllers; kcm mode says the kustomize-controller is ours to ship', () => {
    for (const mode of ['kcm', 'standalone'] as const)
      assert.deepEqual(
        controllersFor(mode).map((c) => c.name),
        ['helm-controller', 'source-controller', 'kustomize-controller'],
      );
    assert.match(controllersFor('kcm').find((c) => c.name === 'kustomize-controller')!.providedBy, /ksm-flux chart/);
    assert.match(controllersFor('standalone')[0]!.providedBy, /standalone/);
  });
});
