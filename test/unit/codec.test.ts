// The payload encryption codec (src/codec): roundtrip through the SDK's converters, key rotation, tamper
// detection, and clear errors for a wrong or missing key — without ever echoing key material.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import {
  decodeFromPayloadsAtIndex,
  encodeToPayloads,
  loadDataConverter,
} from '@temporalio/common/lib/internal-non-workflow';
import { dataConverterOf } from '../../src/codec/dataConverter';
import {
  CodecDecryptError,
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  KEY_ID_KEY,
  decryptPayload,
  encryptPayload,
} from '../../src/codec/encryption';
import { CodecKeyError, loadKeyring, newKeyEntry, parseKeyring } from '../../src/codec/keyring';
import { ConfigError, loadConfig } from '../../src/config';

const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const plain = (v: unknown) => defaultPayloadConverter.toPayload(v);

describe('codec keyring', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-codec-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('entries by newline, comma or space; comments ignored; the first entry encrypts, all decrypt', () => {
    const a = newKeyEntry('k2');
    const b = newKeyEntry('k1');
    const c = newKeyEntry('old.0');
    const kr = parseKeyring(`# newest first\n${a}\n\n${b}, ${c}   # retired soon\n`, 'test');
    assert.equal(kr.active.id, 'k2');
    assert.deepEqual([...kr.byId.keys()], ['k2', 'k1', 'old.0']);
    assert.equal(kr.active.key.length, 32);
  });

  const bad: [string, string, RegExp][] = [
    ['empty', ' \n# only a comment\n', /no codec key/],
    ['no id', crypto.randomBytes(32).toString('base64'), /entry 1: expected "id:base64-key"/],
    ['bad id', `a/b:${crypto.randomBytes(32).toString('base64')}`, /entry 1: a key id is 1-64 characters/],
    [
      'short key',
      `k1:${crypto.randomBytes(16).toString('base64')}`,
      /entry 1 \(id k1\): the key is 16 bytes, AES-256 needs 32/,
    ],
    ['not base64', 'k1:not*base64!', /entry 1 \(id k1\): the key is not base64/],
    ['duplicate id', `${newKeyEntry('k1')}\n${newKeyEntry('k1')}`, /entry 2: key id k1 is listed twice/],
  ];
  for (const [name, input, re] of bad) {
    test(`refused with a named error: ${name}`, () => {
      assert.throws(
        () => parseKeyring(input, 'KSM_FLUX_CODEC_KEYS'),
        (e: unknown) => e instanceof CodecKeyError && re.test(e.message) && e.message.startsWith('KSM_FLUX_CODEC_KEYS'),
      );
    });
  }

  test('error messages never contain key material', () => {
    const material = crypto.randomBytes(20).toString('base64');
    assert.throws(
      () => parseKeyring(`k1:${material}`, 'x'),
      (e: unknown) => e instanceof CodecKeyError && !e.message.includes(material),
    );
  });

  test('from the variable or a file (a mounted Secret); neither = codec off; both = configuration error', () => {
    const entry = newKeyEntry('file-key');
    const p = path.join(dir, 'keys');
    fs.writeFileSync(p, `${entry}\n`);
    assert.equal(loadKeyring(loadConfig({}, {}))?.active.id, undefined);
    assert.equal(dataConverterOf(loadConfig({}, {})), undefined);
    assert.equal(loadKeyring(loadConfig({}, { KSM_FLUX_CODEC_KEY_FILE: p }))?.active.id, 'file-key');
    assert.equal(loadKeyring(loadConfig({ 'codec-keys': newKeyEntry('flag') }, {}))?.active.id, 'flag');
    assert.throws(
      () => loadKeyring(loadConfig({}, { KSM_FLUX_CODEC_KEY_FILE: path.join(dir, 'missing') })),
      /codec key file .*missing: ENOENT/,
    );
    assert.throws(
      () => loadConfig({}, { KSM_FLUX_CODEC_KEYS: entry, KSM_FLUX_CODEC_KEY_FILE: p }),
      (e: unknown) =>
        e instanceof ConfigError && /KSM_FLUX_CODEC_KEYS.*KSM_FLUX_CODEC_KEY_FILE: give one/.test(e.message),
    );
  });
});

describe('encryption codec', () => {
  const k1 = parseKeyring(newKeyEntry('k1'), 't');
  const secretish = { ref: { namespace: 'team-a', name: 'checkout-marker-7f3a' }, n: 42, s: 'ünïcødé ✓' };

  test('roundtrip: metadata and data come back exactly; the sealed payload shows neither', async () => {
    const codec = new EncryptionCodec(k1);
    const p = plain(secretish);
    const [enc] = await codec.encode([p]);
    assert.equal(text(enc!.metadata!.encoding), ENCRYPTED_ENCODING);
    assert.equal(text(enc!.metadata![KEY_ID_KEY]), 'k1');
    assert.ok(!Buffer.from(enc!.data!).includes('checkout-marker-7f3a'));
    assert.ok(!Buffer.from(enc!.data!).includes('json/plain'), 'the inner encoding is sealed too');
    const [dec] = await codec.decode([enc!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(dec!), secretish);
    assert.equal(text(dec!.metadata!.encoding), 'json/plain');
  });

  test('the same value encrypts differently each time (random IV)', () => {
    const a = encryptPayload(k1, plain('x'));
    const b = encryptPayload(k1, plain('x'));
    assert.notDeepEqual(Buffer.from(a.data!), Buffer.from(b.data!));
  });

  test('empty and binary payloads, and an empty list', async () => {
    const codec = new EncryptionCodec(k1);
    assert.deepEqual(await codec.encode([]), []);
    const undef = plain(undefined);
    const bin = defaultPayloadConverter.toPayload(new Uint8Array([0, 1, 2, 255]));
    const out = await codec.decode(await codec.encode([undef, bin]));
    assert.equal(defaultPayloadConverter.fromPayload(out[0]!), undefined);
    assert.deepEqual(defaultPayloadConverter.fromPayload(out[1]!), new Uint8Array([0, 1, 2, 255]));
  });

  test('rotation: the newest key encrypts, a payload sealed with the old key still decrypts', () => {
    const oldEntry = newKeyEntry('k1');
    const before = parseKeyring(oldEntry, 't');
    const sealedOld = encryptPayload(before, plain('old'));
    const rotated = parseKeyring(`${newKeyEntry('k2')}\n${oldEntry}`, 't');
    const sealedNew = encryptPayload(rotated, plain('new'));
    assert.equal(text(sealedNew.metadata![KEY_ID_KEY]), 'k2');
    assert.equal(defaultPayloadConverter.fromPayload(decryptPayload(rotated, sealedOld)), 'old');
    assert.equal(defaultPayloadConverter.fromPayload(decryptPayload(rotated, sealedNew)), 'new');
    // Dropping the old key too early is a clear error naming the missing id.
    const dropped = parseKeyring(newKeyEntry('k2'), 't');
    assert.throws(
      () => decryptPayload(dropped, sealedOld),
      (e: unknown) =>
        e instanceof CodecKeyError && /codec key "k1", which is not configured \(configured: k2\)/.test(e.message),
    );
  });

  test('plaintext payloads (written before the codec was on) pass through decode', () => {
    const p = plain({ a: 1 });
    assert.equal(decryptPayload(k1, p), p);
  });

  test('tampering is detected: data, IV, tag, or a swapped key id', () => {
    const sealed = encryptPayload(k1, plain(secretish));
    const flip = (i: number) => {
      const d = Buffer.from(sealed.data!);
      d[i < 0 ? d.length + i : i]! ^= 1;
      return { ...sealed, data: d };
    };
    for (const [what, p] of [
      ['IV', flip(0)],
      ['ciphertext', flip(20)],
      ['tag', flip(-1)],
    ] as const) {
      assert.throws(
        () => decryptPayload(k1, p),
        (e: unknown) => e instanceof CodecDecryptError && /failed authentication/.test(e.message),
        what,
      );
    }
    // The same key under another id: the id is authenticated, so this fails too.
    const twin = parseKeyring(`k1:${k1.active.key.toString('base64')}\nk9:${k1.active.key.toString('base64')}`, 't');
    const relabelled = { ...sealed, metadata: { ...sealed.metadata, [KEY_ID_KEY]: Buffer.from('k9') } };
    assert.throws(() => decryptPayload(twin, relabelled), /failed authentication/);
    assert.throws(() => decryptPayload(k1, { ...sealed, data: new Uint8Array(5) }), /truncated/);
  });

  test('a wrong key under the right id is a clear error, not garbage', async () => {
    const sealed = encryptPayload(k1, plain('v'));
    const other = parseKeyring(newKeyEntry('k1'), 't');
    await assert.rejects(
      new EncryptionCodec(other).decode([sealed]),
      (e: unknown) =>
        e instanceof CodecDecryptError &&
        /codec key "k1" failed authentication: the configured key "k1" is not the one it was sealed with/.test(
          e.message,
        ),
    );
  });

  test('through the SDK data converter: values and failure messages are sealed', async () => {
    const dc = loadDataConverter(dataConverterOf({ codecKeys: newKeyEntry('k1') }));
    const payloads = await encodeToPayloads(dc, secretish);
    assert.ok(payloads?.every((p) => text(p.metadata!.encoding) === ENCRYPTED_ENCODING));
    assert.deepEqual(await decodeFromPayloadsAtIndex(dc, 0, payloads), secretish);
    // Failure messages name objects: with the codec on they move into an (encrypted) attribute payload.
    const failure = dc.failureConverter.errorToFailure(
      ApplicationFailure.nonRetryable('HelmRelease team-a/checkout-marker-7f3a: conflict'),
      dc.payloadConverter,
    );
    assert.equal(failure.message, 'Encoded failure');
    assert.equal(failure.stackTrace, '');
    assert.ok(failure.encodedAttributes, 'message and stack in an attribute payload');
    const [sealedAttrs] = await dc.payloadCodecs[0]!.encode([failure.encodedAttributes]);
    assert.ok(!Buffer.from(sealedAttrs!.data!).includes('checkout-marker-7f3a'));
  });
});
