// The Temporal data converter of every client and worker: the SDK's default, plus the encryption codec when
// codec keys are configured (off by default).
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from './encryption';
import { loadKeyring, type KeySource } from './keyring';

export function dataConverterOf(c: KeySource): DataConverter | undefined {
  const keyring = loadKeyring(c);
  if (!keyring) return undefined;
  return {
    payloadCodecs: [new EncryptionCodec(keyring)],
    failureConverterPath: require.resolve('./failureConverter'),
  };
}
