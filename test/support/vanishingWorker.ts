// A worker that takes activity tasks (local ones too, inside its workflow task) and then goes silent: no
// result, no heartbeat — a pod frozen or killed mid-activity. It runs the real workflow code. Prints "took <activityType>" for each task; the
// test kills it. Usage: tsx vanishingWorker.ts <temporal-address> <namespace> <task-queue>
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import type { Deps } from '../../src/activities/deps';
import { metricsSinks, workflowSource } from '../../src/worker';

async function main(): Promise<void> {
  const [address, namespace, taskQueue] = process.argv.slice(2) as [string, string, string];
  const never = () => {
    process.stdout.write(`took ${Context.current().info.activityType}\n`);
    return new Promise<never>(() => undefined);
  };
  // Only the activity names are wanted: the real ones are never called.
  const activities = Object.fromEntries(Object.keys(createActivities({} as Deps)).map((n) => [n, never]));
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    ...workflowSource(),
    activities,
    sinks: metricsSinks(),
  });
  process.stdout.write('polling\n');
  await worker.run();
}

main().catch((e) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
