import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client';

// A watch stream that goes silent must not hang its informer forever (issue 13: after an apiserver outage the
// fault suite saw ServiceSets never handled). The transport is what is tested here: a local HTTP server that
// answers a watch and then says nothing, or never answers at all.
describe('KubeClient.watch on a silent stream', () => {
  let server: http.Server;
  let port = 0;
  const sockets = new Set<net.Socket>();
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url?.includes('/silent-headers')) return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '1' } } })}\n`);
      // …then nothing, without ending the stream.
    });
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });

  const client = () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return new KubeClient(kc);
  };

  test('a stream silent after its first event ends after idleMs, with the event delivered', async () => {
    const c = client();
    const events: string[] = [];
    const t0 = Date.now();
    await c.watch('/silent-body', { resourceVersion: '0', idleMs: 300 }, (type, o) =>
      events.push(`${type} ${o.metadata.name}`),
    );
    assert.deepEqual(events, ['ADDED a']);
    assert.ok(Date.now() - t0 >= 300);
    c.close();
  });

  test('a watch never answered ends after idleMs', async () => {
    const c = client();
    const t0 = Date.now();
    await c.watch('/silent-headers', { resourceVersion: '0', idleMs: 300 }, () => undefined);
    assert.ok(Date.now() - t0 < 5000);
    c.close();
  });
});
