// A worker that dies mid-activity (a pod killed or frozen in a rolling restart) must not stall its
// ServiceSets until startToClose (60 s): activities heartbeat, so Temporal retries the lost task on a live
// worker once the heartbeat timeout (15 s) passes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { FINALIZER, workflowIdFor } from '../../src/api/constants';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, testEnv, uniqueName } from '../support/env';

// temporal.api.enums.v1 values (the proto package is not a direct dependency).
const ACTIVITY_TASK_SCHEDULED = 10;
const ACTIVITY_TASK_STARTED = 11;
const TIMEOUT_TYPE_HEARTBEAT = 4;

/** Starts the vanishing worker and resolves when it has taken its first activity task. */
function vanishingWorker(taskQueue: string): { child: ChildProcess; took: Promise<string> } {
  const env = testEnv();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(__dirname, '..', 'support', 'vanishingWorker.ts'),
      env.temporalAddress,
      env.temporalNamespace,
      taskQueue,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const took = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /took (\w+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`vanishing worker exited (${code}) before taking a task`)));
  });
  return { child, took };
}

describe('a worker killed mid-activity', () => {
  const { kube } = testEnv();
  const ns = uniqueName('crash');
  const adapters: TestAdapter[] = [];
  let child: ChildProcess | undefined;
  after(async () => {
    child?.kill('SIGKILL');
    for (const a of adapters) await a.stop();
  });

  it('its activity is retried on a live worker after the heartbeat timeout, not startToClose', async (t) => {
    // A watcher alone; the only worker on the task queue is the one that will vanish.
    const watcher = await startTestAdapter({}, 'watcher');
    adapters.push(watcher);
    const smp = await stage(watcher, ns, { helm: ['chart'] });
    const vanishing = vanishingWorker(watcher.cfg.taskQueue);
    child = vanishing.child;

    const ss = await createServiceSet(kube, {
      namespace: ns,
      name: 'survivor',
      provider: smp,
      services: [{ name: 's1', namespace: 'web', template: 'chart' }],
    });
    const activity = await vanishing.took;
    child.kill('SIGKILL');
    const killedAt = Date.now();

    adapters.push(
      await startTestAdapter(
        {
          'adapter-name': watcher.cfg.adapterName,
          'task-queue': watcher.cfg.taskQueue,
          'lease-name': watcher.cfg.leaseName,
        },
        'worker',
      ),
    );
    await eventually(
      'finalizer added by the live worker',
      async () => (await getServiceSet(kube, ns, 'survivor')).metadata.finalizers?.includes(FINALIZER),
      50_000,
    );
    const took = Date.now() - killedAt;

    const connection = await Connection.connect({ address: testEnv().temporalAddress });
    try {
      const client = new Client({ connection, namespace: testEnv().temporalNamespace });
      const history = await client.workflow.getHandle(workflowIdFor(ss.metadata.uid!)).fetchHistory();
      const events = history.events ?? [];
      const scheduled = events.find((e) => Number(e.eventType) === ACTIVITY_TASK_SCHEDULED)!;
      assert.equal(scheduled.activityTaskScheduledEventAttributes?.activityType?.name, activity);
      const started = events.find(
        (e) =>
          Number(e.eventType) === ACTIVITY_TASK_STARTED &&
          String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled.eventId),
      );
      const attrs = started?.activityTaskStartedEventAttributes;
      assert.ok(attrs, `the ${activity} activity completed`);
      assert.ok((attrs.attempt ?? 1) >= 2, `retried (attempt ${attrs.attempt})`);
      assert.equal(
        Number(attrs.lastFailure?.timeoutFailureInfo?.timeoutType),
        TIMEOUT_TYPE_HEARTBEAT,
        `the lost attempt ended by its heartbeat timeout: ${attrs.lastFailure?.message}`,
      );
      t.diagnostic(
        `${activity} lost with the killed worker; the live worker added the finalizer ${took} ms after the kill`,
      );
    } finally {
      await connection.close();
    }
  });
});
