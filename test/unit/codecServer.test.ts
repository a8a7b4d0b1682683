// The remote codec endpoint (src/codec/server.ts) over loopback HTTP, as the Temporal Web UI and CLI call it:
// protobuf-JSON Payloads in and out, the last path segment decides, CORS for the UI origins, optional auth.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec } from '../../src/codec/encryption';
import { newKeyEntry, parseKeyring } from '../../src/codec/keyring';
import { listenCodecServer } from '../../src/codec/server';
import { createLogger } from '../../src/log';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const jsonPayload = (v: unknown) => ({ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify(v)) });

describe('codec server', () => {
  const keyring = parseKeyring(`${newKeyEntry('k2')}\n${newKeyEntry('k1')}`, 't');
  const ui = 'http://127.0.0.1:8233';
  let server: http.Server;
  let url: string;
  let authed: { server: http.Server; url: string };
  const logger = createLogger('silent');
  const post = (base: string, p: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  before(async () => {
    ({ server, url } = await listenCodecServer(
      { codec: new EncryptionCodec(keyring), corsOrigins: [ui], logger },
      '127.0.0.1:0',
    ));
    authed = await listenCodecServer(
      { codec: new EncryptionCodec(keyring), corsOrigins: [], authorization: 'Bearer s3cret', logger },
      '127.0.0.1:0',
    );
  });
  after(() => {
    server?.close();
    authed?.server.close();
  });

  test('encode then decode gives the payloads back; encode seals with the newest key', async () => {
    const value = { ref: { namespace: 'ns', name: 'codec-srv-marker' } };
    const enc = await post(url, '/encode', { payloads: [jsonPayload(value), jsonPayload('two')] });
    assert.equal(enc.status, 200);
    const sealed = (await enc.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(sealed.payloads.length, 2);
    assert.equal(Buffer.from(sealed.payloads[0]!.metadata['encryption-key-id']!, 'base64').toString(), 'k2');
    assert.ok(!Buffer.from(sealed.payloads[0]!.data, 'base64').includes('codec-srv-marker'));
    // Mounted at any depth: only the last segment counts (the CLI and UI may add /{namespace}).
    const dec = await post(url, '/default/decode', sealed, { 'x-namespace': 'default' });
    assert.equal(dec.status, 200);
    const out = (await dec.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    const back = out.payloads.map((p) =>
      defaultPayloadConverter.fromPayload({
        metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        data: Buffer.from(p.data, 'base64'),
      }),
    );
    assert.deepEqual(back, [value, 'two']);
  });

  test('plaintext payloads decode as themselves; an empty message is fine', async () => {
    const p = jsonPayload({ a: 1 });
    const r = await post(url, '/decode', { payloads: [p] });
    assert.deepEqual(await r.json(), { payloads: [p] });
    assert.deepEqual(await (await post(url, '/decode', {})).json(), { payloads: [] });
  });

  test('CORS: the Web UI origin is answered (preflight and POST), another origin is not', async () => {
    const pre = await fetch(`${url}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: ui,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), ui);
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
    const r = await post(url, '/decode', { payloads: [] }, { origin: ui });
    assert.equal(r.headers.get('access-control-allow-origin'), ui);
    const other = await post(url, '/decode', { payloads: [] }, { origin: 'http://evil.example' });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('with an Authorization value configured, requests without it are 401; with it 200', async () => {
    assert.equal((await post(authed.url, '/decode', { payloads: [] })).status, 401);
    assert.equal((await post(authed.url, '/decode', { payloads: [] }, { authorization: 'Bearer nope' })).status, 401);
    assert.equal((await post(authed.url, '/decode', { payloads: [] }, { authorization: 'Bearer s3cret' })).status, 200);
  });

  test('bad requests are named: not JSON, not Payloads, wrong method or path, unknown key', async () => {
    const notJson = await post(url, '/decode', '{');
    assert.equal(notJson.status, 400);
    assert.match(await notJson.text(), /request body is not JSON/);
    const notPayloads = await post(url, '/decode', { payloads: [{ data: 42 }] });
    assert.equal(notPayloads.status, 400);
    assert.match(await notPayloads.text(), /not a Payloads message/);
    assert.equal((await fetch(`${url}/decode`)).status, 405);
    assert.equal((await post(url, '/other', {})).status, 404);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const foreign = new EncryptionCodec(parseKeyring(newKeyEntry('k9'), 't'));
    const [sealed] = await foreign.encode([defaultPayloadConverter.toPayload('x')]);
    const unknown = await post(url, '/decode', {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(sealed!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(sealed!.data!).toString('base64'),
        },
      ],
    });
    assert.equal(unknown.status, 422);
    assert.match(await unknown.text(), /codec key "k9", which is not configured \(configured: k2, k1\)/);
  });
});
