import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { isAlive, processState, retryOnPortClash, sleep } from '../../src/testenv/proc';

describe('process liveness', () => {
  test('processState reads the letter after the command name, even one containing ") "', () => {
    assert.equal(processState('4242 (etcd) S 1 4242 4242 0 -1'), 'S');
    assert.equal(processState('4242 (odd) Z name) Z 1 4242'), 'Z');
    assert.equal(processState('garbage'), '');
  });

  test('a zombie (exited, not yet reaped) is not alive although signal 0 still reaches it', async () => {
    // `sleep 0` exits at once; its parent exec'd into `sleep 5`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (b) => resolve(String(b)))));
      await sleep(300);
      process.kill(pid, 0); // throws if the pid were gone: the zombie must still exist for this test to mean anything
      assert.equal(isAlive(pid), false);
      assert.equal(isAlive(parent.pid!), true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

describe('retryOnPortClash', () => {
  const clash = new Error('temporal frontend: process exited early.\nbind: address already in use');

  test('starts again after a port clash, and returns the first success', async () => {
    let calls = 0;
    const r = await retryOnPortClash('x', async () => {
      calls++;
      if (calls < 3) throw clash;
      return 'up';
    });
    assert.equal(r, 'up');
    assert.equal(calls, 3);
  });

  test('gives up after the given number of tries with the last error', async () => {
    let calls = 0;
    await assert.rejects(
      retryOnPortClash(
        'x',
        async () => {
          calls++;
          throw clash;
        },
        2,
      ),
      /address already in use/,
    );
    assert.equal(calls, 2);
  });

  test('does not retry any other failure', async () => {
    let calls = 0;
    await assert.rejects(
      retryOnPortClash('x', async () => {
        calls++;
        throw new Error('not built');
      }),
      /not built/,
    );
    assert.equal(calls, 1);
  });
});
