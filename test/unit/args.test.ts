import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseArgs } from '../../src/args';

describe('parseArgs', () => {
  test('empty argv', () => {
    assert.deepEqual(parseArgs([]), { positionals: [], flags: {} });
  });

  test('positionals in order', () => {
    assert.deepEqual(parseArgs(['retry', 'kcm-system/dev']).positionals, ['retry', 'kcm-system/dev']);
  });

  test('--flag value', () => {
    assert.deepEqual(parseArgs(['--log-level', 'debug']).flags, { 'log-level': 'debug' });
  });

  test('--flag=value, including values with "=" and empty values', () => {
    assert.deepEqual(parseArgs(['--temporal-address=127.0.0.1:7233', '--label=a=b', '--empty=']).flags, {
      'temporal-address': '127.0.0.1:7233',
      label: 'a=b',
      empty: '',
    });
  });

  test('a declared boolean does not swallow the next argument', () => {
    const r = parseArgs(['--temporal-tls', 'worker'], new Set(['temporal-tls']));
    assert.deepEqual(r.flags, { 'temporal-tls': true });
    assert.deepEqual(r.positionals, ['worker']);
  });

  test('an undeclared flag takes the next argument as its value', () => {
    const r = parseArgs(['--temporal-tls', 'worker']);
    assert.deepEqual(r.flags, { 'temporal-tls': 'worker' });
    assert.deepEqual(r.positionals, []);
  });

  test('a declared boolean can still be given a value with "="', () => {
    assert.deepEqual(parseArgs(['--leader-elect=false'], new Set(['leader-elect'])).flags, { 'leader-elect': 'false' });
  });

  test('a flag followed by another flag, or last, is true', () => {
    assert.deepEqual(parseArgs(['--verbose', '--log-level', 'info', '--json']).flags, {
      verbose: true,
      'log-level': 'info',
      json: true,
    });
  });

  test('a value that looks like a negative number or single-dash option is taken as a value', () => {
    assert.deepEqual(parseArgs(['--offset', '-5']).flags, { offset: '-5' });
  });

  test('-h means help', () => {
    assert.deepEqual(parseArgs(['-h']).flags, { help: true });
  });

  test('everything after -- is positional', () => {
    const r = parseArgs(['run', '--a', '1', '--', '--not-a-flag', '-h', 'x']);
    assert.deepEqual(r.flags, { a: '1' });
    assert.deepEqual(r.positionals, ['run', '--not-a-flag', '-h', 'x']);
  });

  test('mixed positionals and flags', () => {
    const r = parseArgs(['adapter', '--kubeconfig', '/tmp/kc', 'extra', '--temporal-tls'], new Set(['temporal-tls']));
    assert.deepEqual(r.positionals, ['adapter', 'extra']);
    assert.deepEqual(r.flags, { kubeconfig: '/tmp/kc', 'temporal-tls': true });
  });

  test('a repeated flag keeps the last value', () => {
    assert.deepEqual(parseArgs(['--log-level', 'debug', '--log-level=warn']).flags, { 'log-level': 'warn' });
  });
});
