import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { searchableBy } from '../../src/testenv/postgres';
import { dynamicConfigFromArgs, freeLowPorts } from '../../src/testenv/temporalServer';

describe('production Temporal server helpers', () => {
  test('dev-server --dynamic-config-value pairs become dynamic config (JSON values parsed, others strings)', () => {
    assert.deepEqual(
      dynamicConfigFromArgs([
        '--dynamic-config-value',
        'limit.historyCount.suggestContinueAsNew=40',
        '--dynamic-config-value=frontend.enableUpdateWorkflowExecution=true',
        '--dynamic-config-value',
        'system.namespaceCacheRefreshInterval=1s',
      ]),
      {
        'limit.historyCount.suggestContinueAsNew': 40,
        'frontend.enableUpdateWorkflowExecution': true,
        'system.namespaceCacheRefreshInterval': '1s',
      },
    );
  });

  test('any other dev-server argument is refused by name', () => {
    assert.throws(() => dynamicConfigFromArgs(['--headless']), /--headless/);
    assert.throws(() => dynamicConfigFromArgs(['--dynamic-config-value', 'novalue']), /novalue|key=value/);
  });

  test('free ports stay below 32768 (the SQL schema stores member ports as smallint) and are distinct', async () => {
    const ports = await freeLowPorts(11);
    assert.equal(new Set(ports).size, 11);
    for (const p of ports) assert.ok(p >= 20000 && p <= 32767, String(p));
  });

  test('searchableBy: a directory under a mode-700 parent is not reachable by another user', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-search-'));
    try {
      fs.mkdirSync(path.join(base, 'inner'));
      const other = { uid: 65533, gid: 65533 };
      fs.chmodSync(base, 0o755);
      assert.equal(searchableBy(path.join(base, 'inner'), other), true);
      fs.chmodSync(base, 0o700);
      assert.equal(searchableBy(path.join(base, 'inner'), other), false);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
