// Values pipeline benchmark (prints a report; never asserted): the render time of a templated 40-key values
// document (Go text/template + Sveltos functions in WebAssembly, then the YAML parse), side by side with the
// baseline of the same run: parsing an equivalent plain 40-key document. Also the one-time cost of loading the
// module (compile + instantiate) in a fresh process.
// Usage: npx tsx bench/values.ts [--iterations 2000]
import { parseArgs } from '../src/args';
import { parseValues } from '../src/values/parse';
import { ensureBuilt } from '../src/testenv/build';
import { renderTemplate, renderUncached, warmUp, type RenderContext } from '../src/values/render';

const { flags } = parseArgs(process.argv.slice(2), { iterations: 'string' });
const ITER = Number(flags.iterations ?? 2000);

const context: RenderContext = {
  Cluster: {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Cluster',
    metadata: { name: 'dev-1', namespace: 'team-a', labels: { env: 'prod', region: 'eu-west', tier: 'gold' } },
    spec: { clusterNetwork: { pods: { cidrBlocks: ['10.244.0.0/16'] } }, topology: { version: 'v1.33.1' } },
  },
};

/** 40 keys, each with the constructs users write: field access, sprig pipelines, if/else, toYaml | nindent. */
const templated = Array.from({ length: 40 }, (_, i) =>
  [
    `key${i}:`,
    `  cluster: {{ .Cluster.metadata.name | quote }}`,
    `  region: {{ index .Cluster.metadata.labels "region" | default "us" | upper }}`,
    `  {{- if eq (index .Cluster.metadata.labels "env") "prod" }}`,
    `  replicas: ${(i % 5) + 2}`,
    `  {{- else }}`,
    `  replicas: 1`,
    `  {{- end }}`,
    `  labels:{{ .Cluster.metadata.labels | toYaml | nindent 4 }}`,
  ].join('\n'),
).join('\n');

/** The same document as it renders: the baseline parses exactly what the templated path ends with. */
async function main(): Promise<void> {
  await ensureBuilt(['render']);
  const t0 = process.hrtime.bigint();
  await warmUp();
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const first = await renderTemplate({ name: 'bench/app', template: templated, context });
  if (!first.ok) throw new Error(first.error);
  const plain = first.output;
  const parsed = parseValues(plain);
  if (!parsed.ok || Object.keys(parsed.values ?? {}).length !== 40)
    throw new Error('the rendered document is not 40 keys');

  const time = async (fn: () => unknown): Promise<number> => {
    for (let i = 0; i < Math.min(100, ITER); i++) await fn();
    const s = process.hrtime.bigint();
    for (let i = 0; i < ITER; i++) await fn();
    return Number(process.hrtime.bigint() - s) / ITER / 1000;
  };
  const baseline = await time(() => parseValues(plain));
  const renderOnly = await time(() => renderUncached({ name: 'bench/app', template: templated, context }));
  const pipeline = await time(async () => {
    const r = await renderUncached({ name: 'bench/app', template: templated, context });
    if (r.ok) parseValues(r.output);
  });
  const memoised = await time(async () => {
    const r = await renderTemplate({ name: 'bench/app', template: templated, context });
    if (r.ok) parseValues(r.output);
  });
  const rows: [string, string][] = [
    ['document', `40 keys, ${templated.split('\n').length} template lines → ${plain.split('\n').length} YAML lines`],
    ['module load (compile + instantiate, once per process)', `${loadMs.toFixed(0)} ms`],
    ['baseline: YAML parse of the plain 40-key document', `${baseline.toFixed(0)} µs/op`],
    ['Go template render (WebAssembly) only', `${renderOnly.toFixed(0)} µs/op`],
    [
      'render + YAML parse (new template or cluster object)',
      `${pipeline.toFixed(0)} µs/op (${(pipeline / baseline).toFixed(1)}× the baseline)`,
    ],
    [
      'memoised render + YAML parse (settled ServiceSet, each pass)',
      `${memoised.toFixed(0)} µs/op (${(memoised / baseline).toFixed(1)}× the baseline)`,
    ],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(
    `values bench (${ITER} iterations each, node ${process.version})\n${rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n')}\n`,
  );
}

void main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
