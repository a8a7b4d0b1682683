import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { informerReleaseIndex } from '../../src/activities/deps';
import { releaseKey, targetKey } from '../../src/plan/names';
import { CachedReader, parseEqualitySelector, parsePath, type Reader } from '../../src/kube/cache';
import type { KubeClient, KubeObject } from '../../src/kube/client';
import { Informer } from '../../src/kube/informer';
import { paths } from '../../src/kube/paths';
import { fingerprint } from '../../src/watcher/watcher';

/** An informer whose store the test fills (it never starts: no API server here). */
function store(path: string, objs: KubeObject[], o: { labelSelector?: string; metadataOnly?: boolean } = {}) {
  const i = new Informer({} as KubeClient, path, { name: path, ...o });
  for (const x of objs)
    i.store.set(x.metadata.namespace ? `${x.metadata.namespace}/${x.metadata.name}` : x.metadata.name, x);
  i.synced = true;
  return i;
}

/** The API side: records what reached it. */
function api(): Reader & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async get<T>(p: string) {
      calls.push(`get ${p}`);
      return { metadata: { name: 'from-api' } } as T;
    },
    async list(p: string, sel?: string) {
      calls.push(`list ${p} ${sel ?? ''}`);
      return { metadata: { resourceVersion: '1' }, items: [] };
    },
  };
}

const obj = (name: string, namespace?: string, labels: Record<string, string> = {}): KubeObject => ({
  metadata: { name, ...(namespace ? { namespace } : {}), labels, uid: `${namespace}/${name}`, resourceVersion: '1' },
});

describe('paths and selectors', () => {
  test('parsePath splits collection, namespace and name (URL-encoded parts decoded)', () => {
    assert.deepEqual(parsePath(paths.serviceSet('ns', 'a b')), {
      collection: '/apis/k0rdent.mirantis.com/v1beta1/servicesets',
      namespace: 'ns',
      name: 'a b',
    });
    assert.deepEqual(parsePath(paths.smp('p')), {
      collection: '/apis/k0rdent.mirantis.com/v1beta1/statemanagementproviders',
      name: 'p',
    });
    assert.deepEqual(parsePath(paths.secrets()), { collection: '/api/v1/secrets' });
    assert.deepEqual(parsePath(paths.helmReleases('x')), {
      collection: '/apis/helm.toolkit.fluxcd.io/v2/helmreleases',
      namespace: 'x',
    });
    assert.equal(parsePath(paths.serviceSetStatus('ns', 'a')), undefined, 'subresources are not cached');
    assert.equal(parsePath('/api/v1/namespaces/x'), undefined);
  });

  test('only equality selectors are understood', () => {
    assert.deepEqual(
      [...parseEqualitySelector('a=b, c.d/e==f')!],
      [
        ['a', 'b'],
        ['c.d/e', 'f'],
      ],
    );
    assert.equal(parseEqualitySelector('a!=b'), undefined);
    assert.equal(parseEqualitySelector('a in (b)'), undefined);
    assert.equal(parseEqualitySelector('a'), undefined);
    assert.equal(parseEqualitySelector(undefined)!.size, 0);
  });
});

describe('CachedReader', () => {
  const ss = store(paths.serviceSets(), [obj('a', 'ns'), obj('b', 'other')]);
  const hr = store(
    paths.helmReleases(),
    [
      obj('h1', 'ns', { m: 'ours', u: '1' }),
      obj('h2', 'ns', { m: 'ours', u: '2' }),
      obj('h3', 'x', { m: 'ours', u: '1' }),
    ],
    { labelSelector: 'm=ours' },
  );
  const secrets = store(paths.secrets(), [obj('s', 'ns')], { metadataOnly: true });

  test('gets come from a full store, a miss there is authoritative', async () => {
    const a = api();
    const r = new CachedReader(a, [ss, hr, secrets]);
    assert.equal((await r.get(paths.serviceSet('ns', 'a')))?.metadata.name, 'a');
    assert.equal(await r.get(paths.serviceSet('ns', 'b')), undefined);
    assert.deepEqual(a.calls, []);
    assert.deepEqual(r.stats, { hits: 2, misses: 0 });
  });

  test('a filtered store answers hits; its misses and uncovered selectors go to the API', async () => {
    const a = api();
    const r = new CachedReader(a, [ss, hr, secrets]);
    assert.equal((await r.get(paths.flux({ kind: 'HelmRelease', namespace: 'ns', name: 'h1' })))?.metadata.name, 'h1');
    assert.equal(
      (await r.get(paths.flux({ kind: 'HelmRelease', namespace: 'ns', name: 'zz' })))?.metadata.name,
      'from-api',
    );
    const l = await r.list(paths.helmReleases('ns'), 'm=ours,u=1');
    assert.deepEqual(
      l.items.map((o) => o.metadata.name),
      ['h1'],
      'namespace and every label of the selector',
    );
    await r.list(paths.helmReleases('ns'), 'u=1'); // may hold objects without m=ours
    await r.list(paths.helmReleases('ns'), 'm=ours,u!=1');
    assert.deepEqual(a.calls, [
      `get ${paths.flux({ kind: 'HelmRelease', namespace: 'ns', name: 'zz' })}`,
      `list ${paths.helmReleases('ns')} u=1`,
      `list ${paths.helmReleases('ns')} m=ours,u!=1`,
    ]);
  });

  test('a metadata-only store says whether an object exists and its version, never stands in for a get', async () => {
    const a = api();
    const r = new CachedReader(a, [ss, hr, secrets]);
    assert.deepEqual((await r.head(paths.secret('ns', 's')))?.metadata.resourceVersion, '1');
    assert.equal(await r.head(paths.secret('ns', 'nope')), undefined);
    assert.equal((await r.get(paths.secret('ns', 's')))?.metadata.name, 'from-api');
    assert.deepEqual(a.calls, [`get ${paths.secret('ns', 's')}`]);
  });

  test('an unsynced store and an unknown kind go to the API', async () => {
    const a = api();
    const cold = store(paths.smps(), [obj('p')]);
    cold.synced = false;
    const r = new CachedReader(a, [cold]);
    await r.get(paths.smp('p'));
    await r.get(paths.serviceTemplate('ns', 't'));
    assert.equal(a.calls.length, 2);
  });
});

describe('Informer label index', () => {
  test('follows relists and watch events; the cache reads through it', async () => {
    const ours = (name: string, u: string, rv = '1'): KubeObject => ({
      metadata: { name, namespace: 'ns', labels: { m: 'ours', u }, resourceVersion: rv },
    });
    // A client that lists three objects, then streams a change, a move to another label value and a deletion.
    let watched!: () => void;
    const streamed = new Promise<void>((r) => (watched = r));
    const client = {
      async list() {
        return { metadata: { resourceVersion: '1' }, items: [ours('h1', 'a'), ours('h2', 'a'), ours('h3', 'b')] };
      },
      async watch(_p: string, _o: unknown, on: (t: string, o: KubeObject) => void, signal: AbortSignal) {
        on('MODIFIED', ours('h1', 'a', '2'));
        on('MODIFIED', ours('h2', 'b', '3'));
        on('DELETED', ours('h3', 'b', '4'));
        on('ADDED', ours('h4', 'c', '5'));
        watched();
        await new Promise((r) => signal.addEventListener('abort', r));
      },
    } as unknown as KubeClient;
    const inf = new Informer(client, paths.helmReleases(), { name: 'hr', labelSelector: 'm=ours', indexLabels: ['u'] });
    await inf.start();
    await streamed;
    inf.stop();
    const names = (v: string) => inf.byLabel('u', v)!.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`);
    assert.deepEqual(names('a'), ['h1@2']);
    assert.deepEqual(names('b'), ['h2@3']);
    assert.deepEqual(names('c'), ['h4@5']);
    assert.deepEqual(names('zz'), []);
    assert.equal(inf.byLabel('m', 'ours'), undefined, 'not an indexed label');
    const reader = new CachedReader(api(), [inf]);
    const listed = await reader.list(paths.helmReleases('ns'), 'm=ours,u=b');
    assert.deepEqual(
      listed.items.map((o) => o.metadata.name),
      ['h2'],
    );
  });
});

describe('informerReleaseIndex', () => {
  const ssObj = (name: string, ns: string, cluster: string, rv = '1', services = ['web']): KubeObject => ({
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    kind: 'ServiceSet',
    metadata: { name, namespace: ns, uid: `${ns}/${name}`, resourceVersion: rv },
    spec: {
      cluster,
      provider: { name: 'p' },
      services: services.map((s) => ({ name: s, namespace: 'apps', template: 't' })),
    },
  });
  const emit = (inf: Informer, t: string, o: KubeObject) =>
    (inf as unknown as { emit(t: string, o: KubeObject): void }).emit(t, o);

  test('follows the informer: who wants a release, as ServiceSets come, change and go', () => {
    const inf = store(paths.serviceSets(), [ssObj('b', 'n1', 'c1'), ssObj('a', 'n1', 'c1'), ssObj('c', 'n1', 'c2')]);
    const idx = informerReleaseIndex(inf);
    const wanting = (asker: KubeObject, svc = 'web') => {
      const key = idx.keysOf(asker.metadata.uid!)[0] ?? releaseKey(targetKey('n1', 'c1', false), 'apps', svc);
      return idx.wanting(key).map((w) => w.ss.metadata.name);
    };
    assert.deepEqual(wanting(ssObj('a', 'n1', 'c1')), ['a', 'b'], 'same target and release, by name');
    assert.deepEqual(wanting(ssObj('c', 'n1', 'c2')), ['c'], 'another cluster is another release');
    emit(inf, 'add', ssObj('d', 'n1', 'c1'));
    emit(inf, 'delete', ssObj('a', 'n1', 'c1'));
    emit(inf, 'update', ssObj('c', 'n1', 'c1', '2'));
    assert.deepEqual(wanting(ssObj('b', 'n1', 'c1')), ['b', 'c', 'd']);
    emit(inf, 'update', ssObj('d', 'n1', 'c1', '3', ['other']));
    assert.deepEqual(wanting(ssObj('b', 'n1', 'c1')), ['b', 'c'], 'a service renamed wants another release');
  });
});

describe('watcher fingerprint', () => {
  const ss = (finalizers: string[], annotations: Record<string, string>, generation = 1): KubeObject => ({
    metadata: { name: 'a', namespace: 'n', generation, finalizers, annotations },
  });
  test('our finalizer and workflow-id annotation appearing change nothing; their removal does', async () => {
    const { FINALIZER, WORKFLOW_ID_ANNOTATION } = await import('../../src/workflow/constants');
    const before = ss(['other'], { a: 'b' });
    const after = ss(['other', FINALIZER], { a: 'b', [WORKFLOW_ID_ANNOTATION]: 'wf' });
    assert.equal(fingerprint(before, after), fingerprint(after));
    assert.notEqual(fingerprint(after, before), fingerprint(before), 'removed by someone: a pass puts them back');
    assert.notEqual(fingerprint(before, ss(['other'], { a: 'c' })), fingerprint(ss(['other'], { a: 'c' })));
    assert.notEqual(fingerprint(before, ss(['other'], { a: 'b' }, 2)), fingerprint(ss(['other'], { a: 'b' }, 2)));
  });
});
