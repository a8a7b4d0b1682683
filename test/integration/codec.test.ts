// The payload codec on the real adapter and Temporal server: with keys configured, every payload the server
// stores is AES-GCM sealed (no ServiceSet name, namespace or value in the raw history), the adapter still works;
// rotating to a new key keeps the workflow going (old payloads decrypt with the old key, new ones use the new
// key); and `ksm-flux codec-server` lets the real `temporal` CLI show the history decoded. Codec off is the
// default (test/integration/secrets.test.ts checks those payloads are plain).
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { workflowIdFor } from '../../src/workflow/constants';
import { dataConverterOf } from '../../src/codec/dataConverter';
import { decryptPayload, ENCRYPTED_ENCODING, KEY_ID_KEY } from '../../src/codec/encryption';
import { newKeyEntry, parseKeyring } from '../../src/codec/keyring';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { helmTemplate, parseManifests } from '../../scripts/render-deploy';
import { ensureBuilt } from '../../src/testenv/build';
import { toolPaths } from '../../src/testenv/versions';
import { stateQuery } from '../../src/workflow/defs';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, setFluxStatus, testEnv, uniqueName } from '../support/env';
import { allRuns, payloadsOf } from '../support/history';

const bin = path.resolve(__dirname, '..', '..', 'bin', 'ksm-flux');
const run = promisify(execFile);
const utf8 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

describe('payload codec (encryption) on', () => {
  const { kube } = testEnv();
  const rnd = uniqueName('c').slice(2);
  const ns = `codecns-${rnd}`;
  const name = `confidential-${rnd}`;
  const valueMarker = `plain-value-${rnd}`;
  const k1 = newKeyEntry('k1');
  const k2 = newKeyEntry('k2');
  let adapter: TestAdapter | undefined;
  let connection: Connection;
  let raw: Client;
  let dir: string;
  let codecServer: ChildProcess | undefined;
  let workflowId: string;
  const hrRef = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName(name, 'apps', 'web') };
  const withKeys = (keys: string) =>
    new Client({
      connection,
      namespace: testEnv().temporalNamespace,
      dataConverter: dataConverterOf({ codecKeys: keys }),
    });
  /**
   * The history as the server stores it: protobuf bytes of every run; optionally without the search attributes,
   * which the server indexes and so must read in clear (no codec applies to them).
   */
  const storedBytes = async (o: { searchAttributes: boolean }) =>
    Buffer.concat(
      (await allRuns(raw, workflowId)).map(({ history }) => {
        const events = (history.events ?? []).map((e) =>
          Object.fromEntries(
            Object.entries(e).map(([k, v]) => [
              k,
              !o.searchAttributes && v && typeof v === 'object' && 'searchAttributes' in v
                ? { ...v, searchAttributes: null }
                : v,
            ]),
          ),
        );
        return Buffer.from(temporal.api.history.v1.History.encode({ events }).finish());
      }),
    );
  /**
   * The payloads the codec sees: all but the SDK's own patch markers (patch ids), its local activity markers'
   * data (activity type, sequence number, attempt, times; the result beside it is ours and sealed) and search
   * attributes (the server indexes them, so they stay plain; ours are only TemporalChangeVersion). The raw-bytes
   * check below covers those too.
   */
  const payloads = async () =>
    (await allRuns(raw, workflowId))
      .flatMap(({ history }) => payloadsOf(history))
      .filter((f) => !/patch-data|markerRecordedEventAttributes\.details\.data\.|searchAttributes/.test(f.path));
  const deployed = (what: string) =>
    eventually(what, async () => {
      const s = (await getServiceSet(kube, ns, name))?.status?.services?.[0];
      return s?.state === 'Deployed' && s;
    });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-codec-'));
    connection = await Connection.connect({ address: testEnv().temporalAddress });
    raw = new Client({ connection, namespace: testEnv().temporalNamespace });
  });
  after(async () => {
    codecServer?.kill('SIGTERM');
    await adapter?.stop();
    await connection?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the server stores only sealed payloads; names and values are not in the raw history', async () => {
    adapter = await startTestAdapter({ 'codec-keys': k1 });
    const smp = await stage(adapter, ns, { helm: ['app'] });
    const ss = await createServiceSet(kube, {
      namespace: ns,
      name,
      provider: smp,
      services: [{ name: 'web', namespace: 'apps', template: 'app', values: `v: ${valueMarker}\n` }],
    });
    workflowId = workflowIdFor(ss.metadata.uid!);
    await eventually('HelmRelease', () => kube.get(paths.flux(hrRef)));
    await setFluxStatus(kube, hrRef, { ready: 'True', reason: 'InstallSucceeded' });
    await deployed('Deployed with the codec on');

    const found = await payloads();
    assert.ok(found.length > 5, `payloads stored (${found.length})`);
    for (const f of found) {
      assert.equal(utf8(f.payload.metadata?.encoding), ENCRYPTED_ENCODING, `${f.path} sealed`);
      assert.equal(utf8(f.payload.metadata?.[KEY_ID_KEY]), 'k1', `${f.path} sealed with k1`);
    }
    const bytes = await storedBytes({ searchAttributes: false });
    for (const s of [name, ns, valueMarker, '"name"'])
      assert.ok(!bytes.includes(s), `${JSON.stringify(s)} is not in the stored history`);
    // Only the search attributes name the ServiceSet (KsmServiceSetNamespace/Name): the server indexes them, so
    // they are the one part of a history no codec can seal (README: what the codec covers). Values never are.
    const all = await storedBytes({ searchAttributes: true });
    assert.ok(all.includes(name) && !all.includes(valueMarker));
    // Through the codec, the same history reads normally.
    const opened = found.map((f) => utf8(decryptPayload(parseKeyring(k1, 't'), f.payload).data));
    assert.ok(opened.some((t) => t.includes(`"name":"${name}"`) && t.includes(`"namespace":"${ns}"`)));
    assert.equal((await withKeys(k1).workflow.getHandle(workflowId).query(stateQuery)).services[0]?.state, 'Deployed');
  });

  it('key rotation: a worker with [k2, k1] carries on the workflow sealed with k1 and seals new payloads with k2', async () => {
    const old = adapter!;
    await old.stop();
    adapter = undefined;
    adapter = await startTestAdapter({
      'codec-keys': `${k2}\n${k1}`,
      'task-queue': old.cfg.taskQueue,
      'adapter-name': old.cfg.adapterName,
      'lease-name': old.cfg.leaseName,
    });
    const generation = (await kube.get<any>(paths.flux(hrRef)))!.metadata.generation;
    await kube.mergePatch(paths.serviceSet(ns, name), {
      spec: { services: [{ name: 'web', namespace: 'apps', template: 'app', version: 'app', values: 'v: rotated\n' }] },
    });
    // The new worker had to read the k1-sealed history to go on: the edit is applied.
    const hr: any = await eventually('values applied after the rotation', async () => {
      const o = await kube.get<any>(paths.flux(hrRef));
      return o?.metadata.generation > generation && o;
    });
    assert.deepEqual(hr.spec.values, { v: 'rotated' });
    await setFluxStatus(kube, hrRef, { ready: 'True', reason: 'UpgradeSucceeded' });
    await deployed('Deployed after the rotation');
    const ids = new Set((await payloads()).map((f) => utf8(f.payload.metadata?.[KEY_ID_KEY])));
    assert.deepEqual([...ids].sort(), ['k1', 'k2'], 'old payloads keep k1, new ones are sealed with k2');
    // A reader that has only the old key gets a clear error naming the key it lacks.
    await assert.rejects(
      withKeys(k1).workflow.getHandle(workflowId).query(stateQuery),
      /codec key "k2", which is not configured \(configured: k1\)/,
    );
    const rotated = withKeys(`${k2},${k1}`).workflow.getHandle(workflowId);
    await eventually(
      'the live state read with [k2, k1]',
      async () => (await rotated.query(stateQuery)).services[0]?.state === 'Deployed',
    );
  });

  it('ksm-flux codec-server lets the temporal CLI show the history decoded (with its auth header)', async () => {
    const authFile = path.join(dir, 'codec-auth');
    fs.writeFileSync(authFile, 'Bearer codec-test-token\n');
    const child = spawn(
      process.execPath,
      [bin, 'codec-server', '--codec-listen', '127.0.0.1:0', '--codec-auth-file', authFile],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, KSM_FLUX_CODEC_KEYS: `${k2}\n${k1}`, LOG_LEVEL: 'info' },
      },
    );
    codecServer = child;
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const url = await eventually('codec server listening', async () => /"url":"(http:[^"]+)"/.exec(out)?.[1], 30_000);
    assert.ok(!out.includes(k1.split(':')[1]!) && !out.includes(k2.split(':')[1]!), 'keys are not logged');

    const show = (...extra: string[]) =>
      run(
        toolPaths().temporal,
        [
          'workflow',
          'show',
          '--workflow-id',
          workflowId,
          '--address',
          testEnv().temporalAddress,
          '--namespace',
          testEnv().temporalNamespace,
          '--output',
          'json',
          ...extra,
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
    /** The payloads the CLI printed, with their data decoded from base64 (protobuf JSON prints bytes so). */
    const printed = (stdout: string) => {
      const out: { encoding: string; data: string }[] = [];
      const walk = (v: unknown): void => {
        if (!v || typeof v !== 'object') return;
        const p = v as { metadata?: Record<string, string>; data?: string };
        if (p.metadata?.encoding !== undefined) {
          out.push({
            encoding: Buffer.from(p.metadata.encoding, 'base64').toString(),
            data: Buffer.from(p.data ?? '', 'base64').toString(),
          });
          return;
        }
        Object.values(v).forEach(walk);
      };
      walk(JSON.parse(stdout));
      return out;
    };
    const sealed = printed((await show()).stdout);
    assert.ok(sealed.filter((p) => p.encoding === ENCRYPTED_ENCODING).length > 5, 'without the endpoint: sealed');
    // The workflow input: the ServiceSet reference (search attributes, plain by design, also name it).
    const input = new RegExp(`"ref":\\{"uid":"[^"]+","namespace":"${ns}","name":"${name}"\\}`);
    assert.ok(!sealed.some((p) => input.test(p.data)), 'without the endpoint the input is not readable');
    const decoded = printed((await show('--codec-endpoint', url, '--codec-auth', 'Bearer codec-test-token')).stdout);
    assert.equal(decoded.length, sealed.length);
    assert.ok(
      decoded.every((p) => p.encoding !== ENCRYPTED_ENCODING),
      'every payload decoded',
    );
    assert.ok(
      decoded.some((p) => p.encoding === 'json/plain' && input.test(p.data)),
      `the workflow input is shown decoded: ${decoded.map((p) => p.data.slice(0, 120)).join('\n')}`,
    );
    await assert.rejects(
      show('--codec-endpoint', url, '--codec-auth', 'Bearer wrong'),
      'a wrong auth header is refused',
    );
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    codecServer = undefined;
  });

  it('the chart mounts the keys Secret into watcher and worker and passes --codec-key-file (off by default)', async () => {
    await ensureBuilt(['helm']);
    type Deployment = {
      kind: string;
      metadata: { name: string };
      spec: {
        template: {
          spec: {
            containers: { args: string[]; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }[];
            volumes: { name: string; secret?: unknown }[];
          };
        };
      };
    };
    const deployments = async (set: Record<string, string>) =>
      parseManifests(await helmTemplate({ set })).filter((o) => o.kind === 'Deployment') as unknown as Deployment[];
    for (const d of await deployments({})) {
      assert.ok(!d.spec.template.spec.containers[0]!.args.some((a) => a.startsWith('--codec')), 'off by default');
    }
    const on = await deployments({ 'codec.existingSecret': 'ksm-flux-codec' });
    const adapters = on.filter((d) => /^ksm-flux(-worker)?$/.test(d.metadata.name));
    assert.equal(adapters.length, 2, 'watcher and worker');
    for (const d of adapters) {
      const c = d.spec.template.spec.containers[0]!;
      const mount = c.volumeMounts?.find((m) => m.name === 'codec-keys');
      assert.ok(mount?.readOnly, `${d.metadata.name}: keys mounted read-only`);
      assert.ok(c.args.includes(`--codec-key-file=${mount.mountPath}/keys`), `${d.metadata.name}: ${c.args.join(' ')}`);
      assert.deepEqual(d.spec.template.spec.volumes.find((v) => v.name === 'codec-keys')?.secret, {
        secretName: 'ksm-flux-codec',
        items: [{ key: 'keys', path: 'keys' }],
      });
    }
  });
});
