// scripts/build-tools.sh against a module proxy on loopback that refuses or fails: a refused version stops the
// build at once with one line naming the module, the version and the file that pins it; a transient error is
// retried with a bounded backoff and said so; a pin that does not cover the build is named; nothing is left in the
// cache. Real go, real script; the proxy is the only stand-in (this machine reaches no other).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

const root = path.resolve(__dirname, '..', '..');

type Answer = { status: number; body: string };
let answer: Answer = { status: 403, body: 'This module version is not available.' };
let requests = 0;
const server = http.createServer((_req, res) => {
  requests++;
  res.writeHead(answer.status, { 'content-type': 'text/plain' });
  res.end(answer.body);
});
let base = '';

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-buildtools-'));
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(base, { recursive: true, force: true });
});

/** Runs build-tools.sh etcd with an empty module cache against the loopback proxy and a copy of tools/. */
function build(
  name: string,
  edit: (toolsDir: string) => void = () => undefined,
): Promise<{ code: number; stderr: string; ms: number; cache: string }> {
  const dir = path.join(base, name);
  const tools = path.join(dir, 'tools');
  fs.mkdirSync(path.join(tools, 'etcd'), { recursive: true });
  for (const f of ['go.mod', 'go.sum'])
    fs.copyFileSync(path.join(root, 'tools', 'etcd', f), path.join(tools, 'etcd', f));
  edit(tools);
  const cache = path.join(dir, 'cache');
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(root, 'scripts', 'build-tools.sh'), 'etcd'], {
      env: {
        ...process.env,
        PATH: `${process.env.PATH}:/usr/local/go/bin`,
        KSM_FLUX_TOOLS: tools,
        KSM_FLUX_CACHE: cache,
        GOMODCACHE: path.join(dir, 'gomod'),
        GOPROXY: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        GOSUMDB: 'off',
        KSM_FLUX_FETCH_DELAY: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      // The module cache is read-only as Go writes it; make it removable.
      spawn('chmod', ['-R', 'u+w', dir]).on('exit', () =>
        resolve({ code: code ?? 1, stderr, ms: Date.now() - t0, cache }),
      );
    });
  });
}

/** What the build left in the cache besides its lock file. */
const leftovers = (cache: string) =>
  fs.existsSync(cache) ? fs.readdirSync(cache).filter((f) => f !== '.build.lock') : [];

describe('scripts/build-tools.sh module downloads', () => {
  test('a version the proxy refuses (403) stops the build at once, naming the module, version and file', async () => {
    answer = { status: 403, body: 'This module version is not available.' };
    requests = 0;
    const r = await build('refused');
    assert.notEqual(r.code, 0);
    const lines = r.stderr.split('\n').filter((l) => l.includes('refuses'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      /etcd: the Go module proxy refuses \S+ v\S+ \(403 Forbidden\); tools\/etcd\/go\.mod pins it/,
    );
    assert.doesNotMatch(r.stderr, /retrying/, 'a refusal is not retried');
    assert.ok(requests > 0, 'the proxy was asked');
    assert.deepEqual(leftovers(r.cache), [], 'nothing left in the cache');
  });

  test('404 and 410 are refusals too', async () => {
    for (const status of [404, 410]) {
      answer = { status, body: 'not found' };
      const r = await build(`gone-${status}`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`refuses \\S+ v\\S+ \\(${status} `), r.stderr);
    }
  });

  test('a transient error (503) is retried with a growing delay, said so, then given up after five attempts', async () => {
    answer = { status: 503, body: 'try later' };
    requests = 0;
    const r = await build('transient');
    assert.notEqual(r.code, 0);
    for (const [attempt, delay] of [
      [1, 1],
      [2, 2],
      [3, 4],
      [4, 8],
    ])
      assert.match(r.stderr, new RegExp(`attempt ${attempt} of 5\\), retrying in ${delay}s: .*503`), r.stderr);
    assert.match(r.stderr, /still failing after 5 attempts/);
    assert.ok(r.ms >= 15_000, `backoff waited ${r.ms} ms`);
    assert.ok(requests >= 5, `${requests} requests`);
    assert.deepEqual(leftovers(r.cache), []);
  });

  test('a pin that does not cover the build (go.sum emptied) is named and not retried', async () => {
    answer = { status: 403, body: 'no' };
    const r = await build('unpinned', (tools) => fs.writeFileSync(path.join(tools, 'etcd', 'go.sum'), ''));
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /etcd: tools\/etcd\/go\.mod does not cover this build \(regenerate it with scripts\/pin-tools\.sh\)/,
    );
    assert.doesNotMatch(r.stderr, /retrying/);
  });

  test('a version asked for through the environment that the pin does not name is refused before any download', async () => {
    requests = 0;
    const dir = path.join(base, 'other-version');
    fs.mkdirSync(dir, { recursive: true });
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = spawn('bash', [path.join(root, 'scripts', 'build-tools.sh'), 'etcd'], {
        env: { ...process.env, ETCD_VERSION: '3.0.0', KSM_FLUX_CACHE: path.join(dir, 'cache') },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code: code ?? 1, stderr }));
    });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /tools\/etcd\/go\.mod pins go\.etcd\.io\/etcd\/server\/v3 v\S+, not v3\.0\.0: run scripts\/pin-tools\.sh etcd/,
    );
  });
});
