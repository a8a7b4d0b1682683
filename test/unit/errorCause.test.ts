import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeError } from '../../src/util/errorCause';

// A failure log must say why: the Temporal client's "Failed to signalWithStart Workflow" alone did not (issue 13.10).
describe('describeError', () => {
  const grpcUnavailable = Object.assign(
    new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7233'),
    {
      code: 14,
      details: 'No connection established',
      metadata: {},
    },
  );

  const cases: [string, unknown, Partial<ReturnType<typeof describeError>>][] = [
    [
      'the SDK wrapper and its gRPC cause',
      new Error('Failed to signalWithStart Workflow', { cause: grpcUnavailable }),
      {
        error:
          'Failed to signalWithStart Workflow: 14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7233',
        grpcCode: 'UNAVAILABLE',
      },
    ],
    [
      'fetch failed with its system error',
      new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
      }),
      { error: 'fetch failed: connect ECONNREFUSED 127.0.0.1:6443', code: 'ECONNREFUSED' },
    ],
    [
      'a Kubernetes API error keeps its status',
      Object.assign(new Error('servicesets is forbidden'), { status: 403 }),
      { error: 'servicesets is forbidden', status: 403 },
    ],
    [
      'AggregateError names its first error',
      new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:7233'), { code: 'ECONNREFUSED' })], ''),
      { error: 'connect ECONNREFUSED ::1:7233', code: 'ECONNREFUSED' },
    ],
    [
      'a cause that repeats its wrapper is said once',
      new Error('boom: x', { cause: new Error('x') }),
      { error: 'boom: x' },
    ],
    ['a string', 'plain', { error: 'plain' }],
    ['nothing', undefined, { error: 'unknown error' }],
  ];
  for (const [name, input, want] of cases)
    test(name, () => {
      const got = describeError(input);
      for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, k);
    });

  test('a cycle in the cause chain ends', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    assert.equal(describeError(a).error, 'a: b');
  });
});
