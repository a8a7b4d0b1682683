// The JSON Schema of spec.provider.config, generated from the zod schema (the one source of truth). Shipped in
// the chart (a ConfigMap), in deploy/, and printed by `ksm-flux config-schema`; test/unit/configSchema.test.ts
// checks every shipped copy against a fresh generation.
import { z } from 'zod';
import { ProviderConfig } from './providerConfig';

export const CONFIG_SCHEMA_ID = 'https://k0rdent.io/ksm-flux/provider-config.schema.json';

export function providerConfigJsonSchema(): Record<string, unknown> {
  // io "input": what a user may write (keys with defaults are optional), not what parsing returns.
  const schema = z.toJSONSchema(ProviderConfig, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: CONFIG_SCHEMA_ID,
    title: 'ksm-flux provider config (ServiceSet spec.provider.config)',
    description:
      "ksm-flux's own keys and the keys of kcm's built-in Sveltos provider config. Sveltos keys without a Flux meaning are accepted and named in the ServiceSet's ProviderConfigValid condition; see the README table.",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}

/** The schema as shipped: two-space JSON with a final newline. */
export function providerConfigJsonSchemaText(): string {
  return `${JSON.stringify(providerConfigJsonSchema(), null, 2)}\n`;
}
