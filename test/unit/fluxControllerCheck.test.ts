import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkFluxControllers,
  type FluxObjectEvidence,
  type ProvisionerEvidence,
} from '../../src/commands/fluxControllerCheck';

const SEL = '--watch-label-selector=k0rdent.mirantis.com/managed=true';
const kcmProvisioners: ProvisionerEvidence[] = [
  { namespace: 'kcm-system', name: 'helm-controller', found: true, args: ['--log-level=info', SEL] },
  { namespace: 'kcm-system', name: 'source-controller', found: true, args: [SEL] },
  { namespace: 'ksm-flux', name: 'ksm-flux-kustomize-controller', found: true, args: [SEL] },
];
const standaloneProvisioners: ProvisionerEvidence[] = ['helm', 'kustomize', 'source'].map((c) => ({
  namespace: 'flux-system',
  name: `${c}-controller`,
  found: true,
  args: ['--watch-all-namespaces=true'],
}));
const ks = (name: string, o: Partial<FluxObjectEvidence>): FluxObjectEvidence => ({
  kind: 'Kustomization',
  namespace: 'ns',
  name,
  reconciled: false,
  unclaimed: false,
  ...o,
});

const byName = (r: ReturnType<typeof checkFluxControllers>) => Object.fromEntries(r.map((f) => [f.controller, f]));

describe('checkFluxControllers', () => {
  test("kcm mode, kcm's two and our kustomize-controller, all filtered by kcm's label → ok", () => {
    const r = checkFluxControllers('kcm', kcmProvisioners, []);
    assert.deepEqual(
      r.map((f) => [f.controller, f.ok]),
      [
        ['helm-controller', true],
        ['source-controller', true],
        ['kustomize-controller', true],
      ],
    );
    assert.match(
      byName(r)['kustomize-controller']!.detail,
      /ksm-flux\/ksm-flux-kustomize-controller \(watches k0rdent/,
    );
  });

  test('kcm mode without a kustomize-controller provisioner → that one fails, saying how to get it', () => {
    const f = byName(checkFluxControllers('kcm', kcmProvisioners.slice(0, 2), []))['kustomize-controller']!;
    assert.equal(f.ok, false);
    assert.match(
      f.detail,
      /^no kustomize-controller \(Kustomize and Resources services need it.*kustomizeController\.enabled=true/,
    );
    assert.match(f.detail, /the SMP names no kustomize-controller provisioner/);
  });

  test('a provisioner Deployment that does not exist → fails naming it', () => {
    const p = kcmProvisioners.map((x) => (x.name === 'helm-controller' ? { ...x, found: false, args: undefined } : x));
    const f = byName(checkFluxControllers('kcm', p, []))['helm-controller']!;
    assert.equal(f.ok, false);
    assert.match(f.detail, /Deployment kcm-system\/helm-controller not found/);
  });

  test('kcm mode with a controller filtered by another label → fails: it cannot see our objects', () => {
    const p = kcmProvisioners.map((x) =>
      x.name === 'source-controller' ? { ...x, args: ['--watch-label-selector=shard=1'] } : x,
    );
    assert.match(
      byName(checkFluxControllers('kcm', p, []))['source-controller']!.detail,
      /watches shard=1, not k0rdent/,
    );
  });

  test("standalone mode pointed at kcm's filtered controllers → every one fails", () => {
    const r = checkFluxControllers('standalone', kcmProvisioners, []);
    assert.ok(r.every((f) => !f.ok));
    assert.match(byName(r)['helm-controller']!.detail, /only watches k0rdent.*standalone mode writes no such label/);
  });

  test('standalone mode with an unfiltered Flux → ok', () => {
    const r = checkFluxControllers('standalone', standaloneProvisioners, []);
    assert.ok(r.every((f) => f.ok && /unfiltered/.test(f.detail)));
  });

  test('no provisioners named: our objects are the evidence', () => {
    const stuck = byName(
      checkFluxControllers('kcm', [], [ks('a', { unclaimed: true }), ks('b', { reconciled: true })]),
    )['kustomize-controller']!;
    assert.equal(stuck.ok, false, 'an object nobody picked up outweighs one that was reconciled');
    assert.match(stuck.detail, /Kustomization ns\/a never picked up/);

    const fine = byName(checkFluxControllers('kcm', [], [ks('b', { reconciled: true })]))['kustomize-controller']!;
    assert.deepEqual([fine.ok, fine.detail], [true, 'running: it reconciled Kustomization ns/b']);

    const none = checkFluxControllers('kcm', [], []);
    assert.ok(none.every((f) => f.ok && /^not checked/.test(f.detail)));
  });

  test('many stuck objects are summarised', () => {
    const objs = ['a', 'b', 'c', 'd', 'e'].map((n) => ks(n, { unclaimed: true }));
    assert.match(
      byName(checkFluxControllers('kcm', [], objs))['kustomize-controller']!.detail,
      /ns\/c and 2 more never/,
    );
  });
});
