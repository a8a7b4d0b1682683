// The testenv's Flux arguments: kcm's chart arguments verbatim, only placement flags changed for a process.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CHART_KUSTOMIZE_CONTROLLER_ARGS,
  FLUX_CONTROLLERS,
  KCM_CHART_ARGS,
  podArgs,
  processArgs,
} from '../../src/testenv/fluxModes';

const SELECTOR = '--watch-label-selector=k0rdent.mirantis.com/managed=true';
const placement = {
  metricsAddr: '127.0.0.1:1',
  healthAddr: '127.0.0.1:2',
  storage: { path: '/tmp/x/flux-storage', addr: '127.0.0.1:3' },
};

describe('testenv Flux modes', () => {
  test("kcm mode: helm- and source-controller get kcm's chart arguments, with the watch label selector", () => {
    assert.deepEqual(podArgs('kcm', 'helm-controller'), [
      '--watch-all-namespaces=true',
      '--log-level=info',
      '--log-encoding=json',
      '--enable-leader-election',
      SELECTOR,
    ]);
    assert.deepEqual(podArgs('kcm', 'source-controller'), [...KCM_CHART_ARGS['source-controller']]);
    assert.ok(podArgs('kcm', 'source-controller').includes(SELECTOR));
    assert.deepEqual(podArgs('kcm', 'kustomize-controller'), [...CHART_KUSTOMIZE_CONTROLLER_ARGS]);
    assert.ok(podArgs('kcm', 'kustomize-controller').includes(SELECTOR), 'our kustomize-controller is filtered too');
  });

  test('standalone mode: the same controllers, no controller filtered', () => {
    for (const c of FLUX_CONTROLLERS) {
      const a = podArgs('standalone', c);
      assert.ok(!a.some((x) => x.startsWith('--watch-label-selector')), `${c}: ${a.join(' ')}`);
      assert.deepEqual(
        a,
        podArgs('kcm', c).filter((x) => x !== SELECTOR),
      );
    }
  });

  test('as a process, only leader election and the listen/storage placement change', () => {
    for (const c of FLUX_CONTROLLERS) {
      const pod = podArgs('kcm', c);
      const proc = processArgs(pod, c === 'source-controller' ? placement : { ...placement, storage: undefined });
      const placementFlags =
        /^--(enable-leader-election|storage-path|storage-adv-addr|storage-addr|metrics-addr|health-addr)\b/;
      assert.deepEqual(
        proc.filter((a) => !placementFlags.test(a)),
        pod.filter((a) => !placementFlags.test(a)),
        `${c}: every other argument is kcm's, in order`,
      );
      assert.ok(proc.includes('--enable-leader-election=false'));
      assert.ok(proc.includes('--metrics-addr=127.0.0.1:1'));
      assert.ok(proc.includes('--health-addr=127.0.0.1:2'));
    }
    const sc = processArgs(podArgs('kcm', 'source-controller'), placement);
    assert.ok(sc.includes('--storage-path=/tmp/x/flux-storage'));
    assert.ok(sc.includes('--storage-adv-addr=127.0.0.1:3'));
    assert.ok(sc.includes('--storage-addr=127.0.0.1:3'));
    assert.ok(!sc.some((a) => a.includes('svc.cluster.local') || a === '--storage-path=/data'));
  });
});
