// Options for replaying a recorded history against the current workflow code.
import type { ReplayWorkerOptions } from '@temporalio/worker';
import { metricsSinks } from '../../src/worker';

/** The workflow sources, with the sinks they reference registered (sinks are not called during replay). */
export function replayOptions(): ReplayWorkerOptions {
  return { workflowsPath: require.resolve('../../src/workflows'), sinks: metricsSinks() };
}
