// The provider config JSON Schema ships in three places (chart, deploy/, `ksm-flux config-schema`); each must be
// exactly what the zod schema generates, and the schema must say what the zod schema enforces.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { providerConfigJsonSchema, providerConfigJsonSchemaText } from '../../src/plan/configSchema';
import { ProviderConfig } from '../../src/plan/providerConfig';
import { schemaFiles } from '../../scripts/gen-config-schema';

const root = path.resolve(__dirname, '..', '..');

describe('provider config JSON Schema', () => {
  const fresh = providerConfigJsonSchemaText();

  for (const f of schemaFiles) {
    test(`${path.relative(root, f)} is the current generation (npx tsx scripts/gen-config-schema.ts)`, () => {
      assert.equal(fs.readFileSync(f, 'utf8'), fresh);
    });
  }

  test('deploy/ksm-flux.yaml carries it in the ConfigMap the SMP annotation names', () => {
    const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(root, 'deploy', 'ksm-flux.yaml'), 'utf8')).map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
          data?: Record<string, string>;
        },
    );
    const smp = docs.find((d) => d?.kind === 'StateManagementProvider')!;
    const ref = smp.metadata.annotations?.['flux.k0rdent.mirantis.com/provider-config-schema'];
    assert.ok(ref, 'the SMP names the schema ConfigMap');
    const [ns, name] = ref.split('/');
    const cm = docs.find((d) => d?.kind === 'ConfigMap' && d.metadata.name === name && d.metadata.namespace === ns);
    assert.ok(cm, `ConfigMap ${ref} is in deploy/ksm-flux.yaml`);
    assert.deepEqual(JSON.parse(cm.data!['provider-config.schema.json']!), providerConfigJsonSchema());
  });

  test('`ksm-flux config-schema` prints it', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli.ts'), 'config-schema'], {
      encoding: 'utf8',
      cwd: root,
    });
    assert.equal(out, fresh);
  });

  test('agrees with the zod schema: same keys, no others allowed, same enums and defaults', () => {
    const s = providerConfigJsonSchema() as {
      properties: Record<string, { enum?: string[]; default?: unknown }>;
      additionalProperties: unknown;
      required?: string[];
    };
    assert.deepEqual(Object.keys(s.properties).sort(), Object.keys(ProviderConfig.shape).sort());
    assert.equal(s.additionalProperties, false, 'unknown keys are rejected, as by zod');
    assert.deepEqual(s.required ?? [], [], 'every key is optional');
    assert.deepEqual(s.properties.syncMode!.enum, ['Continuous', 'ContinuousWithDriftDetection', 'OneTime', 'DryRun']);
    const defaults = ProviderConfig.parse({});
    for (const [k, v] of Object.entries(defaults)) assert.deepEqual(s.properties[k]!.default, v, `default of ${k}`);
  });
});
