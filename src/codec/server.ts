// Temporal's remote codec protocol over HTTP, so the Web UI and the `temporal` CLI can show encrypted histories
// decoded: POST …/encode and …/decode with a Payloads message in protobuf JSON ({"payloads": [{"metadata":
// {k: base64}, "data": base64}]}); only the last path segment counts, so the endpoint can be mounted at any depth
// (e.g. /{namespace}/decode). CORS answers the Web UI origins it is given; an optional Authorization value is
// required on every request. Payload contents are never logged.
import crypto from 'node:crypto';
import http from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { Logger } from '../log';

/** Larger requests are refused (a history page of payloads is far smaller). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'expected base64');
/** protobuf JSON of temporal.api.common.v1.Payloads (unknown fields, e.g. externalPayloads, are dropped). */
const PayloadsJson = z.object({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }))
    .default([]),
});
type PayloadsJson = z.infer<typeof PayloadsJson>;

const fromJson = (j: PayloadsJson): Payload[] =>
  j.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  }));

const toJson = (ps: Payload[]): PayloadsJson => ({
  payloads: ps.map((p) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  })),
});

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Origins (scheme://host:port) of Web UIs allowed to call from a browser; '*' allows any. */
  corsOrigins: string[];
  /** The exact Authorization header value every request must carry; none = no check. */
  authorization?: string;
  logger: Logger;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const digest = (s: string) => crypto.createHash('sha256').update(s).digest();
/** Constant-time comparison (of digests, so lengths leak nothing either). */
const sameSecret = (a: string, b: string) => crypto.timingSafeEqual(digest(a), digest(b));

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function corsHeaders(o: CodecServerOptions, req: http.IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin || !(o.corsOrigins.includes(origin) || o.corsOrigins.includes('*'))) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers':
      req.headers['access-control-request-headers'] ?? 'content-type, x-namespace, authorization',
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}

export function codecRequestHandler(o: CodecServerOptions): http.RequestListener {
  const log = o.logger.child({ component: 'codec-server' });
  return (req, res) => {
    const cors = corsHeaders(o, req);
    const send = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { ...cors, 'content-type': type });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0]!;
    const op = path.split('/').pop();
    void (async () => {
      // Preflight: browsers send it without credentials, so it is answered before the auth check.
      if (req.method === 'OPTIONS') return send(204, '');
      if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) return send(200, 'ok\n');
      if (op !== 'encode' && op !== 'decode') throw new HttpError(404, 'not found: POST …/encode or …/decode');
      if (req.method !== 'POST') throw new HttpError(405, `${req.method} not allowed: POST …/${op}`);
      if (o.authorization !== undefined && !sameSecret(req.headers.authorization ?? '', o.authorization))
        throw new HttpError(401, 'missing or wrong Authorization header');
      let parsed: PayloadsJson;
      try {
        const r = PayloadsJson.safeParse(JSON.parse(await readBody(req)));
        if (!r.success) throw new HttpError(400, `not a Payloads message: ${r.error.issues[0]?.message}`);
        parsed = r.data;
      } catch (e) {
        if (e instanceof HttpError) throw e;
        throw new HttpError(400, `request body is not JSON: ${(e as Error).message}`);
      }
      const input = fromJson(parsed);
      let output: Payload[];
      try {
        output = op === 'encode' ? await o.codec.encode(input) : await o.codec.decode(input);
      } catch (e) {
        // A payload sealed with a key we do not have, or altered: say which (the message names key ids only).
        throw new HttpError(422, (e as Error).message);
      }
      log.debug({ op, payloads: input.length, namespace: req.headers['x-namespace'], status: 200 }, 'codec request');
      send(200, JSON.stringify(toJson(output)), 'application/json');
    })().catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof Error ? e.message : String(e);
      log.warn({ op, path, status, error: message, namespace: req.headers['x-namespace'] }, 'codec request refused');
      if (!res.headersSent) send(status, `${message}\n`);
      else res.end();
    });
  };
}

/** Listens on host:port (port 0 = any free one); resolves with the server and its base URL. */
export async function listenCodecServer(
  o: CodecServerOptions,
  addr: string,
): Promise<{ server: http.Server; url: string }> {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i) || '0.0.0.0';
  const server = http.createServer(codecRequestHandler(o));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(addr.slice(i + 1)), host, () => resolve());
  });
  const a = server.address() as { address: string; port: number };
  const shownHost = a.address.includes(':') ? `[${a.address}]` : a.address;
  return { server, url: `http://${shownHost}:${a.port}` };
}
