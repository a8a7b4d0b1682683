import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TypedSearchAttributes } from '@temporalio/common';
import type { ServiceState } from '../../src/workflow/constants';
import {
  AGGREGATE_STATES,
  ListFilterError,
  SA,
  SEARCH_ATTRIBUTES,
  aggregateState,
  changedPairs,
  devServerSearchAttributeFlags,
  fromAttributes,
  listQuery,
  startSearchAttributes,
  toPairs,
  workflowSearchAttributes,
  type AggregateState,
} from '../../src/workflow/searchAttributes';

describe('aggregateState', () => {
  const table: [ServiceState[], boolean, AggregateState][] = [
    [[], false, 'Deployed'],
    [['Deployed'], false, 'Deployed'],
    [['Deployed', 'Deleted'], false, 'Deployed'],
    [['Deployed', 'Provisioning'], false, 'Provisioning'],
    [['Deployed', 'Deleting'], false, 'Provisioning'],
    [['Provisioning', 'Pending'], false, 'Pending'],
    [['Pending', 'Failed', 'Deployed'], false, 'Failed'],
    [['Failed'], false, 'Failed'],
    [['Failed', 'Deployed'], true, 'Deleting'],
    [[], true, 'Deleting'],
  ];
  for (const [states, deleting, want] of table)
    test(`${JSON.stringify(states)}${deleting ? ' while deleting' : ''} → ${want}`, () =>
      assert.equal(aggregateState(states, deleting), want));
  test('every result is a listed state', () => {
    for (const s of ['Pending', 'Provisioning', 'Deployed', 'Failed', 'Deleting', 'Deleted'] as const)
      assert.ok(AGGREGATE_STATES.includes(aggregateState([s], false)));
  });
});

describe('workflowSearchAttributes', () => {
  const ref = { namespace: 'team-a', name: 'cd1' };
  const base = { ref, cluster: 'cd1', provider: 'ksm-flux' };
  test('after a status pass: aggregate state and failed count', () =>
    assert.deepEqual(
      workflowSearchAttributes({
        ...base,
        phase: 'Waiting',
        services: [{ state: 'Failed' }, { state: 'Deployed' }, { state: 'Failed' }],
      }),
      { namespace: 'team-a', name: 'cd1', cluster: 'cd1', provider: 'ksm-flux', state: 'Failed', failed: 2 },
    ));
  test('provider not ready: the stored states still stand', () =>
    assert.equal(
      workflowSearchAttributes({ ...base, phase: 'ProviderNotReady', services: [{ state: 'Deployed' }] })?.state,
      'Deployed',
    ));
  test('deletion: Deleting, failures still counted', () =>
    assert.deepEqual(workflowSearchAttributes({ ...base, phase: 'Deleting', services: [{ state: 'Failed' }] }), {
      ...ref,
      cluster: 'cd1',
      provider: 'ksm-flux',
      state: 'Deleting',
      failed: 1,
    }));
  for (const phase of ['Reconciling', 'NotOwned', 'Starting', 'Done'])
    test(`no verdict in phase ${phase}: undefined (attributes keep their values)`, () =>
      assert.equal(workflowSearchAttributes({ ...base, phase, services: [{ state: 'Deployed' }] }), undefined));
  test('no observation (cluster unknown): undefined', () =>
    assert.equal(workflowSearchAttributes({ ref, phase: 'Waiting', services: [] }), undefined));
});

describe('startSearchAttributes', () => {
  const v = { ref: { namespace: 'ns', name: 'a' }, cluster: 'c1', provider: 'p', deleting: false };
  test('no stored status yet, services in spec: Pending', () =>
    assert.equal(startSearchAttributes({ ...v, specServices: 2 }).state, 'Pending'));
  test('no services at all: Deployed', () =>
    assert.equal(startSearchAttributes({ ...v, specServices: 0, storedStates: [] }).state, 'Deployed'));
  test('stored status: its aggregate and failed count', () =>
    assert.deepEqual(startSearchAttributes({ ...v, specServices: 2, storedStates: ['Failed', 'Deployed'] }), {
      namespace: 'ns',
      name: 'a',
      cluster: 'c1',
      provider: 'p',
      state: 'Failed',
      failed: 1,
    }));
  test('being deleted: Deleting', () =>
    assert.equal(startSearchAttributes({ ...v, deleting: true, specServices: 1 }).state, 'Deleting'));
});

describe('changedPairs', () => {
  const vals = { namespace: 'ns', name: 'a', cluster: 'c1', provider: 'p', state: 'Deployed' as const, failed: 0 };
  test('nothing set yet: every attribute', () =>
    assert.equal(changedPairs(() => undefined, vals).length, SEARCH_ATTRIBUTES.length));
  test('as set: nothing to upsert', () => {
    const cur = new TypedSearchAttributes(toPairs(vals));
    assert.deepEqual(
      changedPairs((k) => cur.get(k), vals),
      [],
    );
  });
  test('state and count changed: only those two', () => {
    const cur = new TypedSearchAttributes(toPairs(vals));
    const d = changedPairs((k) => cur.get(k), { ...vals, state: 'Failed', failed: 1 });
    assert.deepEqual(
      d.map((p) => [p.key.name, p.value]),
      [
        ['KsmState', 'Failed'],
        ['KsmFailedServices', 1],
      ],
    );
  });
  test('fromAttributes reads back what toPairs wrote', () => {
    const cur = new TypedSearchAttributes(toPairs(vals));
    assert.deepEqual(
      fromAttributes((k) => cur.get(k)),
      vals,
    );
    assert.deepEqual(
      fromAttributes(() => undefined),
      {
        namespace: undefined,
        name: undefined,
        cluster: undefined,
        provider: undefined,
        state: undefined,
        failed: undefined,
      },
    );
  });
});

describe('registration', () => {
  test('dev server flags name every attribute with its CLI type', () =>
    assert.deepEqual(devServerSearchAttributeFlags(), [
      '--search-attribute',
      'KsmServiceSetNamespace=Keyword',
      '--search-attribute',
      'KsmServiceSetName=Keyword',
      '--search-attribute',
      'KsmCluster=Keyword',
      '--search-attribute',
      'KsmProvider=Keyword',
      '--search-attribute',
      'KsmState=Keyword',
      '--search-attribute',
      'KsmFailedServices=Int',
    ]));
  test('fits the SQL visibility columns (≤ 10 Keyword, ≤ 3 Int)', () => {
    assert.ok(SEARCH_ATTRIBUTES.filter((a) => a.key.type === 'KEYWORD').length <= 10);
    assert.ok(SEARCH_ATTRIBUTES.filter((a) => a.key.type === 'INT').length <= 3);
    assert.equal(SA.failed.type, 'INT');
  });
});

describe('listQuery', () => {
  const o = { workflowType: 'serviceSetWorkflow', taskQueue: 'ksm-flux' };
  const head = "WorkflowType = 'serviceSetWorkflow' AND TaskQueue = 'ksm-flux'";
  const table: [string, Parameters<typeof listQuery>[0], string][] = [
    ['no filter: running workflows', {}, `${head} AND ExecutionStatus = 'Running'`],
    ['--all: ended ones too', { all: true }, head],
    ['--state (any case)', { state: 'failed' }, `${head} AND ExecutionStatus = 'Running' AND KsmState = 'Failed'`],
    [
      '--state and --cluster',
      { state: 'Deployed', cluster: 'cd-1' },
      `${head} AND ExecutionStatus = 'Running' AND KsmState = 'Deployed' AND KsmCluster = 'cd-1'`,
    ],
    [
      '--namespace and --provider',
      { namespace: 'team-a', provider: 'ksm-flux' },
      `${head} AND ExecutionStatus = 'Running' AND KsmServiceSetNamespace = 'team-a' AND KsmProvider = 'ksm-flux'`,
    ],
  ];
  for (const [name, f, want] of table) test(name, () => assert.equal(listQuery(f, o), want));
  const bad: [string, Parameters<typeof listQuery>[0], RegExp][] = [
    [
      'unknown state',
      { state: 'Broken' },
      /--state: expected one of Deployed, Provisioning, Pending, Failed, Deleting/,
    ],
    ['quote in cluster', { cluster: "x' OR '1'='1" }, /--cluster: expected a Kubernetes name/],
    ['upper-case namespace', { namespace: 'Team' }, /--namespace: expected a Kubernetes name/],
  ];
  for (const [name, f, re] of bad)
    test(`rejects ${name}`, () =>
      assert.throws(
        () => listQuery(f, o),
        (e: unknown) => e instanceof ListFilterError && re.test(e.message),
      ));
  test('rejects a task queue with a quote', () =>
    assert.throws(() => listQuery({}, { ...o, taskQueue: "q'" }), ListFilterError));
});
