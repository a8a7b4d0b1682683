// Secrets never reach Temporal or the logs: ServiceSets using valuesFrom Secrets (valid, invalid, wrongly
// annotated as templates, rotated), Go-templated values and valuesFrom ConfigMaps rendered with the cluster
// object, and a kubeconfig Secret, run by the real adapter to Deployed/Failed, updated, retried, rolled over
// (continue-as-new) and deleted. Then every run's full history is fetched, every payload in it decoded (inputs,
// results, signals, updates, carried state, failures — wherever a payload sits) and scanned, with all other
// strings and bytes of the history, for distinctive markers placed in the Secret data and the values; the
// adapter's own logs (debug level, Temporal SDK lines included) are scanned the same way. Codec off (default).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { REQUESTED_AT_ANNOTATION, workflowIdFor } from '../../src/workflow/constants';
import { startAdapter, type AdapterHandle } from '../../src/commands/adapter';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { createLogger } from '../../src/log';
import { stop } from '../../src/testenv/proc';
import { startTemporal, type TemporalEndpoint } from '../../src/testenv/temporal';
import { retryUpdate, stateQuery } from '../../src/workflow/defs';
import { testConfig } from '../support/adapter';
import { createCapiCluster, installCapiClusterCrd } from '../support/capi';
import {
  createHelmTemplate,
  createKustomizeTemplate,
  createNamespace,
  createServiceSet,
  createSmp,
  eventually,
  getServiceSet,
  setFluxStatus,
  testEnv,
  uniqueName,
} from '../support/env';
import { allRuns, markerForms, payloadsOf, rawText, type FoundPayload } from '../support/history';

describe('secrets stay out of Temporal histories and logs', () => {
  const { kube } = testEnv();
  const ns = uniqueName('secr');
  const rnd = uniqueName('x').slice(2);
  /** Secret contents: must appear nowhere (history, logs, status). */
  const secretMarkers = {
    kubeconfig: `kubeconfig-token-${rnd}`,
    valuesFrom: `vf-password-${rnd}`,
    invalid: `bad-yaml-secret-${rnd}`,
    templateSecret: `tpl-secret-${rnd}`,
    rotated: `rotated-password-${rnd}`,
  };
  /** Values (inline and rendered): in the HelmRelease by design, never in the history or the logs. */
  const valueMarkers = { inline: `inline-value-${rnd}`, rendered: `cluster-label-${rnd}` };
  let temporal: TemporalEndpoint;
  let adapter: AdapterHandle;
  let connection: Connection;
  let client: Client;
  let dir: string;
  const logLines: string[] = [];
  const secret = (name: string, data: Record<string, string>, annotations?: Record<string, string>) =>
    kube.create(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
      stringData: data,
    });
  const entry = async (ss: string, svc: string) =>
    (await getServiceSet(kube, ns, ss))?.status?.services?.find((s: any) => s.name === svc);
  const stateOf = (ss: string, svc: string, state: string) =>
    eventually(`${ss}/${svc} ${state}`, async () => {
      const e = await entry(ss, svc);
      return e?.state === state && e;
    });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-secrets-'));
    // A server of our own that suggests continue-as-new early, so the scan covers several runs and the state
    // carried between them.
    temporal = await startTemporal(dir, {
      ui: false,
      extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=60'],
    });
    const cfg = testConfig({ 'temporal-address': temporal.address, 'quiescent-poll': '500ms' });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    // Debug level: the most a production operator would turn on.
    adapter = await startAdapter('run', cfg, createLogger('debug', 'ksm-flux-secrets', sink));
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection, namespace: 'default' });

    await installCapiClusterCrd(kube);
    await createNamespace(kube, ns);
    await createSmp(kube, {
      name: `smp-${ns}`,
      adapterName: cfg.adapterName,
      adapterNamespace: cfg.adapterNamespace,
      selector: {},
    });
    await createHelmTemplate(kube, ns, 'app');
    await createKustomizeTemplate(kube, ns, 'ks');
    await secret('cluster1-kubeconfig', {
      value: `apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: ${secretMarkers.kubeconfig}\n`,
    });
    await createCapiCluster(kube, ns, 'cluster1', { marker: valueMarkers.rendered });
  });
  after(async () => {
    await adapter?.stop();
    await connection?.close();
    if (temporal) await stop(temporal.proc);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('no Secret content and no values in any payload of any run, nor in the logs', async () => {
    await secret('creds', { 'values.yaml': `password: ${secretMarkers.valuesFrom}\n` });
    await secret('bad', { 'values.yaml': `pw: [${secretMarkers.invalid}\n  x: {` });
    await secret(
      'tpl',
      { 'values.yaml': `x: ${secretMarkers.templateSecret}\n` },
      { 'projectsveltos.io/template': 'ok' },
    );
    await kube.create(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'tplcm', namespace: ns, annotations: { 'projectsveltos.io/template': 'ok' } },
      data: { 'values.yaml': 'fromCm: {{ index .Cluster.metadata.labels "marker" }}\n' },
    });
    const smp = `smp-${ns}`;
    const good = await createServiceSet(kube, {
      namespace: ns,
      name: 'sec',
      provider: smp,
      services: [
        {
          name: 'web',
          namespace: 'apps',
          template: 'app',
          values: `note: ${valueMarkers.inline}\nlabel: {{ index .Cluster.metadata.labels "marker" }}\n`,
          valuesFrom: [
            { kind: 'Secret', name: 'creds' },
            { kind: 'ConfigMap', name: 'tplcm' },
          ],
        },
        { name: 'cfg', namespace: 'apps', template: 'ks', valuesFrom: [{ kind: 'Secret', name: 'creds' }] },
      ],
    });
    const bad = await createServiceSet(kube, {
      namespace: ns,
      name: 'sec-bad',
      provider: smp,
      services: [
        { name: 'bad', namespace: 'apps', template: 'app', valuesFrom: [{ kind: 'Secret', name: 'bad' }] },
        { name: 'tplsec', namespace: 'apps', template: 'app', valuesFrom: [{ kind: 'Secret', name: 'tpl' }] },
      ],
    });

    // Deployed, with the values pipeline really run (the rendered marker is in the HelmRelease, where it belongs).
    const hrRef = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('sec', 'apps', 'web') };
    const ksRef = { kind: 'Kustomization' as const, namespace: ns, name: fluxObjectName('sec', 'apps', 'cfg') };
    const hr: any = await eventually('HelmRelease', () => kube.get(paths.flux(hrRef)));
    assert.deepEqual(hr.spec.values, {
      note: valueMarkers.inline,
      label: valueMarkers.rendered,
      fromCm: valueMarkers.rendered,
    });
    assert.deepEqual(hr.spec.valuesFrom, [{ kind: 'Secret', name: 'creds', valuesKey: 'values.yaml' }]);
    await eventually('Kustomization', () => kube.get(paths.flux(ksRef)));
    await setFluxStatus(kube, hrRef, { ready: 'True', reason: 'InstallSucceeded' });
    await setFluxStatus(kube, ksRef, { ready: 'True', reason: 'ReconciliationSucceeded' });
    await stateOf('sec', 'web', 'Deployed');
    await stateOf('sec', 'cfg', 'Deployed');
    assert.match((await stateOf('sec-bad', 'bad', 'Failed')).failureMessage, /Secret .*bad key values\.yaml/);
    assert.match((await stateOf('sec-bad', 'tplsec', 'Failed')).failureMessage, /annotated projectsveltos/);

    // The Secret rotates: Flux is asked to re-read it (a digest in an annotation), still without its content.
    const before = hr.metadata.annotations[REQUESTED_AT_ANNOTATION];
    await kube.mergePatch(`/api/v1/namespaces/${ns}/secrets/creds`, {
      stringData: { 'values.yaml': `password: ${secretMarkers.rotated}\n` },
    });
    await eventually(
      'reconcile requested after the rotation',
      async () => (await kube.get<any>(paths.flux(hrRef)))?.metadata.annotations[REQUESTED_AT_ANNOTATION] !== before,
    );

    // Messages of every kind: an update (and its outcome), a retry signal; then roll-overs and a deletion.
    const h = client.workflow.getHandle(workflowIdFor(good.metadata.uid!));
    const outcome = await h.executeUpdate(retryUpdate, { args: [{ reason: 'secrets test' }] });
    assert.ok(outcome.services.length === 2);
    await client.workflow.getHandle(workflowIdFor(bad.metadata.uid!)).signal('retry', { reason: 'secrets test' });
    await eventually(
      'two roll-overs (continue-as-new)',
      async () => (await h.query(stateQuery)).counters.continuedAsNew >= 2,
      90_000,
      500,
    );
    await kube.delete(paths.serviceSet(ns, 'sec-bad'));
    await eventually('sec-bad finalized', async () => !(await getServiceSet(kube, ns, 'sec-bad')), 30_000);
    await eventually(
      'its workflow completed',
      async () =>
        (await client.workflow.getHandle(workflowIdFor(bad.metadata.uid!)).describe()).status.name === 'COMPLETED',
    );

    // The scan.
    const found: FoundPayload[] = [];
    let text = '';
    let runs = 0;
    for (const uid of [good.metadata.uid!, bad.metadata.uid!]) {
      const all = await allRuns(client, workflowIdFor(uid));
      runs += all.length;
      for (const { history } of all) {
        text += rawText(history);
        found.push(...payloadsOf(history));
      }
    }
    assert.ok(runs >= 4, `several runs scanned (${runs})`);
    const encodings = new Set<string>();
    for (const f of found) {
      const encoding = Buffer.from(f.payload.metadata?.encoding ?? new Uint8Array()).toString();
      encodings.add(encoding);
      // Codec off: every payload is readable as the SDK wrote it, and is decoded here.
      const value: unknown = defaultPayloadConverter.fromPayload(f.payload);
      text += `\n${JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString() : v))}`;
    }
    assert.ok(!encodings.has('binary/encrypted'), 'codec off by default');
    const kinds = new Set(found.map((f) => f.eventType));
    for (const k of [
      'workflowExecutionStartedEventAttributes',
      // A pass's Kubernetes calls are local activities: their results are in the markers (below).
      'workflowExecutionSignaledEventAttributes',
      'workflowExecutionUpdateAcceptedEventAttributes',
      'workflowExecutionUpdateCompletedEventAttributes',
      'workflowExecutionContinuedAsNewEventAttributes',
      'upsertWorkflowSearchAttributesEventAttributes',
      'markerRecordedEventAttributes',
    ])
      assert.ok(kinds.has(k), `payloads of ${k} scanned (saw ${[...kinds].join(', ')})`);
    assert.ok(found.length > 50, `a real history (${found.length} payloads)`);
    // Sanity: the scan would see a leak (the ServiceSet's own name travels in the input).
    assert.ok(text.includes(`"name":"sec"`));

    const logs = logLines.join('\n');
    assert.ok(logLines.length > 20, `debug logs captured (${logLines.length} lines)`);
    const statuses = JSON.stringify((await getServiceSet(kube, ns, 'sec')).status);
    for (const [what, marker] of Object.entries({ ...secretMarkers, ...valueMarkers })) {
      for (const form of markerForms(marker)) {
        const where = found.find((f) => rawText(f.payload).includes(form) || JSON.stringify(f.payload).includes(form));
        assert.ok(!text.includes(form), `${what} (${form}) in the history${where ? ` at ${where.path}` : ''}`);
        const line = logLines.find((l) => l.includes(form));
        assert.ok(!logs.includes(form), `${what} (${form}) in the logs: ${line}`);
      }
    }
    for (const [what, marker] of Object.entries(secretMarkers))
      for (const form of markerForms(marker)) assert.ok(!statuses.includes(form), `${what} in the ServiceSet status`);
    process.stdout.write(
      `# scanned ${runs} runs, ${found.length} payloads (${[...encodings].join(', ')}), ${text.length} chars of history, ${logLines.length} log lines\n`,
    );
  });
});
