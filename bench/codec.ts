// Payload codec benchmark (prints a report; never asserted): the cost the AES-256-GCM codec (src/codec) adds per
// payload, encode and decode, for payload sizes ksm-flux really sends (a workflow input ~0.3 KiB, an observation
// result ~2 KiB, a large carried state ~32 KiB), beside the SDK's JSON conversion of the same value, which every
// payload pays with or without the codec.
// Usage: npx tsx bench/codec.ts [--iterations 5000]
import { defaultPayloadConverter } from '@temporalio/common';
import { parseArgs } from '../src/args';
import { EncryptionCodec } from '../src/codec/encryption';
import { newKeyEntry, parseKeyring } from '../src/codec/keyring';

const { flags } = parseArgs(process.argv.slice(2), { iterations: 'string' });
const ITER = Number(flags.iterations ?? 5000);

const codec = new EncryptionCodec(parseKeyring(`${newKeyEntry('k2')}\n${newKeyEntry('k1')}`, 'bench'));

function valueOf(bytes: number): unknown {
  const services = [];
  for (let i = 0; JSON.stringify(services).length < bytes; i++)
    services.push({ key: `apps/service-${i}`, state: 'Deployed', version: '1.2.3', flux: `HelmRelease ns/x-${i}` });
  return { ref: { uid: '018300ea-7bf6-479c-89fe-24479503192a', namespace: 'team-a', name: 'web' }, services };
}

async function timeUs(fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(500, ITER); i++) await fn(); // warm-up (JIT, cipher setup)
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITER; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / ITER;
}

async function main() {
  const rows: string[] = [];
  for (const [label, size] of [
    ['workflow input', 300],
    ['observation', 2048],
    ['carried state', 32 * 1024],
  ] as const) {
    const value = valueOf(size);
    const payload = defaultPayloadConverter.toPayload(value);
    const [sealed] = await codec.encode([payload]);
    const json = await timeUs(() => defaultPayloadConverter.fromPayload(defaultPayloadConverter.toPayload(value)));
    const enc = await timeUs(() => codec.encode([payload]));
    const dec = await timeUs(() => codec.decode([sealed!]));
    const plainBytes = payload.data!.length;
    const sealedBytes = sealed!.data!.length + Object.values(sealed!.metadata!).reduce((n, v) => n + v.length, 0);
    rows.push(
      `| ${label.padEnd(14)} | ${String(plainBytes).padStart(6)} | ${String(sealedBytes).padStart(6)} | ${enc.toFixed(1).padStart(6)} | ${dec.toFixed(1).padStart(6)} | ${json.toFixed(1).padStart(9)} |`,
    );
  }
  process.stdout.write(
    [
      `Payload codec (AES-256-GCM, node:crypto), ${ITER} iterations each, load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`,
      '',
      '| payload        |  bytes | sealed | enc µs | dec µs | JSON rt µs |',
      '| -------------- | -----: | -----: | -----: | -----: | ---------: |',
      ...rows,
      '',
      'sealed = data + metadata bytes stored (12-byte IV, 16-byte tag, key id, the inner payload protobuf-encoded).',
      'JSON rt = the SDK converting the same value to a payload and back, paid with or without the codec.',
      '',
    ].join('\n'),
  );
}

void main();
