// Replaying recorded histories against the current workflow code, and recording new ones.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import type { ReplayWorkerOptions } from '@temporalio/worker';
import { toolPaths } from '../../src/testenv/versions';
import { metricsSinks } from '../../src/worker';
import { testEnv } from './env';

/** The workflow sources, with the sinks they reference registered (sinks are not called during replay). */
export function replayOptions(): ReplayWorkerOptions {
  return { workflowsPath: require.resolve('../../src/workflow'), sinks: metricsSinks() };
}

/**
 * Writes one run's history to test/replay/histories/NAME.json in the proto3 JSON form the Temporal CLI prints
 * (the form historyFromJSON reads), and returns it parsed. Tests call this when RECORD_HISTORIES is set.
 * The run's server is the test run's own unless `address` names another.
 */
export function recordHistory(name: string, workflowId: string, o: { runId?: string; address?: string } = {}): History {
  const temporalAddress = o.address ?? testEnv().temporalAddress;
  const { temporalNamespace } = testEnv();
  const json = execFileSync(
    toolPaths().temporal,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      ...(o.runId ? ['--run-id', o.runId] : []),
      '--output',
      'json',
      '--address',
      temporalAddress,
      '--namespace',
      temporalNamespace,
    ],
    { maxBuffer: 64 << 20 },
  );
  fs.writeFileSync(path.resolve(__dirname, '..', 'replay', 'histories', `${name}.json`), json);
  return historyFromJSON(JSON.parse(json.toString()));
}
