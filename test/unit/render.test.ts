// The values renderer: Go's text/template with Sveltos' function map, run as WebAssembly. Each case states what
// a user's template gives under Sveltos (Go semantics, missingkey=error, sprig's FuncMap, Sveltos' helpers).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isTemplate,
  renderTemplate,
  renderThreadStats,
  setRenderLimits,
  withMemoryMax,
  type RenderContext,
} from '../../src/values/render';
import { templateCause } from '../../src/values/resolve';

const cluster: RenderContext = {
  Cluster: {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Cluster',
    metadata: { name: 'dev-1', namespace: 'team-a', labels: { env: 'prod', region: 'eu-west' } },
    spec: { clusterNetwork: { pods: { cidrBlocks: ['10.244.0.0/16'] } }, replicas: 3, big: 1000000, ratio: 0.5 },
  },
};

async function out(template: string, context: RenderContext = cluster): Promise<string> {
  const r = await renderTemplate({ name: 'team-a/web', template, context });
  if (!r.ok) assert.fail(`expected output, got error: ${r.error}`);
  return r.output;
}

async function fails(template: string, context: RenderContext = cluster): Promise<{ error: string; line?: number }> {
  const r = await renderTemplate({ name: 'team-a/web', template, context });
  if (r.ok) assert.fail(`expected an error, got ${JSON.stringify(r.output)}`);
  return r;
}

describe('renderTemplate (Go text/template + Sveltos functions, WebAssembly)', () => {
  test('fields of .Cluster, with quote', async () => {
    assert.equal(await out('name: {{ .Cluster.metadata.name | quote }}\n'), 'name: "dev-1"\n');
  });

  test('{{- if }} / {{- end }} trim whitespace as Go does', async () => {
    const t = 'a: 1\n{{- if eq .Cluster.metadata.labels.env "prod" }}\nreplicas: 3\n{{- end }}\nb: 2\n';
    assert.equal(await out(t), 'a: 1\nreplicas: 3\nb: 2\n');
  });

  test('sprig: default, upper, b64enc, semverCompare, list functions', async () => {
    assert.equal(await out('{{ .Cluster.metadata.labels.missing | default "none" }}').catch(() => 'err'), 'err');
    assert.equal(await out('{{ index .Cluster.metadata.labels "env" | default "none" | upper }}'), 'PROD');
    assert.equal(await out('{{ "abc" | b64enc }}'), 'YWJj');
    assert.equal(await out('{{ semverCompare ">=1.2.0" "1.3.0" }}'), 'true');
    assert.equal(await out('{{ list 3 1 2 | sortAlpha | join "," }}'), '1,2,3');
  });

  test('toYaml sorts keys and nindent indents, as Helm users expect', async () => {
    assert.equal(
      await out('labels:{{ .Cluster.metadata.labels | toYaml | nindent 2 }}\n'),
      'labels:\n  env: prod\n  region: eu-west\n',
    );
  });

  test('integers stay integers (Go int64, not float64: no 1e+06)', async () => {
    assert.equal(
      await out('{{ .Cluster.spec.big }} {{ .Cluster.spec.replicas }} {{ .Cluster.spec.ratio }}'),
      '1000000 3 0.5',
    );
  });

  test('a missing map key is an error (missingkey=error) naming the line', async () => {
    const r = await fails('a: 1\nb: 2\nc: {{ .Cluster.spec.nope }}\n');
    assert.equal(r.line, 3);
    assert.match(r.error, /map has no entry for key "nope"/);
    assert.equal(templateCause('team-a/web', r.error), 'at <.Cluster.spec.nope>: map has no entry for key "nope"');
  });

  test('a syntax error names its line', async () => {
    const r = await fails('a: 1\nb: {{ if }}x{{ end }}\nc: 3\n');
    assert.equal(r.line, 2);
    assert.match(templateCause('team-a/web', r.error), /missing value for if/);
  });

  test('an unknown function is a parse error', async () => {
    assert.match((await fails('{{ nosuchfunc 1 }}')).error, /function "nosuchfunc" not defined/);
  });

  test("env sees an empty environment: the worker's variables never reach a template", async () => {
    assert.equal(await out('[{{ env "HOME" }}][{{ env "PATH" }}]'), '[][]');
  });

  test("Sveltos' helpers: fromYaml reports errors in an Error key, toJson, fromJson", async () => {
    assert.equal(await out('{{ (fromYaml "a: [") | toJson }}').then((s) => s.startsWith('{"Error":')), true);
    assert.equal(await out('{{ (fromJson "{\\"x\\": 2}").x }}'), '2');
    assert.equal(await out('{{ dict "b" 1 "a" 2 | toJson }}'), '{"a":2,"b":1}');
  });

  test('templateResourceRefs accessors exist and see no resources (nil / empty)', async () => {
    assert.equal(await out('[{{ getField "x" "spec" }}][{{ copy "x" }}]'), '[][]');
  });

  test('text without {{ is returned as it is, without the module', async () => {
    assert.equal(isTemplate('a: { b: 1 }'), false);
    assert.equal(await out('a: {b: 1}\n# not a { {template} }\n', {}), 'a: {b: 1}\n# not a { {template} }\n');
  });

  test('no .Cluster in the context: reading it fails like a missing object', async () => {
    const r = await fails('{{ .Cluster.metadata.name }}', {});
    assert.match(r.error, /nil|no entry|map/);
  });

  describe('hostile templates end as named failures, and the renderer keeps serving', () => {
    test('a template that runs too long is stopped at the time bound; the next render works', async () => {
      const before = setRenderLimits({ timeoutMs: 1500 });
      try {
        const t0 = Date.now();
        // ~10^10 iterations with no output: only the time bound stops it.
        const r = await fails('{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}');
        assert.match(r.error, /did not finish within 1\.5s/);
        assert.ok(Date.now() - t0 < 10_000, 'stopped promptly');
        assert.ok(renderThreadStats.terminated >= 1);
        assert.equal(await out('{{ "still here" }}'), 'still here');
      } finally {
        setRenderLimits(before);
      }
    });

    test('huge output stops at the output bound with a named error', async () => {
      const before = setRenderLimits({ maxOutputBytes: 64 * 1024 });
      try {
        const r = await fails('{{ range until 1000000 }}0123456789{{ end }}');
        assert.equal(r.error, 'rendered output exceeds 65536 bytes');
      } finally {
        setRenderLimits(before);
      }
    });

    test('a template that allocates without bound dies at the memory bound; the next render works', async () => {
      // A string doubled 40 times is a terabyte: the module runs out of memory long before the time bound.
      const r = await fails('{{ $s := "xxxxxxxx" }}{{ range until 40 }}{{ $s = print $s $s }}{{ end }}{{ len $s }}');
      assert.match(r.error, /^rendering ran out of memory \(a values template may use at most 256 MiB\)/);
      assert.equal(await out('{{ "recovered" }}'), 'recovered');
    });
  });
});

describe('withMemoryMax', () => {
  // (module (memory 2)) and (module (memory 2 100)), by hand: magic, version, memory section.
  const head = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  test('adds a maximum to a memory without one', () => {
    const m = withMemoryMax(new Uint8Array([...head, 5, 3, 1, 0x00, 2]), 300);
    assert.deepEqual([...m.subarray(8)], [5, 5, 1, 0x01, 2, 0xac, 0x02]);
  });
  test('keeps a lower maximum', () => {
    const m = withMemoryMax(new Uint8Array([...head, 5, 4, 1, 0x01, 2, 100]), 300);
    assert.deepEqual([...m.subarray(8)], [5, 4, 1, 0x01, 2, 100]);
  });
  test('other sections are kept byte for byte', () => {
    const type = [1, 4, 1, 0x60, 0, 0];
    const m = withMemoryMax(new Uint8Array([...head, ...type, 5, 3, 1, 0x00, 2, 0, 2, 0x61, 0x62]), 10);
    assert.deepEqual([...m.subarray(8)], [...type, 5, 4, 1, 0x01, 2, 10, 0, 2, 0x61, 0x62]);
  });
});
