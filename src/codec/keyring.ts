// The payload codec's keys: a list of `id:base64-key` entries (AES-256, 32 bytes each). The first entry encrypts
// new payloads; every entry decrypts, so rotation is "put the new key first, keep the old ones until no open
// history needs them". Key material is never echoed in errors or logs: messages name the entry and the id only.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';

export const KEY_BYTES = 32;

export class CodecKeyError extends Error {
  override name = 'CodecKeyError';
}

export interface Keyring {
  /** The id and key that encrypt. */
  active: { id: string; key: Buffer };
  /** Every key that decrypts, by id (the active one included). */
  byId: ReadonlyMap<string, Buffer>;
}

/** An id travels in each payload's metadata (in clear): short, printable, no separators of the list format. */
const keyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key id is 1-64 characters of A-Z a-z 0-9 . _ -');
const base64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Parses a key list: entries separated by newlines, commas or spaces; blank lines and `#` comments ignored.
 * `source` names where the text came from (variable or file) in error messages.
 */
export function parseKeyring(text: string, source: string): Keyring {
  const entries = text
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join(' ')
    .split(/[\s,]+/)
    .filter(Boolean);
  if (!entries.length) throw new CodecKeyError(`${source}: no codec key (expected entries "id:base64-key")`);
  const byId = new Map<string, Buffer>();
  let active: Keyring['active'] | undefined;
  entries.forEach((entry, i) => {
    const at = `${source}: entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new CodecKeyError(`${at}: expected "id:base64-key"`);
    const id = keyId.safeParse(entry.slice(0, colon));
    if (!id.success) throw new CodecKeyError(`${at}: ${id.error.issues[0]?.message}`);
    const material = entry.slice(colon + 1);
    if (!base64.test(material)) throw new CodecKeyError(`${at} (id ${id.data}): the key is not base64`);
    const key = Buffer.from(material, 'base64');
    if (key.length !== KEY_BYTES)
      throw new CodecKeyError(
        `${at} (id ${id.data}): the key is ${key.length} bytes, AES-256 needs ${KEY_BYTES} (e.g. \`head -c 32 /dev/urandom | base64\`)`,
      );
    if (byId.has(id.data)) throw new CodecKeyError(`${at}: key id ${id.data} is listed twice`);
    byId.set(id.data, key);
    active ??= { id: id.data, key };
  });
  return { active: active!, byId };
}

export interface KeySource {
  codecKeys?: string | undefined;
  codecKeyFile?: string | undefined;
}

/**
 * The keyring from the configuration, or undefined when the codec is off. The file (a mounted Secret) is read
 * when a connection is made, so a rotated Secret is picked up by the next restart without copying it anywhere.
 */
export function loadKeyring(c: KeySource): Keyring | undefined {
  if (c.codecKeys) return parseKeyring(c.codecKeys, 'KSM_FLUX_CODEC_KEYS');
  if (!c.codecKeyFile) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(c.codecKeyFile, 'utf8');
  } catch (e) {
    throw new CodecKeyError(`codec key file ${c.codecKeyFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseKeyring(text, `codec key file ${c.codecKeyFile}`);
}

/** A fresh key entry, for docs and tests. */
export function newKeyEntry(id: string): string {
  return `${id}:${crypto.randomBytes(KEY_BYTES).toString('base64')}`;
}
