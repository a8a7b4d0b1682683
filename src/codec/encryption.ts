// A Temporal PayloadCodec that encrypts every payload with AES-256-GCM (node:crypto). The whole payload
// (metadata and data, protobuf-encoded) is sealed, so not even its encoding is visible on the server. The key id
// travels in clear in the metadata and is bound into the authentication tag, so a payload decrypts only with the
// key it was sealed with: rotation is adding a key in front, old payloads still open with the old one.
import crypto from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { CodecKeyError, type Keyring } from './keyring';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_KEY = 'encryption-key-id';
export const CIPHER_KEY = 'encryption-cipher';
export const CIPHER = 'aes-256-gcm';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const PayloadProto = temporal.api.common.v1.Payload;
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);
/** Additional authenticated data: the format version and the key id, so neither can be swapped unnoticed. */
const aad = (keyId: string) => utf8(`ksm-flux/codec/v1/${keyId}`);

export class CodecDecryptError extends Error {
  override name = 'CodecDecryptError';
}

export function isEncrypted(p: Payload): boolean {
  return text(p.metadata?.encoding) === ENCRYPTED_ENCODING;
}

export function encryptPayload(keyring: Keyring, p: Payload): Payload {
  const { id, key } = keyring.active;
  const plain = PayloadProto.encode(p).finish();
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(id));
  const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return {
    metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_KEY]: utf8(id), [CIPHER_KEY]: utf8(CIPHER) },
    data: sealed,
  };
}

/** Plaintext payloads (written before the codec was turned on) pass through unchanged. */
export function decryptPayload(keyring: Keyring, p: Payload): Payload {
  if (!isEncrypted(p)) return p;
  const id = text(p.metadata?.[KEY_ID_KEY]);
  if (!id) throw new CodecDecryptError(`encrypted payload without an ${KEY_ID_KEY}`);
  const cipherName = text(p.metadata?.[CIPHER_KEY]) ?? CIPHER;
  if (cipherName !== CIPHER) throw new CodecDecryptError(`encrypted payload uses cipher ${cipherName}, not ${CIPHER}`);
  const key = keyring.byId.get(id);
  if (!key)
    throw new CodecKeyError(
      `payload encrypted with codec key "${id}", which is not configured (configured: ${[...keyring.byId.keys()].join(', ')}); add it back to the key list`,
    );
  const data = Buffer.from(p.data ?? new Uint8Array());
  if (data.length < IV_BYTES + TAG_BYTES) throw new CodecDecryptError(`encrypted payload (key "${id}") is truncated`);
  const decipher = crypto.createDecipheriv(CIPHER, key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad(id));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new CodecDecryptError(
      `payload encrypted with codec key "${id}" failed authentication: the configured key "${id}" is not the one it was sealed with, or the payload was altered`,
    );
  }
  const inner = PayloadProto.decode(plain);
  return { metadata: inner.metadata, data: inner.data };
}

export class EncryptionCodec implements PayloadCodec {
  constructor(readonly keyring: Keyring) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((p) => encryptPayload(this.keyring, p)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((p) => decryptPayload(this.keyring, p)));
  }
}
