import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ArgsError, editDistance, nearest, parseArgs, type FlagSpec } from '../../src/args';

const spec: FlagSpec = {
  'log-level': 'string',
  'temporal-address': 'string',
  'adapter-name': 'string',
  'adapter-namespace': 'string',
  'temporal-tls': 'string',
  'leader-elect': 'string',
  kubeconfig: 'string',
  json: 'boolean',
};
const bare = new Set(['temporal-tls', 'leader-elect']);
const parse = (argv: string[]) => parseArgs(argv, spec, bare);

describe('parseArgs', () => {
  const cases: [string, string[], { positionals: string[]; flags: Record<string, string | boolean> }][] = [
    ['empty argv', [], { positionals: [], flags: {} }],
    ['positionals in order', ['retry', 'kcm-system/dev'], { positionals: ['retry', 'kcm-system/dev'], flags: {} }],
    ['--flag value', ['--log-level', 'debug'], { positionals: [], flags: { 'log-level': 'debug' } }],
    [
      '--flag=value, including values with "=" and empty values',
      ['--temporal-address=127.0.0.1:7233', '--adapter-name=a=b', '--kubeconfig='],
      { positionals: [], flags: { 'temporal-address': '127.0.0.1:7233', 'adapter-name': 'a=b', kubeconfig: '' } },
    ],
    [
      'a boolean setting alone is true and does not swallow the next argument',
      ['--temporal-tls', 'worker'],
      { positionals: ['worker'], flags: { 'temporal-tls': 'true' } },
    ],
    [
      'a boolean setting takes a value with "="',
      ['--leader-elect=false'],
      { positionals: [], flags: { 'leader-elect': 'false' } },
    ],
    ['a boolean flag', ['plan', '--json'], { positionals: ['plan'], flags: { json: true } }],
    ['-h is --help', ['-h'], { positionals: [], flags: { help: true } }],
    [
      'after --, everything is positional',
      ['run', '--log-level', '1', '--', '--not-a-flag', '-h', 'x'],
      { positionals: ['run', '--not-a-flag', '-h', 'x'], flags: { 'log-level': '1' } },
    ],
    [
      'flags and positionals mixed',
      ['adapter', '--kubeconfig', '/tmp/kc', 'extra', '--temporal-tls'],
      { positionals: ['adapter', 'extra'], flags: { kubeconfig: '/tmp/kc', 'temporal-tls': 'true' } },
    ],
    [
      'the last of a repeated flag wins',
      ['--log-level', 'debug', '--log-level=warn'],
      { positionals: [], flags: { 'log-level': 'warn' } },
    ],
    [
      'a value starting with a dash, given with "="',
      ['--log-level=-5'],
      { positionals: [], flags: { 'log-level': '-5' } },
    ],
  ];
  for (const [name, argv, want] of cases) test(name, () => assert.deepEqual(parse(argv), want));

  const errors: [string, string[], RegExp][] = [
    [
      'an unknown flag names the nearest known one',
      ['run', '--adapter-nmae', 'x'],
      /^unknown flag --adapter-nmae \(did you mean --adapter-name\?\)$/,
    ],
    ['an unknown flag with "="', ['--log-levl=debug'], /^unknown flag --log-levl \(did you mean --log-level\?\)$/],
    ['an unknown short flag', ['-x'], /^unknown flag -x/],
    ['a string flag without its value', ['--kubeconfig'], /^Option '--kubeconfig <value>' argument missing$/],
    ['a boolean flag with a value', ['--json=yes'], /^Option '--json' does not take an argument$/],
    ['a value that looks like a flag', ['--log-level', '-5'], /argument is ambiguous/],
  ];
  for (const [name, argv, want] of errors)
    test(name, () =>
      assert.throws(
        () => parse(argv),
        (e: unknown) => e instanceof ArgsError && want.test(e.message),
      ),
    );
});

describe('nearest', () => {
  for (const [name, known, want] of [
    ['adapter-nmae', ['adapter-namespace', 'adapter-name', 'log-level'], 'adapter-name'],
    ['jsn', ['json', 'file'], 'json'],
    ['x', [], undefined],
  ] as const)
    test(`${name} → ${want}`, () => assert.equal(nearest(name, known), want));
  test('editDistance', () => {
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('same', 'same'), 0);
  });
});
