// One version: package.json's. The CLI reads it; the copies that cannot read a file must say the same.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { VERSION, packageJsonPath } from '../../src/version';

const root = path.resolve(__dirname, '..', '..');

describe('version', () => {
  test("the CLI's version is package.json's", () => {
    assert.equal(packageJsonPath(), path.join(root, 'package.json'));
    assert.equal(
      VERSION,
      (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });
  test("the image label's default is the same", () => {
    const arg = /^ARG VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
    assert.equal(arg?.[1], VERSION);
  });
  test("the chart's appVersion is the same", () => {
    const chart = YAML.parse(fs.readFileSync(path.join(root, 'charts/ksm-flux/Chart.yaml'), 'utf8')) as {
      appVersion: string;
    };
    assert.equal(chart.appVersion, VERSION);
  });
});
