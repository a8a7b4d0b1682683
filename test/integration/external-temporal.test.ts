// Pointing ksm-flux at an external Temporal: the chart's API-key and mTLS values and the Compose overrides in
// deploy/compose/ (no Docker engine here) checked against the real CLI configuration, down to the connection
// options the SDK gets (key read from the mounted file, certificate pair, CA, server name).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { parseArgs } from '../../src/args';
import { bareTrueFlags, configFlags, loadConfig, optionHelp, type Config } from '../../src/config';
import { apiKeyOf, tlsOf } from '../../src/temporalConn';
import { ensureBuilt } from '../../src/testenv/build';
import { helmTemplate, parseManifests, type Manifest } from '../../scripts/render-deploy';

const repo = path.resolve(__dirname, '..', '..');
const knownEnv = new Set<string>(optionHelp.map((o) => o.env));

interface Container {
  args: string[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
}
const podSpec = (d: Manifest) => (d as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;

/** Files standing in for mounted Secrets: a config's paths under `mountDir` are rewritten to them. */
function withMounts(c: Config, mounts: Record<string, string>): Config {
  const out: Record<string, unknown> = { ...c };
  for (const [k, v] of Object.entries(out)) if (typeof v === 'string' && mounts[v] !== undefined) out[k] = mounts[v];
  return out as Config;
}

describe('external Temporal', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-ext-'));
  const file = (name: string, text: string) => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, text);
    return p;
  };
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** The watcher and the worker (not the chart's kustomize-controller of kcm Flux mode). */
  const isAdapterDeployment = (d: Manifest) =>
    d.kind === 'Deployment' &&
    (d.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/component'] !==
      'kustomize-controller';

  describe('chart values', () => {
    before(async () => {
      await ensureBuilt(['helm']);
    });

    it('apiKey.existingSecret: only that key of the Secret is mounted read-only and passed as a file', async () => {
      const docs = parseManifests(
        await helmTemplate({
          set: {
            'temporal.address': 'my-ns.a1b2c.tmprl.cloud:7233',
            'temporal.namespace': 'my-ns.a1b2c',
            'temporal.apiKey.existingSecret': 'temporal-api-key',
            'temporal.apiKey.key': 'token',
          },
        }),
      );
      const deployments = docs.filter(isAdapterDeployment);
      assert.equal(deployments.length, 2, 'watcher and worker');
      for (const d of deployments) {
        const spec = podSpec(d);
        const c = spec.containers[0]!;
        const dir = '/etc/ksm-flux/temporal-api-key';
        assert.ok(c.args.includes(`--temporal-api-key-file=${dir}/token`), c.args.join(' '));
        assert.ok(!c.args.some((a) => a.startsWith('--temporal-api-key=')), 'the key itself is never an argument');
        const m = c.volumeMounts?.find((v) => v.name === 'temporal-api-key');
        assert.deepEqual(m, { name: 'temporal-api-key', mountPath: dir, readOnly: true });
        const vol = spec.volumes.find((v) => v.name === 'temporal-api-key');
        assert.deepEqual(vol?.secret, {
          secretName: 'temporal-api-key',
          items: [{ key: 'token', path: 'token' }],
        });
        // The flags are ones the CLI takes, and the key comes out of the mounted file.
        const { flags } = parseArgs(c.args.slice(1), configFlags, bareTrueFlags);
        const cfg = withMounts(loadConfig(flags, {}), { [`${dir}/token`]: file('token', 'secret-key\n') });
        assert.equal(cfg.temporalAddress, 'my-ns.a1b2c.tmprl.cloud:7233');
        assert.equal(cfg.temporalNamespace, 'my-ns.a1b2c');
        assert.equal(apiKeyOf(cfg), 'secret-key');
      }
    });

    it('tls.existingSecret + serverName: mTLS files and the server name reach the connection', async () => {
      const docs = parseManifests(
        await helmTemplate({
          set: {
            'temporal.tls.enabled': true,
            'temporal.tls.existingSecret': 'temporal-client',
            'temporal.tls.serverName': 'temporal.internal',
          },
        }),
      );
      const c = podSpec(docs.find(isAdapterDeployment)!).containers[0]!;
      const { flags } = parseArgs(c.args.slice(1), configFlags, bareTrueFlags);
      const dir = '/etc/ksm-flux/temporal-tls';
      const cfg = withMounts(loadConfig(flags, {}), {
        [`${dir}/tls.crt`]: file('tls.crt', 'CERT'),
        [`${dir}/tls.key`]: file('tls.key', 'KEY'),
        [`${dir}/ca.crt`]: file('ca.crt', 'CA'),
      });
      const tls = tlsOf(cfg);
      assert.equal(tls?.clientCertPair?.crt.toString(), 'CERT');
      assert.equal(tls?.clientCertPair?.key.toString(), 'KEY');
      assert.equal(tls?.serverRootCACertificate?.toString(), 'CA');
      assert.equal(tls?.serverNameOverride, 'temporal.internal');
    });

    it('the default rendering has no API key or server name', async () => {
      const text = await helmTemplate();
      assert.doesNotMatch(text, /temporal-api-key|temporal-tls-server-name/);
    });

    it('an API key Secret key that is not a file name is refused by the schema', async () => {
      await assert.rejects(
        helmTemplate({ set: { 'temporal.apiKey.existingSecret': 's', 'temporal.apiKey.key': '../x' } }),
        /apiKey\/key/,
      );
    });
  });

  describe('Compose overrides', () => {
    const base = YAML.parse(fs.readFileSync(path.join(repo, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { environment: Record<string, string> }>;
    };
    // What the user sets on the command line (see each file's header).
    const vars: Record<string, string> = {
      TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'my-ns.a1b2c',
      TEMPORAL_TLS_SERVER_NAME: '',
    };
    /** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error} (a missing required variable fails). */
    const interpolate = (s: string) =>
      s.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, k: string, op?: string, arg?: string) => {
        const v = vars[k];
        if (v) return v;
        if (op === '?') throw new Error(`required variable ${k} is unset: ${arg}`);
        return op === '-' ? (arg ?? '') : '';
      });

    for (const [name, secrets] of [
      ['temporal-api-key.yml', { 'temporal-api-key': 'the-key\n' }],
      ['temporal-mtls.yml', { 'temporal-tls-cert': 'CERT', 'temporal-tls-key': 'KEY', 'temporal-tls-ca': 'CA' }],
    ] as const) {
      it(`${name}: merged over docker-compose.yml, the watcher and worker reach the external Temporal`, () => {
        const text = fs.readFileSync(path.join(repo, 'deploy', 'compose', name), 'utf8');
        const o = YAML.parse(text, { merge: true }) as {
          services: Record<string, { environment: Record<string, string>; secrets: string[] }>;
          secrets: Record<string, { file: string }>;
        };
        assert.deepEqual(Object.keys(o.services).sort(), ['ksm-flux-watcher', 'ksm-flux-worker']);
        assert.deepEqual(Object.keys(o.secrets).sort(), Object.keys(secrets).sort());
        for (const [svc, s] of Object.entries(o.services)) {
          assert.ok(base.services[svc], `${svc} is a service of docker-compose.yml`);
          assert.deepEqual([...s.secrets].sort(), Object.keys(secrets).sort(), `${svc} mounts every secret`);
          // Compose merges environment maps key by key, the override winning.
          const env = Object.fromEntries(
            Object.entries({ ...base.services[svc].environment, ...s.environment }).map(([k, v]) => [
              k,
              interpolate(String(v)),
            ]),
          );
          for (const k of Object.keys(s.environment)) assert.ok(knownEnv.has(k), `${k} is a ksm-flux variable`);
          const mounts = Object.fromEntries(
            Object.entries(secrets).map(([secret, content]) => [`/run/secrets/${secret}`, file(secret, content)]),
          );
          const cfg = withMounts(loadConfig({}, env), mounts);
          assert.equal(cfg.temporalAddress, vars.TEMPORAL_ADDRESS);
          assert.equal(cfg.temporalNamespace, vars.TEMPORAL_NAMESPACE);
          if ('temporal-api-key' in secrets) {
            assert.equal(apiKeyOf(cfg), 'the-key');
          } else {
            const tls = tlsOf(cfg);
            assert.equal(tls?.clientCertPair?.crt.toString(), 'CERT');
            assert.equal(tls?.clientCertPair?.key.toString(), 'KEY');
            assert.equal(tls?.serverRootCACertificate?.toString(), 'CA');
          }
        }
        // Without the address the override refuses to start rather than falling back to the dev server.
        const saved = vars.TEMPORAL_ADDRESS;
        delete vars.TEMPORAL_ADDRESS;
        try {
          assert.throws(() => interpolate(o.services['ksm-flux-worker']!.environment.TEMPORAL_ADDRESS!), /required/);
        } finally {
          vars.TEMPORAL_ADDRESS = saved!;
        }
      });
    }
  });
});
