// Writes the provider config JSON Schema (generated from the zod schema in src/plan/providerConfig.ts) where it
// ships: the chart (charts/ksm-flux/files/, published as a ConfigMap) and deploy/. test/unit/configSchema.test.ts
// fails when a copy is stale; then run `npx tsx scripts/gen-config-schema.ts` and `npx tsx scripts/render-deploy.ts`.
import fs from 'node:fs';
import path from 'node:path';
import { providerConfigJsonSchemaText } from '../src/plan/configSchema';

const root = path.resolve(__dirname, '..');
export const schemaFiles = [
  path.join(root, 'charts', 'ksm-flux', 'files', 'provider-config.schema.json'),
  path.join(root, 'deploy', 'provider-config.schema.json'),
];

if (require.main === module) {
  const text = providerConfigJsonSchemaText();
  for (const f of schemaFiles) {
    fs.writeFileSync(f, text);
    process.stdout.write(`wrote ${path.relative(root, f)}\n`);
  }
}
