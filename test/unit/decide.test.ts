import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allFluxObjects, decideDeletion, decidePass, mayApply, type PassPlan } from '../../src/workflow/decide';
import type { FluxRef, Observation, PlanError } from '../../src/workflow/types';
import { conflict, fluxObs, observation, svcObs } from './fixtures';

type Rejected = Record<string, PlanError & { hash?: string }>;
const pass = (obs: Observation, o: { retry?: boolean; rejected?: Rejected } = {}) =>
  decidePass(obs, { retry: o.retry ?? false, rejected: o.rejected ?? {} });

const NOTHING: PassPlan = { addFinalizer: false, apply: [], handOver: [], remove: [], reconcileRequest: [] };
const ref = (name: string, kind: FluxRef['kind'] = 'HelmRelease'): FluxRef => ({ kind, namespace: 'kcm-system', name });
const hrNamed = (name: string, o: Parameters<typeof fluxObs>[0] = {}) => fluxObs({ name, ...o });

describe('decidePass: gates', () => {
  test('no finalizer → addFinalizer and nothing else', () => {
    const obs = observation({
      hasFinalizer: false,
      services: [svcObs('a')],
      stray: [{ flux: hrNamed('stray'), handOver: false }],
    });
    assert.deepEqual(pass(obs, { retry: true }), { ...NOTHING, addFinalizer: true });
  });

  test('the finalizer is added even when the provider is not ready', () => {
    const obs = observation({
      hasFinalizer: false,
      provider: { name: 'p', found: true, ready: false, suspended: false },
    });
    assert.equal(pass(obs).addFinalizer, true);
  });

  const blocked: [string, Partial<Observation>][] = [
    ['provider not ready', { provider: { name: 'p', found: true, ready: false, suspended: false } }],
    ['provider suspended', { provider: { name: 'p', found: true, ready: true, suspended: true } }],
    [
      'provider config invalid',
      { providerConfig: { valid: false, error: 'provider.config.x: unknown key', priority: 0 } },
    ],
    ['not owned', { owned: false, notOwnedReason: 'labels do not match' }],
    ['not owned and no finalizer', { owned: false, hasFinalizer: false }],
    ['not found', { found: false }],
    ['deleting', { deleting: true }],
    ['invalid ServiceSet', { invalid: 'spec.services.0.name: expected string' }],
  ];
  for (const [name, o] of blocked) {
    test(`${name} → nothing`, () => {
      const obs = observation({
        ...o,
        services: [
          svcObs('a'),
          svcObs('b', { flux: hrNamed('b', { appliedHash: 'old' }) }),
          svcObs('c', { uninstall: true, flux: hrNamed('c') }),
        ],
        stray: [{ flux: hrNamed('stray'), handOver: false }],
      });
      assert.deepEqual(pass(obs, { retry: true }), NOTHING);
      assert.equal(mayApply(obs), false);
    });
  }

  test('mayApply for a healthy owned ServiceSet', () => {
    assert.equal(mayApply(observation()), true);
  });
});

describe('decidePass: services', () => {
  test('apply when the Flux object is missing', () => {
    assert.deepEqual(pass(observation({ services: [svcObs('a')] })).apply, ['apps/a']);
  });

  test('apply when the applied hash differs', () => {
    assert.deepEqual(pass(observation({ services: [svcObs('a', { flux: fluxObs({ appliedHash: 'h0' }) })] })).apply, [
      'apps/a',
    ]);
  });

  test('nothing when the applied hash equals the desired one', () => {
    assert.deepEqual(pass(observation({ services: [svcObs('a', { flux: fluxObs() })] })), NOTHING);
  });

  test('applies only what changed, in service order', () => {
    const obs = observation({
      services: [svcObs('a', { flux: fluxObs() }), svcObs('b'), svcObs('c', { flux: fluxObs({ appliedHash: 'x' }) })],
    });
    assert.deepEqual(pass(obs).apply, ['apps/b', 'apps/c']);
  });

  test('planError → nothing for that service (existing object left alone), others proceed', () => {
    const obs = observation({
      services: [
        svcObs('bad', {
          desired: undefined,
          planError: { reason: 'InvalidValues', message: 'x' },
          flux: fluxObs({ appliedHash: 'old' }),
        }),
        svcObs('good'),
      ],
    });
    const p = pass(obs, { retry: true });
    assert.deepEqual(p.apply, ['apps/good']);
    assert.deepEqual(p.remove, []);
    assert.deepEqual(p.handOver, []);
  });

  test('no desired object → no apply', () => {
    assert.deepEqual(pass(observation({ services: [svcObs('a', { desired: undefined })] })).apply, []);
  });

  test('a deleting Flux object is not re-applied', () => {
    assert.deepEqual(
      pass(observation({ services: [svcObs('a', { flux: fluxObs({ deleting: true, appliedHash: 'old' }) })] })).apply,
      [],
    );
  });

  test('helmAction Uninstall with a Flux object → remove it; without → nothing', () => {
    const f = hrNamed('dev-cluster-apps-a');
    assert.deepEqual(
      pass(observation({ services: [svcObs('a', { uninstall: true, desired: undefined, flux: f })] })).remove,
      [ref('dev-cluster-apps-a')],
    );
    assert.deepEqual(pass(observation({ services: [svcObs('a', { uninstall: true, desired: undefined })] })), NOTHING);
    assert.deepEqual(
      pass(
        observation({
          services: [svcObs('a', { uninstall: true, desired: undefined, flux: hrNamed('x', { deleting: true }) })],
        }),
      ).remove,
      [],
    );
  });

  test('conflict loser with an existing HelmRelease → handOver, no apply', () => {
    const c = conflict({ winner: false, owner: { namespace: 'o', name: 'winner', priority: 200 } });
    const p = pass(
      observation({
        services: [svcObs('a', { conflict: c, flux: hrNamed('dev-cluster-apps-a', { appliedHash: 'old' }) })],
      }),
    );
    assert.deepEqual(p.handOver, [ref('dev-cluster-apps-a')]);
    assert.deepEqual(p.apply, []);
    assert.deepEqual(p.remove, []);
  });

  test('conflict loser without a HelmRelease → nothing', () => {
    const c = conflict({ winner: false, owner: { namespace: 'o', name: 'winner', priority: 200 } });
    assert.deepEqual(pass(observation({ services: [svcObs('a', { conflict: c })] })), NOTHING);
  });

  test('conflict winner with heldBy and no HelmRelease → no apply (waits for the hand-over)', () => {
    const c = conflict({ winner: true, heldBy: [{ kind: 'HelmRelease', namespace: 'o', name: 'loser-apps-a' }] });
    assert.deepEqual(pass(observation({ services: [svcObs('a', { conflict: c })] })).apply, []);
  });

  test('conflict winner with heldBy but its own HelmRelease already there → applies updates', () => {
    const c = conflict({ winner: true, heldBy: [{ kind: 'HelmRelease', namespace: 'o', name: 'loser-apps-a' }] });
    assert.deepEqual(
      pass(observation({ services: [svcObs('a', { conflict: c, flux: fluxObs({ appliedHash: 'old' }) })] })).apply,
      ['apps/a'],
    );
  });

  test('conflict winner without holders → applies', () => {
    assert.deepEqual(pass(observation({ services: [svcObs('a', { conflict: conflict({ winner: true }) })] })).apply, [
      'apps/a',
    ]);
  });
});

describe('decidePass: stray objects', () => {
  test('stray → remove, or handOver when another ServiceSet wants the release; deleting strays are skipped', () => {
    const obs = observation({
      stray: [
        { flux: hrNamed('gone-1'), handOver: false },
        { flux: hrNamed('gone-2'), handOver: true },
        { flux: fluxObs({ kind: 'Kustomization', name: 'gone-ks' }), handOver: false },
        { flux: hrNamed('gone-3', { deleting: true }), handOver: false },
      ],
    });
    const p = pass(obs);
    assert.deepEqual(p.remove, [ref('gone-1'), ref('gone-ks', 'Kustomization')]);
    assert.deepEqual(p.handOver, [ref('gone-2')]);
    assert.deepEqual(p.apply, []);
  });
});

describe('decidePass: rejections and retry', () => {
  const rejected: Rejected = { 'apps/a': { reason: 'Invalid', message: 'spec.interval: Invalid value', hash: 'h1' } };

  test('rejected with the same hash and no retry → skipped', () => {
    assert.deepEqual(pass(observation({ services: [svcObs('a')] }), { rejected }).apply, []);
  });

  test('rejected with the same hash and a retry → applied', () => {
    assert.deepEqual(pass(observation({ services: [svcObs('a')] }), { rejected, retry: true }).apply, ['apps/a']);
  });

  test('rejected for another hash → applied (the input changed)', () => {
    const svc = svcObs('a', { desired: { ref: ref('x'), hash: 'h2' } });
    assert.deepEqual(pass(observation({ services: [svc] }), { rejected }).apply, ['apps/a']);
  });

  test('a rejection of another service does not block this one', () => {
    assert.deepEqual(pass(observation({ services: [svcObs('b')] }), { rejected }).apply, ['apps/b']);
  });

  test('retry → reconcileRequest for existing, non-suspended, non-deleting objects', () => {
    const obs = observation({
      services: [
        svcObs('a', { flux: hrNamed('obj-a') }),
        svcObs('b', { flux: hrNamed('obj-b', { suspended: true }) }),
        svcObs('c', { flux: hrNamed('obj-c', { deleting: true }) }),
        svcObs('d'),
        svcObs('e', { flux: fluxObs({ kind: 'Kustomization', name: 'obj-e' }) }),
      ],
    });
    const p = pass(obs, { retry: true });
    assert.deepEqual(p.reconcileRequest, [ref('obj-a'), ref('obj-e', 'Kustomization')]);
    assert.deepEqual(p.apply, ['apps/d']);
  });

  test('no retry → no reconcileRequest', () => {
    assert.deepEqual(pass(observation({ services: [svcObs('a', { flux: fluxObs() })] })).reconcileRequest, []);
  });
});

describe('decideDeletion', () => {
  const TIMEOUT = 600_000;
  const GRACE = 120_000;
  const del = (obs: Observation, elapsed = 0) => decideDeletion(obs, elapsed, TIMEOUT, GRACE);
  const EMPTY = { del: [], suspendFirst: [], orphan: [], stripFinalizer: [] };

  test('no Flux objects → done', () => {
    assert.deepEqual(del(observation({ deleting: true, services: [svcObs('a')] })), { ...EMPTY, done: true });
  });

  test('normal → delete every object (services and strays)', () => {
    const obs = observation({
      deleting: true,
      services: [svcObs('a', { flux: hrNamed('obj-a') })],
      stray: [{ flux: hrNamed('stray'), handOver: false }],
    });
    assert.deepEqual(del(obs), { ...EMPTY, del: [ref('obj-a'), ref('stray')], done: false });
  });

  test('hand-over (another ServiceSet waits for the release) → suspendFirst', () => {
    const obs = observation({
      deleting: true,
      services: [
        svcObs('a', { flux: hrNamed('obj-a'), conflict: conflict({ waiting: [{ namespace: 'o', name: 'next' }] }) }),
        svcObs('b', { flux: hrNamed('obj-b') }),
      ],
      stray: [{ flux: hrNamed('stray'), handOver: true }],
    });
    const s = del(obs);
    assert.deepEqual(s.suspendFirst, [ref('obj-a'), ref('stray')]);
    assert.deepEqual(s.del, [ref('obj-b')]);
    assert.equal(s.done, false);
  });

  test('target gone (remote, kubeconfig Secret missing) → suspendFirst for everything', () => {
    const obs = observation({
      deleting: true,
      target: { selfManagement: false, kubeconfigSecret: 'dev-cluster-kubeconfig', kubeconfigSecretFound: false },
      services: [
        svcObs('a', { flux: hrNamed('obj-a') }),
        svcObs('k', { flux: fluxObs({ kind: 'Kustomization', name: 'obj-k' }) }),
      ],
    });
    const s = del(obs);
    assert.deepEqual(s.suspendFirst, [ref('obj-a'), ref('obj-k', 'Kustomization')]);
    assert.deepEqual(s.del, []);
  });

  test('self-management never counts as target gone', () => {
    const obs = observation({
      deleting: true,
      target: { selfManagement: true, kubeconfigSecretFound: false },
      services: [svcObs('a', { flux: hrNamed('obj-a') })],
    });
    assert.deepEqual(del(obs).del, [ref('obj-a')]);
  });

  test('deleting objects within the timeout → wait (nothing to do, not done)', () => {
    const obs = observation({
      deleting: true,
      services: [svcObs('a', { flux: hrNamed('obj-a', { deleting: true }) })],
    });
    assert.deepEqual(del(obs, TIMEOUT - 1), { ...EMPTY, done: false });
  });

  test('deleting past the timeout and not suspended → orphan', () => {
    const obs = observation({
      deleting: true,
      services: [svcObs('a', { flux: hrNamed('obj-a', { deleting: true }) })],
    });
    assert.deepEqual(del(obs, TIMEOUT).orphan, [ref('obj-a')]);
    assert.deepEqual(del(obs, TIMEOUT + GRACE + 1).orphan, [ref('obj-a')], 'not suspended yet: orphan first');
  });

  test('orphaned (suspended) but within the grace → wait', () => {
    const obs = observation({
      deleting: true,
      services: [svcObs('a', { flux: hrNamed('obj-a', { deleting: true, suspended: true }) })],
    });
    assert.deepEqual(del(obs, TIMEOUT + GRACE - 1), { ...EMPTY, done: false });
  });

  test('past timeout + grace with the Flux finalizer still there → stripFinalizer', () => {
    const obs = observation({
      deleting: true,
      services: [svcObs('a', { flux: hrNamed('obj-a', { deleting: true, suspended: true, fluxFinalizer: true }) })],
    });
    const s = del(obs, TIMEOUT + GRACE);
    assert.deepEqual(s.stripFinalizer, [ref('obj-a')]);
    assert.deepEqual(s.orphan, []);
  });

  test('past timeout + grace without the Flux finalizer → nothing to strip', () => {
    const obs = observation({
      deleting: true,
      services: [svcObs('a', { flux: hrNamed('obj-a', { deleting: true, suspended: true, fluxFinalizer: false }) })],
    });
    assert.deepEqual(del(obs, TIMEOUT + GRACE).stripFinalizer, []);
  });

  test('allFluxObjects lists service objects (with their hand-over flag) then strays', () => {
    const obs = observation({
      services: [
        svcObs('a', { flux: hrNamed('a'), conflict: conflict({ waiting: [{ namespace: 'x', name: 'y' }] }) }),
        svcObs('b'),
        svcObs('c', { flux: hrNamed('c') }),
      ],
      stray: [{ flux: hrNamed('s'), handOver: false }],
    });
    assert.deepEqual(
      allFluxObjects(obs).map((o) => [o.flux.name, o.handOver]),
      [
        ['a', true],
        ['c', false],
        ['s', false],
      ],
    );
  });
});

describe('decidePass: pause freezes what Flux would do on the cluster (kcm service-set-paused)', () => {
  const paused = (o: Parameters<typeof observation>[0]) => observation({ paused: true, ...o });
  const table: { name: string; obs: Observation; want: Partial<PassPlan> }[] = [
    {
      name: 'helmAction Uninstall → not removed while paused',
      obs: paused({ services: [svcObs('a', { uninstall: true, desired: undefined, flux: hrNamed('obj-a') })] }),
      want: { remove: [] },
    },
    {
      name: 'a service removed from the spec (stray) → not removed while paused',
      obs: paused({ stray: [{ flux: hrNamed('stray'), handOver: false }] }),
      want: { remove: [], handOver: [] },
    },
    {
      name: 'a stray another ServiceSet waits for → not handed over while paused',
      obs: paused({ stray: [{ flux: hrNamed('stray'), handOver: true }] }),
      want: { remove: [], handOver: [] },
    },
    {
      name: 'a lost conflict → not handed over while paused',
      obs: paused({
        services: [svcObs('a', { flux: hrNamed('obj-a'), conflict: conflict({ winner: false }) })],
      }),
      want: { handOver: [] },
    },
    {
      name: 'changes are still recorded: a changed spec is applied (suspended by the plan)',
      obs: paused({ services: [svcObs('a', { flux: hrNamed('obj-a', { appliedHash: 'old' }) })] }),
      want: { apply: ['apps/a'] },
    },
  ];
  for (const c of table) {
    test(c.name, () => {
      const plan = pass(c.obs);
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(plan[k as keyof PassPlan], v, k);
    });
  }

  test('the annotation removed → the pending work happens', () => {
    const obs = observation({
      services: [svcObs('a', { uninstall: true, desired: undefined, flux: hrNamed('obj-a') })],
      stray: [{ flux: hrNamed('stray'), handOver: false }],
    });
    assert.deepEqual(pass(obs).remove, [ref('obj-a'), ref('stray')]);
  });

  test('a history recorded before this behaviour (legacy) decides as before', () => {
    const obs = paused({ stray: [{ flux: hrNamed('stray'), handOver: false }] });
    assert.deepEqual(decidePass(obs, { retry: false, rejected: {}, legacy: true }).remove, [ref('stray')]);
  });
});

describe('decideDeletion: paused, and a cluster going away', () => {
  const TIMEOUT = 600_000;
  const GRACE = 120_000;
  const del = (obs: Observation, elapsed = 0, legacy = false) =>
    decideDeletion(obs, elapsed, TIMEOUT, GRACE, { legacy });

  test('deleting a paused ServiceSet → waits: nothing deleted or uninstalled, not done', () => {
    const obs = observation({ deleting: true, paused: true, services: [svcObs('a', { flux: hrNamed('obj-a') })] });
    assert.deepEqual(del(obs), {
      del: [],
      suspendFirst: [],
      orphan: [],
      stripFinalizer: [],
      done: false,
      paused: true,
    });
  });

  test('deleting a paused ServiceSet with nothing left → done', () => {
    assert.equal(del(observation({ deleting: true, paused: true, services: [svcObs('a')] })).done, true);
  });

  test('ClusterDeployment being deleted → let go at once: suspendFirst, no uninstall, with the reason', () => {
    const obs = observation({
      deleting: true,
      target: { selfManagement: false, kubeconfigSecret: 'k', kubeconfigSecretFound: true, clusterDeleting: true },
      services: [svcObs('a', { flux: hrNamed('obj-a') })],
    });
    const s = del(obs);
    assert.deepEqual(s.suspendFirst, [ref('obj-a')]);
    assert.deepEqual(s.del, []);
    assert.match(s.clusterGoing ?? '', /ClusterDeployment kcm-system\/dev-cluster is being deleted/);
  });

  test('cluster going away wins over pause (nothing left to protect)', () => {
    const obs = observation({
      deleting: true,
      paused: true,
      target: { selfManagement: false, kubeconfigSecret: 'k', kubeconfigSecretFound: false },
      services: [svcObs('a', { flux: hrNamed('obj-a') })],
    });
    const s = del(obs);
    assert.equal(s.paused, undefined);
    assert.deepEqual(s.suspendFirst, [ref('obj-a')]);
    assert.match(s.clusterGoing ?? '', /kubeconfig Secret .* is gone/);
  });

  test('an uninstall already under way on a cluster going away → orphaned at once, not after the timeout', () => {
    const obs = observation({
      deleting: true,
      target: { selfManagement: false, kubeconfigSecret: 'k', kubeconfigSecretFound: true, clusterDeleting: true },
      services: [svcObs('a', { flux: hrNamed('obj-a', { deleting: true }) })],
    });
    assert.deepEqual(del(obs, 0).orphan, [ref('obj-a')]);
    assert.deepEqual(del(obs, 0, true).orphan, [], 'legacy: waits for the timeout');
    const suspended = observation({
      ...obs,
      services: [svcObs('a', { flux: hrNamed('obj-a', { deleting: true, suspended: true }) })],
    });
    assert.deepEqual(del(suspended, GRACE - 1).stripFinalizer, [], 'Flux gets the grace to let go');
    assert.deepEqual(del(suspended, GRACE).stripFinalizer, [ref('obj-a')], 'then its finalizer goes');
  });

  test('a healthy cluster → unchanged: delete and wait out the timeout', () => {
    const obs = observation({
      deleting: true,
      services: [svcObs('a', { flux: hrNamed('obj-a', { deleting: true }) })],
    });
    assert.deepEqual(del(obs, TIMEOUT - 1).orphan, []);
    assert.equal(del(obs).clusterGoing, undefined);
  });
});
