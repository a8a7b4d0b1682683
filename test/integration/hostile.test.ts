// Hostile and malformed input, as a table: every case is created at once against the real control plane (the
// adapter in-process), then polled until it reaches the outcome the table names — a named Failed state or
// condition, waiting for something that is not there yet, applied (the input is legitimately fine), refused by
// the API server before we see it, or ignored (not ours). Meanwhile a healthy ServiceSet created first keeps
// converging, nothing crashes, and the adapter's memory stays bounded. Prints the table with the time each case
// took to reach its outcome, and the peak RSS.
// (bad-input.test.ts covers the recovery side: fixing an input un-fails it.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FINALIZER, LABEL_SERVICESET_UID } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import type { KubeObject } from '../../src/kube/client';
import { paths } from '../../src/kube/paths';
import { renderLimits, setRenderLimits } from '../../src/values/render';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createCapiCluster, installCapiClusterCrd } from '../support/capi';
import {
  createKubeconfigSecret,
  createKustomizeTemplate,
  createNamespace,
  createServiceSet,
  createSmp,
  dropServiceSets,
  events,
  getServiceSet,
  sleep,
  testEnv,
  uniqueName,
  type SvcSpec,
} from '../support/env';

type Outcome =
  /** The service is Failed with a message matching re. */
  | { kind: 'failed'; svc: string; svcNs?: string; re: RegExp }
  /** The service waits (Pending/Provisioning, not Failed); FluxObjectsApplied names what it waits for. */
  | { kind: 'waiting'; svc: string; re: RegExp }
  /** The input is fine: the HelmRelease/Kustomization is applied (and check passes) and the service is not Failed. */
  | { kind: 'applied'; svc: string; svcNs?: string; kind2?: 'Kustomization'; check?: (o: KubeObject) => boolean }
  /** ProviderConfigValid is False with a message matching re; nothing applied. */
  | { kind: 'config'; re: RegExp }
  /** ProviderConfigValid is True and names the unsupported key (re). */
  | { kind: 'configNote'; re: RegExp }
  /** The API server refuses the ServiceSet itself (error matching re): it never reaches us. */
  | { kind: 'refused'; re: RegExp }
  /** Not ours: no finalizer, no status, nothing applied. */
  | { kind: 'ignored' }
  /** Every one of n services applied. */
  | { kind: 'appliedAll'; n: number };

interface Case {
  id: string;
  what: string;
  services?: SvcSpec[];
  cluster?: string;
  config?: unknown;
  name?: string;
  provider?: 'main' | 'other' | 'badOp' | 'emptyIn' | 'gold' | 'missing';
  labels?: Record<string, string>;
  expect: Outcome;
}

const MiB = 1024 * 1024;
const svc = (name: string, extra: Partial<SvcSpec> = {}): SvcSpec => ({
  name,
  namespace: 'web',
  template: 'good',
  ...extra,
});
const bomb = (() => {
  const lines = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 9; i++)
    lines.push(
      `l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return `${lines.join('\n')}\n`;
})();
const manyKeys = (n: number) => Array.from({ length: n }, (_, i) => `key${i}: ${i}`).join('\n');
const deepMap = (n: number) => {
  let s = 'leaf: 1';
  for (let i = 0; i < n; i++) s = `l${i}: {${s}}`;
  return s;
};

const CASES: Case[] = [
  // --- values YAML ---
  {
    id: 'v-syntax',
    what: 'values: unclosed flow sequence',
    services: [svc('a', { values: 'a: 1\nb:\n  c: [x\n' })],
    expect: { kind: 'failed', svc: 'a', re: /^values: YAML syntax error at line \d+, column \d+/ },
  },
  {
    id: 'v-list',
    what: 'values: a list, not a mapping',
    services: [svc('a', { values: '- a\n- b\n' })],
    expect: { kind: 'failed', svc: 'a', re: /^values: line 1: expected a mapping of keys to values, got a list/ },
  },
  {
    id: 'v-scalar',
    what: 'values: a bare string',
    services: [svc('a', { values: 'just words' })],
    expect: { kind: 'failed', svc: 'a', re: /expected a mapping of keys to values, got a string/ },
  },
  {
    id: 'v-dupkey',
    what: 'values: duplicate key',
    services: [svc('a', { values: 'a: 1\nb: 2\na: 3\n' })],
    expect: { kind: 'failed', svc: 'a', re: /line 3, column 1: Map keys must be unique/ },
  },
  {
    id: 'v-multidoc',
    what: 'values: two YAML documents',
    services: [svc('a', { values: 'a: 1\n---\nb: 2\n' })],
    expect: { kind: 'failed', svc: 'a', re: /multiple documents/ },
  },
  {
    id: 'v-bomb',
    what: 'values: billion laughs (9^9 alias expansion)',
    services: [svc('a', { values: bomb })],
    expect: { kind: 'failed', svc: 'a', re: /^values: Excessive alias count indicates a resource exhaustion attack/ },
  },
  {
    id: 'v-deep',
    what: 'values: 20 000 nested flow sequences',
    services: [svc('a', { values: `a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n` })],
    expect: { kind: 'failed', svc: 'a', re: /^values: YAML syntax error at line 1/ },
  },
  {
    id: 'v-tabs',
    what: 'values: tab indentation',
    services: [svc('a', { values: 'a:\n\tb: 1\n' })],
    expect: { kind: 'failed', svc: 'a', re: /^values: YAML syntax error at line 2/ },
  },
  {
    id: 'v-collkey',
    what: 'values: a mapping as a key',
    services: [svc('a', { values: 'a: {[1, 2]: x}\n' })],
    expect: { kind: 'failed', svc: 'a', re: /a mapping key must be a scalar/ },
  },
  {
    id: 'v-1mib',
    what: 'values: one 1 MiB string (fine: under the API server limits)',
    services: [svc('a', { values: `big: "${'x'.repeat(MiB)}"\n` })],
    expect: {
      kind: 'applied',
      svc: 'a',
      check: (o) => ((o.spec as { values?: { big?: string } }).values?.big ?? '').length === MiB,
    },
  },
  {
    id: 'v-keys',
    what: 'values: a mapping of 40 000 keys (~600 KiB; fine)',
    services: [svc('a', { values: manyKeys(40_000) })],
    expect: {
      kind: 'applied',
      svc: 'a',
      check: (o) => Object.keys((o.spec as { values?: object }).values ?? {}).length === 40_000,
    },
  },
  {
    id: 'v-2mib',
    what: 'values: 2 MiB (over etcd request limit)',
    services: [svc('a', { values: `big: "${'x'.repeat(2 * MiB)}"\n` })],
    expect: { kind: 'refused', re: /too large|larger than max/i },
  },
  {
    id: 'v-unicode',
    what: 'values: NUL, lone surrogate (the API server stores U+FFFD), emoji (fine)',
    services: [svc('a', { values: 'nul: "\\0"\nsur: "\ud800"\nemoji: "🦊"\n' })],
    expect: {
      kind: 'applied',
      svc: 'a',
      check: (o) => (o.spec as { values?: { emoji?: string } }).values?.emoji === '🦊',
    },
  },
  {
    id: 'v-dates',
    what: 'values: a date and h:m stay strings (as in Helm)',
    services: [svc('a', { values: 'tag: 2024-01-15\nat: 12:30\n' })],
    expect: {
      kind: 'applied',
      svc: 'a',
      check: (o) => {
        const v = (o.spec as { values?: Record<string, unknown> }).values;
        return v?.tag === '2024-01-15' && v?.at === '12:30';
      },
    },
  },
  {
    id: 'v-nested',
    what: 'values: 100 nested mappings (fine)',
    services: [svc('a', { values: deepMap(100) })],
    expect: { kind: 'applied', svc: 'a' },
  },
  // --- Go templates ---
  {
    id: 't-loop',
    what: 'template: 10^10 iterations',
    services: [svc('a', { values: '{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}a: 1\n' })],
    expect: {
      kind: 'failed',
      svc: 'a',
      re: /values of service web\/t-loop: template error: rendering did not finish within/,
    },
  },
  {
    id: 't-output',
    what: 'template: 10 MB of output',
    services: [svc('a', { values: 'a: "{{ range until 1000000 }}0123456789{{ end }}"\n' })],
    expect: { kind: 'failed', svc: 'a', re: /template error: rendered output exceeds 1048576 bytes/ },
  },
  {
    id: 't-memory',
    what: 'template: a string doubled 40 times',
    services: [svc('a', { values: '{{ $s := "xxxxxxxx" }}{{ range until 40 }}{{ $s = print $s $s }}{{ end }}a: 1\n' })],
    expect: {
      kind: 'failed',
      svc: 'a',
      re: /rendering ran out of memory \(a values template may use at most 256 MiB\)|did not finish within/,
    },
  },
  {
    id: 't-repeat',
    what: 'template: repeat 2 000 000 000',
    services: [svc('a', { values: 'a: {{ repeat 2000000000 "x" }}\n' })],
    expect: { kind: 'failed', svc: 'a', re: /rendering ran out of memory|did not finish within/ },
  },
  {
    id: 't-recurse',
    what: 'template: a template that calls itself',
    services: [svc('a', { values: '{{ define "x" }}{{ template "x" }}{{ end }}{{ template "x" }}' })],
    expect: { kind: 'failed', svc: 'a', re: /exceeded maximum template depth/ },
  },
  {
    id: 't-nofunc',
    what: 'template: a function that does not exist (exec)',
    services: [svc('a', { values: 'a: {{ exec "id" }}\n' })],
    expect: { kind: 'failed', svc: 'a', re: /function "exec" not defined/ },
  },
  {
    id: 't-env',
    what: "template: env/expandenv see nothing of the worker's environment (fine)",
    services: [svc('a', { values: 'home: "{{ env "HOME" }}{{ expandenv "$PATH" }}"\n' })],
    expect: {
      kind: 'applied',
      svc: 'a',
      check: (o) => (o.spec as { values?: { home?: string } }).values?.home === '',
    },
  },
  {
    id: 't-fail',
    what: 'template: fail "…"',
    services: [svc('a', { values: '{{ fail "refusing on purpose" }}' })],
    expect: { kind: 'failed', svc: 'a', re: /error calling fail: refusing on purpose/ },
  },
  {
    id: 't-badyaml',
    what: 'template: renders to invalid YAML',
    services: [svc('a', { values: 'a: {{ "[unclosed" }}\n' })],
    expect: { kind: 'failed', svc: 'a', re: /^rendered values: YAML syntax error/ },
  },
  // --- names ---
  {
    id: 'n-rel53',
    what: 'release name of 53 characters (the limit; fine)',
    services: [svc('r'.repeat(53))],
    expect: { kind: 'applied', svc: 'r'.repeat(53) },
  },
  {
    id: 'n-rel54',
    what: 'release name of 54 characters',
    services: [svc('r'.repeat(54))],
    expect: { kind: 'failed', svc: 'r'.repeat(54), re: /54 characters; Helm allows at most 53/ },
  },
  {
    id: 'n-relcase',
    what: 'release name with upper case and _',
    services: [svc('Web_App')],
    expect: { kind: 'failed', svc: 'Web_App', re: /release name "Web_App" is not a valid Helm release name/ },
  },
  {
    id: 'n-ns63',
    what: 'service namespace of 63 characters (the limit; fine)',
    services: [svc('a', { namespace: 'n'.repeat(63) })],
    expect: { kind: 'applied', svc: 'a', svcNs: 'n'.repeat(63) },
  },
  {
    id: 'n-ns64',
    what: 'service namespace of 64 characters',
    services: [svc('a', { namespace: 'n'.repeat(64) })],
    expect: {
      kind: 'failed',
      svc: 'a',
      svcNs: 'n'.repeat(64),
      re: /service namespace "n{64}" is not a valid namespace name \(64 characters; at most 63\)/,
    },
  },
  {
    id: 'n-nsbad',
    what: 'service namespace "../kube-system"',
    services: [svc('a', { namespace: '../kube-system' })],
    expect: { kind: 'failed', svc: 'a', svcNs: '../kube-system', re: /is not a valid namespace name/ },
  },
  {
    id: 'n-ss253',
    what: 'ServiceSet name of 253 characters (the limit; fine: Flux names and labels are shortened)',
    name: `h-${'s'.repeat(251)}`,
    services: [svc('a')],
    expect: { kind: 'applied', svc: 'a' },
  },
  {
    id: 'n-ss254',
    what: 'ServiceSet name of 254 characters',
    name: `h-${'s'.repeat(252)}`,
    services: [svc('a')],
    expect: { kind: 'refused', re: /must be no more than 253 characters/ },
  },
  {
    id: 'n-label64',
    what: 'ServiceSet label value of 64 characters',
    labels: { team: 'v'.repeat(64) },
    services: [svc('a')],
    expect: { kind: 'refused', re: /must be no more than 63 (characters|bytes)/ },
  },
  {
    id: 'n-tpldot',
    what: 'template name ".."',
    services: [svc('a', { template: '..' })],
    expect: { kind: 'failed', svc: 'a', re: /ServiceTemplate name "\.\." is not a valid object name/ },
  },
  {
    id: 'n-tplns',
    what: 'template "other-ns/good" (another namespace)',
    services: [svc('a', { template: 'kube-system/good' })],
    expect: { kind: 'failed', svc: 'a', re: /ServiceTemplate name "kube-system\/good" is not a valid object name/ },
  },
  {
    id: 'n-kzname',
    what: 'Kustomize service name "Bad_Name"',
    services: [svc('Bad_Name', { template: 'kz' })],
    expect: { kind: 'failed', svc: 'Bad_Name', re: /service name "Bad_Name" is not a valid object name/ },
  },
  // --- cluster / kubeconfig ---
  {
    id: 'c-traversal',
    what: 'cluster "../victim-ns/victim" (path traversal)',
    cluster: '../victim-ns/victim',
    services: [svc('a')],
    expect: {
      kind: 'failed',
      svc: 'a',
      re: /cluster "\.\.\/victim-ns\/victim" does not name a valid kubeconfig Secret/,
    },
  },
  {
    id: 'c-othersecret',
    what: "cluster naming a kubeconfig Secret that exists only in another namespace: waits for this namespace's",
    cluster: 'victim',
    services: [svc('a')],
    expect: {
      kind: 'waiting',
      svc: 'a',
      re: /waiting for kubeconfig Secret [a-z0-9-]+\/victim-kubeconfig of cluster victim/,
    },
  },
  {
    id: 'c-percent',
    what: 'cluster "a%2Fb"',
    cluster: 'a%2Fb',
    services: [svc('a')],
    expect: { kind: 'failed', svc: 'a', re: /cluster "a%2Fb" does not name a valid kubeconfig Secret/ },
  },
  // --- provider config ---
  {
    id: 'p-unknown',
    what: 'provider config: unknown key',
    config: { intervall: '5m' },
    services: [svc('a')],
    expect: { kind: 'config', re: /provider\.config\.intervall: unknown key/ },
  },
  {
    id: 'p-type',
    what: 'provider config: interval: 5 (number)',
    config: { interval: 5 },
    services: [svc('a')],
    expect: { kind: 'config', re: /provider\.config\.interval: / },
  },
  {
    id: 'p-string',
    what: 'provider config: a string',
    config: 'interval=5m',
    services: [svc('a')],
    expect: { kind: 'config', re: /provider\.config: expected an object, got string/ },
  },
  {
    id: 'p-list',
    what: 'provider config: a list',
    config: [{ interval: '5m' }],
    services: [svc('a')],
    expect: { kind: 'config', re: /provider\.config: expected an object, got an array/ },
  },
  {
    id: 'p-priority',
    what: 'provider config: priority 1e12',
    config: { priority: 1e12 },
    services: [svc('a')],
    expect: { kind: 'config', re: /provider\.config\.priority: / },
  },
  {
    id: 'p-nested',
    what: 'provider config: unknown key inside patches[0].target',
    config: { patches: [{ patch: 'x: 1', target: { kind: 'Deployment', nme: 'x' } }] },
    services: [svc('a')],
    expect: { kind: 'config', re: /provider\.config\.patches\.0\.target\.nme: unknown key/ },
  },
  {
    id: 'p-sveltos',
    what: 'provider config: a Sveltos key with no Flux meaning (accepted, named)',
    config: { reloader: true },
    services: [svc('a')],
    expect: { kind: 'configNote', re: /provider\.config\.reloader: reloader is not supported/ },
  },
  // --- services ---
  {
    id: 's-dup',
    what: 'the same service (namespace and name) twice, with different values',
    services: [svc('a', { values: 'x: 1\n' }), svc('a', { values: 'x: 2\n' })],
    expect: { kind: 'failed', svc: 'a', re: /service web\/s-dup appears 2 times in spec.services/ },
  },
  {
    id: 's-samename',
    what: 'the same name in two namespaces (fine: two releases)',
    services: [svc('a'), svc('a', { namespace: 'other' })],
    expect: { kind: 'applied', svc: 'a', svcNs: 'other' },
  },
  {
    id: 's-500',
    what: '500 services in one ServiceSet',
    services: Array.from({ length: 500 }, (_, i) => svc(`s${i}`)),
    expect: { kind: 'appliedAll', n: 500 },
  },
  // --- valuesFrom ---
  {
    id: 'f-binary',
    what: 'valuesFrom: a Secret whose content is not UTF-8',
    services: [svc('a', { valuesFrom: [{ kind: 'Secret', name: 'binary' }] })],
    expect: { kind: 'failed', svc: 'a', re: /Secret [a-z0-9-]+\/binary key blob: not UTF-8 text/ },
  },
  {
    id: 'f-bomb',
    what: 'valuesFrom: a ConfigMap holding a YAML bomb',
    services: [svc('a', { valuesFrom: [{ kind: 'ConfigMap', name: 'bomb' }] })],
    expect: { kind: 'failed', svc: 'a', re: /ConfigMap [a-z0-9-]+\/bomb key values: Excessive alias count/ },
  },
  {
    id: 'f-huge',
    what: 'valuesFrom: a ConfigMap of ~900 KiB (fine: Flux reads it)',
    services: [svc('a', { valuesFrom: [{ kind: 'ConfigMap', name: 'huge' }] })],
    expect: {
      kind: 'applied',
      svc: 'a',
      check: (o) => (o.spec as { valuesFrom?: unknown[] }).valuesFrom?.length === 1,
    },
  },
  {
    id: 'f-dotdot',
    what: 'valuesFrom: a Secret named ".."',
    services: [svc('a', { valuesFrom: [{ kind: 'Secret', name: '..' }] })],
    expect: { kind: 'failed', svc: 'a', re: /valuesFrom Secret name "\.\." is not a valid object name/ },
  },
  {
    id: 'f-missing',
    what: 'valuesFrom: a ConfigMap not there yet (waits)',
    services: [svc('a', { valuesFrom: [{ kind: 'ConfigMap', name: 'later' }] })],
    expect: { kind: 'waiting', svc: 'a', re: /waiting for ConfigMap [a-z0-9-]+\/later/ },
  },
  // --- ownership and selectors ---
  {
    id: 'o-other',
    what: "another adapter's ServiceSet whose labels match our selector",
    provider: 'other',
    services: [svc('a')],
    expect: { kind: 'ignored' },
  },
  {
    id: 'o-badop',
    what: 'our SMP with a matchExpressions operator "Matches"',
    provider: 'badOp',
    services: [svc('a')],
    expect: { kind: 'ignored' },
  },
  {
    id: 'o-emptyin',
    what: 'our SMP with operator In and no values',
    provider: 'emptyIn',
    services: [svc('a')],
    expect: { kind: 'ignored' },
  },
  {
    id: 'o-nomatch',
    what: 'our SMP selecting tier=gold; the ServiceSet is tier=silver',
    provider: 'gold',
    labels: { tier: 'silver' },
    services: [svc('a')],
    expect: { kind: 'ignored' },
  },
  {
    id: 'o-match',
    what: 'our SMP selecting tier=gold; the ServiceSet is tier=gold (fine)',
    provider: 'gold',
    labels: { tier: 'gold' },
    services: [svc('a')],
    expect: { kind: 'applied', svc: 'a' },
  },
  {
    id: 'o-nosmp',
    what: 'a provider name no SMP has',
    provider: 'missing',
    services: [svc('a')],
    expect: { kind: 'ignored' },
  },
  {
    id: 'o-empty',
    what: 'no services at all (fine: nothing to do)',
    services: [],
    expect: { kind: 'configNote', re: /^$|./ },
  },
];

interface Row {
  id: string;
  what: string;
  expected: string;
  ms?: number;
  seen?: string;
}

describe('hostile and malformed input', () => {
  const { kube } = testEnv();
  const ns = uniqueName('hostile');
  const victimNs = uniqueName('victim');
  let adapter: TestAdapter;
  const smps: Record<string, string> = {};
  const rows = new Map<string, Row>();
  let rssPeak = 0;
  let rssBase = 0;
  let sampler: NodeJS.Timeout | undefined;
  let limitsBefore: typeof renderLimits | undefined;

  const ssName = (c: Case) => c.name ?? `h-${c.id}`;
  // Service "a" of a case is named after the case: every case deploys its own release (one release wanted by
  // several ServiceSets is a conflict, tested in conflicts.test.ts).
  const svcName = (c: Case, name: string) => (name === 'a' ? c.id : name);
  const hrOf = (c: Case, svcName: string, svcNs = 'web', kind: 'HelmRelease' | 'Kustomization' = 'HelmRelease') =>
    kube.get(paths.flux({ kind, namespace: ns, name: fluxObjectName(ssName(c), svcNs, svcName) }));

  before(async () => {
    // Short enough to keep the table quick, long enough for any real template on a loaded machine.
    limitsBefore = setRenderLimits({ timeoutMs: 3000 });
    await installCapiClusterCrd(kube);
    adapter = await startTestAdapter();
    smps.main = await stage(adapter, ns, { helm: ['good'], clusters: ['cluster1'] });
    await createKustomizeTemplate(kube, ns, 'kz');
    await createCapiCluster(kube, ns, 'cluster1', { env: 'test' });
    // Other SMPs: another adapter's (matching every label), and ours with broken or narrow selectors.
    const mk = async (key: string, adapterName: string, selector: object) => {
      smps[key] = uniqueName(`smp-${key.toLowerCase()}`);
      await createSmp(kube, {
        name: smps[key],
        adapterName,
        adapterNamespace: adapter.cfg.adapterNamespace,
        selector: selector,
      });
    };
    await mk('other', 'someone-else', {});
    await mk('badOp', adapter.cfg.adapterName, {
      matchExpressions: [{ key: 'tier', operator: 'Matches', values: ['g.*'] }],
    });
    await mk('emptyIn', adapter.cfg.adapterName, { matchExpressions: [{ key: 'tier', operator: 'In', values: [] }] });
    await mk('gold', adapter.cfg.adapterName, { matchLabels: { tier: 'gold' } });
    smps.missing = uniqueName('no-such-smp');
    // A kubeconfig Secret in another namespace that a ServiceSet here must never use.
    await createNamespace(kube, victimNs);
    await createKubeconfigSecret(kube, victimNs, 'victim');
    // valuesFrom objects.
    await kube.create(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'binary', namespace: ns },
      data: { blob: Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x61, 0x3a, 0x20, 0xc3]).toString('base64') },
    });
    await kube.create(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bomb', namespace: ns },
      data: { values: bomb },
    });
    await kube.create(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'huge', namespace: ns },
      data: { values: manyKeys(60_000) },
    });
    rssBase = process.memoryUsage().rss;
    sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 200);
  });

  after(async () => {
    if (sampler) clearInterval(sampler);
    if (limitsBefore) setRenderLimits(limitsBefore);
    await dropServiceSets(kube, ns).catch(() => undefined);
    await adapter?.stop();
  });

  it('a healthy ServiceSet is applied before the table', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'control',
      provider: smps.main!,
      services: [svc('ctl', { values: 'replicas: 1\n' })],
    });
    const name = fluxObjectName('control', 'web', 'ctl');
    const deadline = Date.now() + 30_000;
    while (!(await kube.get(paths.flux({ kind: 'HelmRelease', namespace: ns, name })))) {
      assert.ok(Date.now() < deadline, 'control applied within 30 s');
      await sleep(200);
    }
  });

  it(`${CASES.length} hostile cases each reach their named outcome; the control ServiceSet keeps converging`, async () => {
    assert.ok(CASES.length >= 40, `at least 40 cases (${CASES.length})`);
    assert.equal(new Set(CASES.map((c) => c.id)).size, CASES.length, 'case ids are unique');
    const t0 = Date.now();
    const created = new Map<string, number>();
    const refused = new Map<string, string>();
    for (const c of CASES) {
      const provider = smps[c.provider ?? 'main']!;
      rows.set(c.id, { id: c.id, what: c.what, expected: describeOutcome(c.expect) });
      try {
        await createServiceSet(kube, {
          namespace: ns,
          name: ssName(c),
          provider,
          ...(c.cluster !== undefined ? { cluster: c.cluster } : {}),
          ...(c.config !== undefined ? { config: c.config } : {}),
          ...(c.provider === 'other' ? { labels: { tier: 'gold', ...(c.labels ?? {}) } } : {}),
          ...(c.labels && c.provider !== 'other' ? { labels: c.labels } : {}),
          services: (c.services ?? []).map((x) => ({ ...x, name: svcName(c, x.name) })),
        });
        created.set(c.id, Date.now());
      } catch (e) {
        refused.set(c.id, (e as Error).message);
        created.set(c.id, Date.now());
      }
    }
    process.stderr.write(`[hostile] ${CASES.length} cases created in ${Date.now() - t0} ms\n`);

    // While the table settles, the control ServiceSet takes an edit and converges.
    const controlName = fluxObjectName('control', 'web', 'ctl');
    const controlSs = await getServiceSet(kube, ns, 'control');
    const services = controlSs.spec.services.map((s: SvcSpec) => ({ ...s, values: 'replicas: 2\n' }));
    await kube.mergePatch(paths.serviceSet(ns, 'control'), { spec: { services } });
    let controlMs: number | undefined;

    const open = new Set(CASES.map((c) => c.id));
    const ignoredAfterMs = 8000;
    const deadline = Date.now() + 150_000;
    while (open.size && Date.now() < deadline) {
      if (controlMs === undefined) {
        const hr: any = await kube.get(paths.flux({ kind: 'HelmRelease', namespace: ns, name: controlName }));
        if (hr?.spec?.values?.replicas === 2) controlMs = Date.now() - t0;
      }
      const list = (await kube.list(paths.serviceSets(ns))).items as any[];
      const byName = new Map(list.map((o) => [o.metadata.name as string, o]));
      for (const c of CASES) {
        if (!open.has(c.id)) continue;
        const row = rows.get(c.id)!;
        const since = Date.now() - created.get(c.id)!;
        const e = c.expect;
        const expect = 'svc' in e ? { ...e, svc: svcName(c, e.svc) } : e;
        const ok = await reached(
          { ...c, expect },
          byName.get(ssName(c)),
          refused.get(c.id),
          since >= ignoredAfterMs,
          row,
        );
        if (ok) {
          row.ms = since;
          open.delete(c.id);
        }
      }
      if (open.size) await sleep(500);
    }
    printTable([...rows.values()], rssBase, rssPeak, controlMs);
    const missed = [...open].map((id) => `${id}: expected ${rows.get(id)!.expected}, last seen ${rows.get(id)!.seen}`);
    assert.deepEqual(missed, [], 'every case reached its outcome');
    assert.ok(controlMs !== undefined, 'the control ServiceSet converged to its edit while the table ran');

    // Every Failed case and every invalid config has a Warning Event on its ServiceSet.
    const evs = await events(kube, ns);
    const warned = new Set(evs.filter((e) => e.type === 'Warning').map((e) => e.regarding.name));
    const noEvent = CASES.filter((c) => ['failed', 'config'].includes(c.expect.kind) && !warned.has(ssName(c))).map(
      (c) => c.id,
    );
    assert.deepEqual(noEvent, [], 'a Warning Event for every failed case');
  });

  it('the adapter is healthy after the table: worker running, memory bounded, a new ServiceSet converges', async () => {
    assert.equal(adapter.worker!.worker.getState(), 'RUNNING');
    // A guard against unbounded growth (a runaway template or an alias bomb expanding in this process), not a
    // performance figure: the renderer's memory is capped at 256 MiB and every input here is under 2 MiB.
    assert.ok(rssPeak - rssBase < 1536 * MiB, `RSS grew by ${Math.round((rssPeak - rssBase) / MiB)} MiB`);
    await createServiceSet(kube, { namespace: ns, name: 'after', provider: smps.main!, services: [svc('aft')] });
    const name = fluxObjectName('after', 'web', 'aft');
    const deadline = Date.now() + 30_000;
    while (!(await kube.get(paths.flux({ kind: 'HelmRelease', namespace: ns, name })))) {
      assert.ok(Date.now() < deadline, 'a new ServiceSet is applied within 30 s');
      await sleep(200);
    }
  });

  async function reached(c: Case, ss: any, refusedWith: string | undefined, settled: boolean, row: Row) {
    const e = c.expect;
    const entry = (name: string, svcNs = 'web') =>
      ss?.status?.services?.find((s: any) => s.name === name && s.namespace === svcNs);
    const cond = (type: string) => ss?.status?.conditions?.find((x: any) => x.type === type);
    const show = (x: unknown) => JSON.stringify(x)?.slice(0, 300);
    switch (e.kind) {
      case 'refused':
        row.seen = refusedWith ?? 'created';
        return !!refusedWith && e.re.test(refusedWith);
      case 'failed': {
        const s = entry(e.svc, e.svcNs);
        row.seen = show(s && { state: s.state, failureMessage: s.failureMessage });
        return s?.state === 'Failed' && e.re.test(s.failureMessage ?? '');
      }
      case 'waiting': {
        const s = entry(e.svc);
        const m = cond('FluxObjectsApplied')?.message ?? '';
        row.seen = show({ state: s?.state, failureMessage: s?.failureMessage, condition: m });
        if (!s || !['Pending', 'Provisioning'].includes(s.state) || s.failureMessage) return false;
        if (!e.re.test(m)) return false;
        // Not applied while waiting.
        return !(await hrOf(c, e.svc));
      }
      case 'applied': {
        const s = entry(e.svc, e.svcNs);
        row.seen = show(s && { state: s.state, failureMessage: s.failureMessage });
        if (!s || s.state === 'Failed') return false;
        const o = await hrOf(c, e.svc, e.svcNs, e.kind2 ?? 'HelmRelease');
        if (!o) return false;
        return e.check ? e.check(o) : true;
      }
      case 'appliedAll': {
        const entries = ss?.status?.services ?? [];
        const hrs = ss
          ? await kube.list(paths.helmReleases(ns), `${LABEL_SERVICESET_UID}=${ss.metadata.uid}`).catch(() => undefined)
          : undefined;
        const n = hrs?.items.length ?? 0;
        row.seen = `${entries.length} status entries, ${n} HelmReleases`;
        return entries.length === e.n && n === e.n && entries.every((s: any) => s.state !== 'Failed');
      }
      case 'config': {
        const c1 = cond('ProviderConfigValid');
        row.seen = show(c1);
        return c1?.status === 'False' && c1.reason === 'ProviderConfigInvalid' && e.re.test(c1.message ?? '');
      }
      case 'configNote': {
        const c1 = cond('ProviderConfigValid');
        row.seen = show(c1);
        return c1?.status === 'True' && e.re.test(c1.message ?? '');
      }
      case 'ignored': {
        const fin = ss?.metadata?.finalizers ?? [];
        row.seen = show({ finalizers: fin, status: ss?.status });
        if (!settled || !ss) return false;
        const ours = fin.includes(FINALIZER);
        const hrs = await kube.list(paths.helmReleases(ns), `${LABEL_SERVICESET_UID}=${ss.metadata.uid}`);
        return !ours && !ss.status?.services?.length && hrs.items.length === 0;
      }
    }
  }
});

function describeOutcome(e: Outcome): string {
  switch (e.kind) {
    case 'failed':
      return `Failed ${e.re.source}`;
    case 'waiting':
      return `waiting ${e.re.source}`;
    case 'applied':
      return 'applied';
    case 'appliedAll':
      return `all ${e.n} applied`;
    case 'config':
      return `ProviderConfigValid=False ${e.re.source}`;
    case 'configNote':
      return `ProviderConfigValid=True ${e.re.source}`;
    case 'refused':
      return `refused by the API server ${e.re.source}`;
    case 'ignored':
      return 'ignored (not ours)';
  }
}

function printTable(rows: Row[], rssBase: number, rssPeak: number, controlMs: number | undefined): void {
  const w = Math.max(...rows.map((r) => r.id.length));
  const lines = rows.map(
    (r) =>
      `  ${r.id.padEnd(w)}  ${(r.ms === undefined ? 'MISSED' : `${(r.ms / 1000).toFixed(1)}s`).padStart(7)}  ${r.expected.slice(0, 90)}`,
  );
  const times = rows.filter((r) => r.ms !== undefined).map((r) => r.ms!);
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)] ?? 0;
  process.stderr.write(
    `[hostile] case table (${rows.length} cases; time from creation to outcome):\n${lines.join('\n')}\n` +
      `[hostile] p50 ${(p50 / 1000).toFixed(1)}s, max ${((times.at(-1) ?? 0) / 1000).toFixed(1)}s; ` +
      `RSS ${Math.round(rssBase / MiB)} MiB before, peak ${Math.round(rssPeak / MiB)} MiB; ` +
      `control ServiceSet converged to its edit after ${controlMs === undefined ? 'never' : `${(controlMs / 1000).toFixed(1)}s`}\n`,
  );
}
