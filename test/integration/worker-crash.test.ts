// A worker that dies mid-activity (a pod killed or frozen in a rolling restart) must not stall its
// ServiceSets until startToClose (60 s). A pass's Kubernetes calls are local activities, run inside the
// workflow task: the lost task times out after the workflow task timeout (10 s) and a live worker replays the
// pass. (Histories from before that ran them as activities, which heartbeat: a lost one is retried after the
// heartbeat timeout, 15 s.)
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { FINALIZER, workflowIdFor } from '../../src/workflow/constants';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import { createServiceSet, eventually, getServiceSet, testEnv, uniqueName } from '../support/env';

// temporal.api.enums.v1 values (the proto package is not a direct dependency).
const WORKFLOW_TASK_COMPLETED = 7;
const WORKFLOW_TASK_TIMED_OUT = 8;
const ACTIVITY_TASK_SCHEDULED = 10;
const MARKER_RECORDED = 25;

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

  it('its local activity is run again on a live worker after the workflow task timeout, not startToClose', async (t) => {
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
      const handle = client.workflow.getHandle(workflowIdFor(ss.metadata.uid!));
      type Events = NonNullable<Awaited<ReturnType<typeof handle.fetchHistory>>['events']>;
      const type = (e: Events[number]) => Number(e.eventType);
      // The live worker's workflow task is recorded once its whole pass is done (after the finalizer).
      let events: Events = [];
      await eventually('the live worker completed a workflow task', async () => {
        events = (await handle.fetchHistory()).events ?? [];
        return events.some((e) => type(e) === WORKFLOW_TASK_COMPLETED);
      });
      assert.equal(activity, 'observe', 'the vanishing worker took the first call of the first pass');
      const timedOut = events.findIndex((e) => type(e) === WORKFLOW_TASK_TIMED_OUT);
      assert.ok(timedOut > 0, 'the workflow task of the vanished worker timed out');
      assert.ok(
        !events.slice(0, timedOut).some((e) => type(e) === WORKFLOW_TASK_COMPLETED),
        'nothing of the lost pass was recorded',
      );
      assert.ok(
        events.slice(timedOut).some((e) => type(e) === MARKER_RECORDED),
        'the live worker ran the pass (local activity markers)',
      );
      assert.ok(!events.some((e) => type(e) === ACTIVITY_TASK_SCHEDULED), 'no activity task round trips');
      t.diagnostic(
        `${activity} lost with the killed worker; the live worker added the finalizer ${took} ms after the kill`,
      );
    } finally {
      await connection.close();
    }
  });
});
