// Replays recorded workflow histories against the current workflow code: a change that is not
// replay-safe (without patched()) fails here. Needs no server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { replayOptions } from '../support/replay';

const dir = path.join(__dirname, 'histories');

describe('replay of recorded histories', () => {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();

  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 1, `no histories in ${dir}`);
  });

  for (const f of files) {
    it(`replays ${f} without nondeterminism`, async () => {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
      assert.ok((history.events?.length ?? 0) > 0);
      await Worker.runReplayHistory(replayOptions(), history, `replay-${f}`);
    });
  }
});
