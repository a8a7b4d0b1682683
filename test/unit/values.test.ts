import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mergeOver, parseValues } from '../../src/values/parse';

function okValues(src: string | null | undefined): Record<string, unknown> | undefined {
  const r = parseValues(src);
  if (!r.ok) assert.fail(`expected valid values, got: ${r.message}`);
  return r.values;
}

function errOf(src: string): string {
  const r = parseValues(src);
  if (r.ok) assert.fail(`expected an error, got ${JSON.stringify(r.values)}`);
  return r.message;
}

describe('parseValues', () => {
  describe('empty input → no values', () => {
    for (const src of [undefined, null, '', '   ', '\n\n', '\t \n']) {
      test(JSON.stringify(src), () => assert.equal(okValues(src), undefined));
    }
    test('a document with only a comment', () => assert.equal(okValues('# nothing here\n'), undefined));
    test('an explicit null document', () => {
      assert.equal(okValues('~'), undefined);
      assert.equal(okValues('null'), undefined);
    });
  });

  test('a mapping becomes a plain object', () => {
    assert.deepEqual(okValues('replicaCount: 2\nimage:\n  tag: "1.2.3"\n  pullPolicy: IfNotPresent\n'), {
      replicaCount: 2,
      image: { tag: '1.2.3', pullPolicy: 'IfNotPresent' },
    });
  });

  test('scalars keep their YAML types', () => {
    assert.deepEqual(okValues('a: true\nb: 1.5\nc: "007"\nd: null\n'), { a: true, b: 1.5, c: '007', d: null });
  });

  test('nested lists and maps', () => {
    assert.deepEqual(
      okValues('ingress:\n  hosts:\n    - host: a.example.com\n      paths: [/, /api]\n    - host: b.example.com\n'),
      {
        ingress: { hosts: [{ host: 'a.example.com', paths: ['/', '/api'] }, { host: 'b.example.com' }] },
      },
    );
  });

  test('a flow mapping at the top level', () => {
    assert.deepEqual(okValues('{a: 1, b: [x, z]}'), { a: 1, b: ['x', 'z'] });
  });

  test('YAML 1.1 like Helm: yes/no/y are booleans and merge keys merge', () => {
    assert.deepEqual(okValues('a: yes\nb: no\nc: y\nbase: &b {x: 1}\nd:\n  <<: *b\n  y2: 2\n'), {
      a: true,
      b: false,
      c: true,
      base: { x: 1 },
      d: { x: 1, y2: 2 },
    });
  });

  test("YAML 1.1 as Helm's go-yaml v2 gives it: dates and h:m stay strings; !!binary, !!set, !!omap as Helm decodes them", () => {
    assert.deepEqual(okValues('tag: 2024-01-15\nat: 2001-12-14t21:59:43.10-05:00\nschedule: 12:30\n'), {
      tag: '2024-01-15',
      at: '2001-12-14t21:59:43.10-05:00',
      schedule: '12:30',
    });
    assert.deepEqual(okValues('b: !!binary aGVsbG8=\ns: !!set {a, b}\no: !!omap [x: 1, w: 2]\n'), {
      b: 'hello',
      s: { a: null, b: null },
      o: { x: 1, w: 2 },
    });
    assert.deepEqual(okValues('octal: 017\nunder: 1_000\nexp: 1.5e3\n'), { octal: 15, under: 1000, exp: 1500 });
  });

  test('anchors and aliases are resolved', () => {
    assert.deepEqual(
      okValues(
        'defaults: &d\n  cpu: 100m\n  mem: 64Mi\nweb: *d\nworker:\n  resources: *d\n  tags: &t [a, b]\n  more: *t\n',
      ),
      {
        defaults: { cpu: '100m', mem: '64Mi' },
        web: { cpu: '100m', mem: '64Mi' },
        worker: { resources: { cpu: '100m', mem: '64Mi' }, tags: ['a', 'b'], more: ['a', 'b'] },
      },
    );
  });

  test('the result is JSON-serialisable (no YAML node objects)', () => {
    const v = okValues('a:\n  b: [1, 2]\n');
    assert.deepEqual(JSON.parse(JSON.stringify(v)), v);
  });

  describe('a list or a scalar is rejected', () => {
    const cases: [string, string, RegExp][] = [
      ['a block list', '- a\n- b\n', /a list/],
      ['a flow list', '[1, 2]', /a list/],
      ['a number', '42', /a number/],
      ['a string', 'hello world', /a string/],
      ['a quoted string', '"replicaCount: 2"', /a string/],
      ['a boolean', 'true', /a boolean/],
    ];
    for (const [name, src, what] of cases) {
      test(name, () => {
        const m = errOf(src);
        assert.match(m, /^values: /);
        assert.match(m, /expected a mapping/);
        assert.match(m, what);
      });
    }

    test('the line of a list that follows leading comments is reported', () => {
      const m = errOf('# my values\n# more\n- a\n- b\n');
      assert.match(m, /line 3\b/);
    });
  });

  test('a top-level alias is rejected', () => {
    assert.match(errOf('*x'), /^values: /);
  });

  describe('YAML syntax errors', () => {
    test('are errors with a "values: YAML syntax error" message', () => {
      for (const src of ['a: 1\nb: [\n', 'a: 1\n  b: 2\n', 'x: {\n', 'key: "unterminated\n']) {
        assert.match(errOf(src), /^values: YAML syntax error/, src);
      }
    });

    test('duplicate keys are rejected', () => {
      assert.match(errOf('a: 1\na: 2\n'), /values: .*unique/i);
    });

    test('duplicates are found in nested mappings and late in large ones; merge keys and equal values elsewhere are fine', () => {
      assert.match(errOf('a:\n  b: 1\n  c: 2\n  b: 3\n'), /line 4, column 3: Map keys must be unique/);
      // A late duplicate in a large mapping (the library's own check compared every pair: minutes at 100 000 keys).
      const big = Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}`).join('\n');
      assert.match(errOf(`${big}\nk7: again\n`), /line 20001, column 1: Map keys must be unique/);
      assert.equal(Object.keys(okValues(big)!).length, 20_000);
      assert.deepEqual(okValues('a: &a {x: 1}\nb: &b {w: 2}\nc:\n  <<: [*a, *b]\n  <<: {z: 3}\n'), {
        a: { x: 1 },
        b: { w: 2 },
        c: { x: 1, w: 2, z: 3 },
      });
      assert.deepEqual(okValues('a: {k: 1}\nb: {k: 1}\n'), { a: { k: 1 }, b: { k: 1 } });
      // Keys of different YAML types are different keys (1 and "1"), as in Helm's YAML.
      assert.equal(parseValues('1: a\n"1": b\n').ok, true);
    });

    test('alias bombs (billion laughs) are refused before expanding', () => {
      const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i < 9; i++) {
        const p = String.fromCharCode(96 + i);
        const c = String.fromCharCode(97 + i);
        levels.push(`${c}: &${c} [${Array(9).fill(`*${p}`).join(', ')}]`);
      }
      assert.match(errOf(levels.join('\n')), /^values: Excessive alias count/);
    });

    test('nesting too deep for the parser is a named error, not a crash', () => {
      assert.match(
        errOf(`a: ${'['.repeat(20_000)}${']'.repeat(20_000)}`),
        /^values: YAML syntax error at line 1, column \d+/,
      );
    });

    test('a list or mapping as a key is refused (JSON has no such keys)', () => {
      assert.match(errOf('k: {[1, 2]: x}\n'), /line 1, column 5: a mapping key must be a scalar/);
    });

    test('more than one document is rejected', () => {
      assert.match(errOf('a: 1\n---\nb: 2\n'), /^values: /);
    });

    // The message must tell the user where the problem is (plan: InvalidValues naming the line).
    // Regression guard: with `prettyErrors: false` the yaml library never fills `error.linePos`; values.ts once
    // relied on it and reported every syntax error "at unknown position" instead of "line N".
    test('a syntax error names the line, not "unknown position"', () => {
      for (const src of ['a: 1\nb: [\n', 'a: 1\na: 2\n', '\n\nkey: "unterminated\n', 'a: 1\n  b: 2\n']) {
        const m = errOf(src);
        assert.doesNotMatch(m, /unknown position/, `for ${JSON.stringify(src)}: ${m}`);
        assert.match(m, /\bline \d+/, `for ${JSON.stringify(src)}: ${m}`);
      }
    });

    test('the line number points at the offending line', () => {
      assert.match(errOf('replicaCount: 1\nimage:\n  tag: 1\nfoo: 1\nfoo: 2\n'), /\bline 5\b/);
      assert.match(errOf('a: 1\nb: [\n'), /\bline 3\b/);
    });

    test('only the first line of a multi-line parser message is kept', () => {
      assert.doesNotMatch(errOf('a: 1\nb: [\n'), /\n/);
    });
  });
});

describe('parseValues of secret content', () => {
  test('names document, line and the kind of error, never a word of the content', () => {
    const r = parseValues('password: hunter2\n  bad: [', { what: 'Secret ns/s key values.yaml', secret: true });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.match(r.message, /^Secret ns\/s key values\.yaml: YAML syntax error at line \d+, column \d+: [A-Z_]+$/);
    assert.doesNotMatch(r.message, /hunter2|bad/);
  });
});

describe('mergeOver (how Sveltos merges valuesFrom content over values: mergo with override)', () => {
  test('maps merge recursively; scalars, lists and null replace', () => {
    const dst = { a: { x: 1, y: [1, 2], z: 'keep' }, b: true, c: 'c' };
    const src = { a: { x: 2, y: [3] }, b: false, c: null, d: { n: 1 } };
    assert.deepEqual(mergeOver(dst, src), { a: { x: 2, y: [3], z: 'keep' }, b: false, c: null, d: { n: 1 } });
    assert.deepEqual(dst, { a: { x: 1, y: [1, 2], z: 'keep' }, b: true, c: 'c' }, 'inputs unchanged');
  });
  test('a __proto__ key is an ordinary key: kept, and never changes the prototype of the result', () => {
    const src = okValues('__proto__: {polluted: 1}\n')!;
    const m = mergeOver({ a: 1 }, src);
    assert.deepEqual(JSON.parse(JSON.stringify(m)), { a: 1, ['__proto__']: { polluted: 1 } });
    assert.equal(Object.getPrototypeOf(m), Object.prototype);
    assert.equal((m as { polluted?: number }).polluted, undefined);
  });
  test('a map replaces a scalar and the other way round', () => {
    assert.deepEqual(mergeOver({ a: 1, b: { x: 1 } }, { a: { x: 1 }, b: 2 }), { a: { x: 1 }, b: 2 });
  });
});
