import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { isAlive, processState, sleep } from '../../src/testenv/proc';

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
