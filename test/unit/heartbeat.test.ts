import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeating, withHeartbeat } from '../../src/activities/heartbeat';
import { sleep } from '../../src/testenv/proc';

describe('activity heartbeats', () => {
  test('a running activity heartbeats periodically and stops when it ends', async () => {
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    const out = await env.run(() => withHeartbeat(() => sleep(120).then(() => 'done'), 20));
    assert.equal(out, 'done');
    assert.ok(beats >= 3, `heartbeats while running (${beats})`);
    const atEnd = beats;
    await sleep(80);
    assert.equal(beats, atEnd, 'none after the activity ended');
  });

  test('a failing activity still stops heartbeating and its error passes through', async () => {
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    await assert.rejects(
      env.run(() => withHeartbeat(() => sleep(30).then(() => Promise.reject(new Error('api said no'))), 10)),
      /api said no/,
    );
    const atEnd = beats;
    await sleep(50);
    assert.equal(beats, atEnd);
  });

  test('a local activity does not heartbeat (it has nothing to report to)', async () => {
    const env = new MockActivityEnvironment({ isLocal: true });
    let beats = 0;
    env.on('heartbeat', () => beats++);
    assert.equal(await env.run(() => withHeartbeat(() => sleep(60).then(() => 'done'), 10)), 'done');
    assert.equal(beats, 0);
  });

  test('heartbeating keeps every activity, its arguments and results; outside a worker it just runs', async () => {
    const acts = heartbeating({
      add: async (a: number, b: number) => a + b,
      echo: async (s: string) => s,
    });
    assert.deepEqual(Object.keys(acts), ['add', 'echo']);
    assert.equal(await acts.add(2, 3), 5);
    assert.equal(await acts.echo('x'), 'x');
  });
});
