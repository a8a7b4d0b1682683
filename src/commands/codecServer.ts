// `ksm-flux codec-server`: the remote codec endpoint for the Temporal Web UI and CLI, holding the same keys as
// the workers (encrypting with the newest, decrypting with any). Runs until SIGINT/SIGTERM.
import fs from 'node:fs';
import { EncryptionCodec } from '../codec/encryption';
import { CodecKeyError, loadKeyring } from '../codec/keyring';
import { listenCodecServer } from '../codec/server';
import type { Config } from '../config';
import type { Logger } from '../log';

export function authorizationOf(c: Config): string | undefined {
  if (!c.codecAuthFile) return undefined;
  const value = fs.readFileSync(c.codecAuthFile, 'utf8').trim();
  if (!value) throw new Error(`codec auth file ${c.codecAuthFile} is empty`);
  return value;
}

export async function startCodecServer(c: Config, logger: Logger) {
  const keyring = loadKeyring(c);
  if (!keyring)
    throw new CodecKeyError(
      'codec-server needs the codec keys: --codec-keys / KSM_FLUX_CODEC_KEYS or --codec-key-file / KSM_FLUX_CODEC_KEY_FILE',
    );
  const corsOrigins = (c.codecCorsOrigins ?? '')
    .split(',')
    .map((s) => s.trim().replace(/\/$/, ''))
    .filter(Boolean);
  const authorization = authorizationOf(c);
  const started = await listenCodecServer(
    { codec: new EncryptionCodec(keyring), corsOrigins, ...(authorization ? { authorization } : {}), logger },
    c.codecListen,
  );
  logger.info(
    {
      url: started.url,
      keys: [...keyring.byId.keys()],
      encryptsWith: keyring.active.id,
      corsOrigins,
      auth: !!authorization,
    },
    'codec server listening',
  );
  return started;
}

export async function codecServer(c: Config, logger: Logger): Promise<void> {
  const { server } = await startCodecServer(c, logger);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
