import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HelmOptions } from '../../src/api/k0rdent';
import { ATOMIC_RETRIES, helmReleaseFields, mergeHelmOptions } from '../../src/plan/helmOptions';

describe('mergeHelmOptions', () => {
  const dst: HelmOptions = {
    atomic: true,
    wait: true,
    timeout: '5m',
    description: 'from template',
    labels: { team: 'platform', tier: 'infra' },
  };

  const rows: {
    name: string;
    template: HelmOptions | null | undefined;
    service: HelmOptions | null | undefined;
    want: HelmOptions;
  }[] = [
    { name: 'nil template and nil service', template: undefined, service: undefined, want: {} },
    { name: 'null template and null service', template: null, service: null, want: {} },
    { name: 'nil service keeps the template', template: dst, service: undefined, want: dst },
    { name: 'empty service keeps the template', template: dst, service: {}, want: dst },
    {
      name: 'set service fields override template ones',
      template: dst,
      service: { timeout: '10m', description: 'from service' },
      want: { ...dst, timeout: '10m', description: 'from service' },
    },
    {
      name: 'service bools are copied when the template has none',
      template: { timeout: '5m' },
      service: { skipCRDs: true, disableHooks: true, replace: true },
      want: { timeout: '5m', skipCRDs: true, disableHooks: true, replace: true },
    },
    {
      name: 'labels merge, service wins on the same key',
      template: { labels: { team: 'platform', tier: 'infra' } },
      service: { labels: { tier: 'app', owner: 'me' } },
      want: { labels: { team: 'platform', tier: 'app', owner: 'me' } },
    },
    {
      name: 'template labels only',
      template: { labels: { a: '1' } },
      service: { wait: true },
      want: { labels: { a: '1' }, wait: true },
    },
    {
      name: 'service labels only',
      template: { wait: true },
      service: { labels: { b: '2' } },
      want: { wait: true, labels: { b: '2' } },
    },
    {
      name: 'explicit false service fields override (kcm pointers)',
      template: dst,
      service: { atomic: false, wait: false },
      want: { ...dst, atomic: false, wait: false },
    },
    {
      name: 'explicit empty-string service fields override too',
      template: dst,
      service: { description: '' },
      want: { ...dst, description: '' },
    },
    { name: 'null service fields do not override', template: dst, service: { timeout: null, atomic: null }, want: dst },
    {
      name: 'nested option objects from the service replace the template ones',
      template: { upgradeOptions: { force: true, maxHistory: 3 } },
      service: { upgradeOptions: { cleanupOnFail: true } },
      want: { upgradeOptions: { cleanupOnFail: true } },
    },
  ];
  for (const r of rows) {
    test(r.name, () => {
      assert.deepEqual(mergeHelmOptions(r.template, r.service), r.want);
    });
  }

  // kcm's ServiceHelmOptions are pointers: an explicit false/0 on the service overrides the template's value.
  describe('template true + service explicit false → the HelmRelease as if the template had said false', () => {
    const table: {
      name: string;
      template: HelmOptions;
      service: HelmOptions;
      check: (f: ReturnType<typeof helmReleaseFields>) => void;
    }[] = [
      {
        name: 'atomic: no remediation',
        template: { atomic: true },
        service: { atomic: false },
        check: (f) => {
          assert.equal(f.install?.remediation, undefined);
          assert.equal(f.upgrade?.remediation, undefined);
        },
      },
      {
        name: 'wait: disableWait on install and upgrade',
        template: { wait: true },
        service: { wait: false },
        check: (f) => assert.deepEqual([f.install?.disableWait, f.upgrade?.disableWait], [true, true]),
      },
      {
        name: 'skipCRDs: CRDs handled (no Skip)',
        template: { skipCRDs: true },
        service: { skipCRDs: false },
        check: (f) => assert.deepEqual([f.install?.crds, f.upgrade?.crds], [undefined, undefined]),
      },
      {
        name: 'disableHooks: hooks run',
        template: { disableHooks: true },
        service: { disableHooks: false },
        check: (f) => assert.deepEqual([f.install?.disableHooks, f.upgrade?.disableHooks], [undefined, undefined]),
      },
      {
        name: 'createNamespace: not created',
        template: { createNamespace: true },
        service: { createNamespace: false },
        check: (f) => assert.equal(f.install?.createNamespace, false),
      },
      {
        name: 'waitForJobs: disableWaitForJobs',
        template: { waitForJobs: true },
        service: { waitForJobs: false },
        check: (f) => assert.equal(f.install?.disableWaitForJobs, true),
      },
      {
        name: 'skipSchemaValidation / disableOpenAPIValidation: validation on',
        template: { skipSchemaValidation: true, disableOpenAPIValidation: true },
        service: { skipSchemaValidation: false, disableOpenAPIValidation: false },
        check: (f) =>
          assert.deepEqual(
            [f.install?.disableSchemaValidation, f.install?.disableOpenAPIValidation],
            [undefined, undefined],
          ),
      },
      {
        name: 'replace: no replace',
        template: { replace: true },
        service: { replace: false },
        check: (f) => assert.equal(f.install?.replace, undefined),
      },
      {
        name: 'enableClientCache: persistentClient false',
        template: { enableClientCache: true },
        service: { enableClientCache: false },
        check: (f) => assert.equal(f.persistentClient, false),
      },
      {
        name: 'timeout: the service timeout wins',
        template: { timeout: '10m' },
        service: { timeout: '2m' },
        check: (f) => assert.equal(f.timeout, '2m'),
      },
      {
        name: 'timeout: an explicit 0s overrides the template (Flux default, not 10m)',
        template: { timeout: '10m' },
        service: { timeout: '0s' },
        check: (f) => assert.equal(f.timeout, undefined),
      },
      {
        name: 'atomic absent on the service keeps the template (true → remediation)',
        template: { atomic: true },
        service: { wait: true },
        check: (f) => assert.equal(f.install?.remediation?.retries, ATOMIC_RETRIES),
      },
    ];
    for (const c of table) test(c.name, () => c.check(helmReleaseFields(mergeHelmOptions(c.template, c.service))));
  });

  test('does not mutate its inputs', () => {
    const t: HelmOptions = { timeout: '5m', labels: { a: '1' } };
    const s: HelmOptions = { timeout: '10m', labels: { b: '2' } };
    const tCopy = structuredClone(t);
    const sCopy = structuredClone(s);
    mergeHelmOptions(t, s);
    assert.deepEqual(t, tCopy);
    assert.deepEqual(s, sCopy);
  });

  // KNOWN SRC BUG (see report). kcm contract §1.5: "base = template.spec.helmOptions else svc.helmOptions";
  // §5 (convertHelmOptions): explicit atomic false is kept. With a template that has no helmOptions (the usual
  // case), the service's explicit `false` values must survive the merge.
  test('without template options, explicit false service values are kept (base = service options)', () => {
    const merged = mergeHelmOptions(undefined, { atomic: false, wait: false, timeout: '2m' });
    assert.equal(merged.atomic, false);
    assert.equal(merged.wait, false);
    assert.equal(merged.timeout, '2m');
    const f = helmReleaseFields(merged);
    assert.equal(f.install?.remediation, undefined, 'atomic: false must not add remediation');
    assert.equal(f.install?.disableWait, true, 'wait: false must disable wait');
  });
});

describe('helmReleaseFields', () => {
  const atomicInstall = { retries: ATOMIC_RETRIES, remediateLastFailure: true };
  const atomicUpgrade = { retries: ATOMIC_RETRIES, remediateLastFailure: true, strategy: 'rollback' };

  test('ATOMIC_RETRIES is at least 1 (Flux: retries ≥ 1 is the nearest equivalent of atomic)', () => {
    assert.ok(ATOMIC_RETRIES >= 1);
  });

  for (const [name, opts] of [
    ['atomic unset', {}],
    ['atomic null', { atomic: null }],
    ['atomic true', { atomic: true }],
  ] as const) {
    test(`${name} → install and upgrade remediation with ATOMIC_RETRIES and remediateLastFailure`, () => {
      const f = helmReleaseFields(opts);
      assert.deepEqual(f.install?.remediation, atomicInstall);
      assert.deepEqual(f.upgrade?.remediation, atomicUpgrade);
    });
  }

  test('atomic false → no remediation anywhere', () => {
    const f = helmReleaseFields({ atomic: false });
    assert.equal(f.install?.remediation, undefined);
    assert.equal(f.upgrade, undefined, 'nothing else sets upgrade fields');
  });

  test('defaults: createNamespace true, atomic, nothing else', () => {
    assert.deepEqual(helmReleaseFields({}), {
      install: { createNamespace: true, remediation: atomicInstall },
      upgrade: { remediation: atomicUpgrade },
    });
  });

  test('wait false → disableWait on install and upgrade', () => {
    const f = helmReleaseFields({ wait: false });
    assert.equal(f.install?.disableWait, true);
    assert.equal(f.upgrade?.disableWait, true);
  });

  test('wait true or unset → no disableWait', () => {
    for (const o of [{ wait: true }, {}, { wait: null }]) {
      const f = helmReleaseFields(o);
      assert.equal(f.install?.disableWait, undefined);
      assert.equal(f.upgrade?.disableWait, undefined);
    }
  });

  test('waitForJobs false → disableWaitForJobs on install and upgrade', () => {
    const f = helmReleaseFields({ waitForJobs: false });
    assert.equal(f.install?.disableWaitForJobs, true);
    assert.equal(f.upgrade?.disableWaitForJobs, true);
  });

  test('skipCRDs → crds Skip on install and upgrade', () => {
    const f = helmReleaseFields({ skipCRDs: true });
    assert.equal(f.install?.crds, 'Skip');
    assert.equal(f.upgrade?.crds, 'Skip');
  });

  test('no skipCRDs → Flux defaults (crds unset)', () => {
    const f = helmReleaseFields({ skipCRDs: false });
    assert.equal(f.install?.crds, undefined);
    assert.equal(f.upgrade?.crds, undefined);
  });

  test('upgradeOptions.upgradeCRDs → upgrade crds CreateReplace, unless skipCRDs', () => {
    assert.equal(helmReleaseFields({ upgradeOptions: { upgradeCRDs: true } }).upgrade?.crds, 'CreateReplace');
    assert.equal(helmReleaseFields({ skipCRDs: true, upgradeOptions: { upgradeCRDs: true } }).upgrade?.crds, 'Skip');
  });

  describe('createNamespace', () => {
    test('defaults to true', () => assert.equal(helmReleaseFields({}).install?.createNamespace, true));
    test('explicit false is kept', () =>
      assert.equal(helmReleaseFields({ createNamespace: false }).install?.createNamespace, false));
    test('explicit true', () =>
      assert.equal(helmReleaseFields({ createNamespace: true }).install?.createNamespace, true));
    test('installOptions.createNamespace wins over the deprecated top-level field', () => {
      assert.equal(
        helmReleaseFields({ createNamespace: true, installOptions: { createNamespace: false } }).install
          ?.createNamespace,
        false,
      );
      assert.equal(
        helmReleaseFields({ createNamespace: false, installOptions: { createNamespace: true } }).install
          ?.createNamespace,
        true,
      );
    });
  });

  test('timeout → spec.timeout; unset → absent', () => {
    assert.equal(helmReleaseFields({ timeout: '7m' }).timeout, '7m');
    assert.equal('timeout' in helmReleaseFields({}), false);
  });

  test('disableHooks → install and upgrade; per-action options only affect their action', () => {
    const both = helmReleaseFields({ disableHooks: true });
    assert.equal(both.install?.disableHooks, true);
    assert.equal(both.upgrade?.disableHooks, true);
    const inst = helmReleaseFields({ installOptions: { disableHooks: true } });
    assert.equal(inst.install?.disableHooks, true);
    assert.equal(inst.upgrade?.disableHooks, undefined);
    const upg = helmReleaseFields({ upgradeOptions: { disableHooks: true } });
    assert.equal(upg.install?.disableHooks, undefined);
    assert.equal(upg.upgrade?.disableHooks, true);
  });

  test('validation switches map to the disable* fields', () => {
    const f = helmReleaseFields({ disableOpenAPIValidation: true, skipSchemaValidation: true });
    assert.equal(f.install?.disableOpenAPIValidation, true);
    assert.equal(f.upgrade?.disableOpenAPIValidation, true);
    assert.equal(f.install?.disableSchemaValidation, true);
    assert.equal(f.upgrade?.disableSchemaValidation, true);
  });

  test('replace (top-level or installOptions) → install.replace', () => {
    assert.equal(helmReleaseFields({ replace: true }).install?.replace, true);
    assert.equal(helmReleaseFields({ installOptions: { replace: true } }).install?.replace, true);
    assert.equal(helmReleaseFields({}).install?.replace, undefined);
  });

  test('upgradeOptions map to upgrade/rollback fields and maxHistory', () => {
    const f = helmReleaseFields({
      upgradeOptions: { force: true, cleanupOnFail: true, reuseValues: true, recreate: true, maxHistory: 4 },
    });
    assert.equal(f.upgrade?.force, true);
    assert.equal(f.upgrade?.cleanupOnFail, true);
    assert.equal(f.upgrade?.preserveValues, true);
    assert.deepEqual(f.rollback, { recreate: true });
    assert.equal(f.maxHistory, 4);
    assert.equal(helmReleaseFields({ upgradeOptions: { resetThenReuseValues: true } }).upgrade?.preserveValues, true);
    assert.equal(helmReleaseFields({ upgradeOptions: { maxHistory: 0 } }).maxHistory, 0);
  });

  describe('uninstallOptions', () => {
    test('all fields map', () => {
      assert.deepEqual(
        helmReleaseFields({
          uninstallOptions: { disableHooks: true, keepHistory: true, deletionPropagation: 'foreground' },
        }).uninstall,
        {
          disableHooks: true,
          keepHistory: true,
          deletionPropagation: 'foreground',
        },
      );
    });
    test('only the set fields appear', () => {
      assert.deepEqual(helmReleaseFields({ uninstallOptions: { deletionPropagation: 'orphan' } }).uninstall, {
        deletionPropagation: 'orphan',
      });
      assert.deepEqual(helmReleaseFields({ uninstallOptions: { keepHistory: true, disableHooks: false } }).uninstall, {
        keepHistory: true,
      });
    });
    test('nothing set → no uninstall block', () => {
      assert.equal(helmReleaseFields({ uninstallOptions: {} }).uninstall, undefined);
      assert.equal(
        helmReleaseFields({ uninstallOptions: { disableHooks: false, keepHistory: false } }).uninstall,
        undefined,
      );
      assert.equal(helmReleaseFields({}).uninstall, undefined);
    });
  });

  test('enableClientCache → persistentClient (both values), unset → absent', () => {
    assert.equal(helmReleaseFields({ enableClientCache: true }).persistentClient, true);
    assert.equal(helmReleaseFields({ enableClientCache: false }).persistentClient, false);
    assert.equal('persistentClient' in helmReleaseFields({}), false);
  });

  test('labels → commonMetadata.labels (a copy); empty labels → none', () => {
    const labels = { team: 'a' };
    const f = helmReleaseFields({ labels });
    assert.deepEqual(f.commonMetadata, { labels: { team: 'a' } });
    assert.notEqual(f.commonMetadata?.labels, labels);
    assert.equal(helmReleaseFields({ labels: {} }).commonMetadata, undefined);
  });
});
