// Configuration from flags and environment, validated with zod at start (a bad value stops the process
// with a message naming the flag and its variable).
import fs from 'node:fs';
import { z } from 'zod';
import type { FlagSpec } from './args';
import { TASK_QUEUE } from './workflow/constants';
import { DURATION_PATTERN, formatDuration, parseDuration } from './util/duration';
import { DEFAULT_FLUX_MODE, FLUX_MODES } from './workflow/fluxMode';
import { defaultTiming, type Timing } from './workflow/defs';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function podNamespace(env: NodeJS.ProcessEnv): string | undefined {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return fs.readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const inCluster = (env: NodeJS.ProcessEnv) => !!env.KUBERNETES_SERVICE_HOST && fs.existsSync(SA_NAMESPACE_FILE);

const duration = z.string().regex(DURATION_PATTERN, 'expected a duration such as 500ms, 30s or 5m');
const hostPort = z.string().regex(/^[^\s:]*:\d{1,5}$|^0$/, 'expected host:port (e.g. 127.0.0.1:7233), or 0 to disable');

/**
 * One entry per option: the flag, its environment variable, and its schema (with default). `boolean` flags may
 * stand alone (meaning true) or take a value (`--leader-elect=false`).
 */
const options = {
  kubeconfig: {
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    schema: z.string().optional(),
    help: 'kubeconfig file (default: in-cluster config, else ~/.kube/config)',
  },
  temporalAddress: {
    flag: 'temporal-address',
    env: 'TEMPORAL_ADDRESS',
    schema: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')
      .default('127.0.0.1:7233'),
    help: 'Temporal frontend host:port',
  },
  temporalNamespace: {
    flag: 'temporal-namespace',
    env: 'TEMPORAL_NAMESPACE',
    schema: z.string().min(1).default('default'),
    help: 'Temporal namespace',
  },
  temporalTls: {
    flag: 'temporal-tls',
    env: 'TEMPORAL_TLS',
    schema: z.stringbool().default(false),
    boolean: true,
    help: 'connect to Temporal with TLS',
  },
  temporalTlsCert: {
    flag: 'temporal-tls-cert',
    env: 'TEMPORAL_TLS_CERT',
    schema: z.string().optional(),
    help: 'client certificate file for Temporal mTLS',
  },
  temporalTlsKey: {
    flag: 'temporal-tls-key',
    env: 'TEMPORAL_TLS_KEY',
    schema: z.string().optional(),
    help: 'client key file for Temporal mTLS',
  },
  temporalTlsCa: {
    flag: 'temporal-tls-ca',
    env: 'TEMPORAL_TLS_CA',
    schema: z.string().optional(),
    help: 'CA file for the Temporal server certificate',
  },
  temporalTlsServerName: {
    flag: 'temporal-tls-server-name',
    env: 'TEMPORAL_TLS_SERVER_NAME',
    schema: z.string().min(1).optional(),
    help: "name to verify the Temporal server certificate against (default: the address's host)",
  },
  temporalApiKey: {
    flag: 'temporal-api-key',
    env: 'TEMPORAL_API_KEY',
    schema: z.string().min(1).optional(),
    help: 'Temporal API key, sent as a bearer token; turns TLS on (prefer the variable or a file: flags show in ps)',
  },
  temporalApiKeyFile: {
    flag: 'temporal-api-key-file',
    env: 'TEMPORAL_API_KEY_FILE',
    schema: z.string().min(1).optional(),
    help: 'file holding the Temporal API key (e.g. a mounted Secret); turns TLS on',
  },
  codecKeys: {
    flag: 'codec-keys',
    env: 'KSM_FLUX_CODEC_KEYS',
    schema: z.string().min(1).optional(),
    help: 'payload encryption keys "id:base64-key" (AES-256; the first encrypts, all decrypt); prefer the variable or a file',
  },
  codecKeyFile: {
    flag: 'codec-key-file',
    env: 'KSM_FLUX_CODEC_KEY_FILE',
    schema: z.string().min(1).optional(),
    help: 'file holding the payload encryption keys (e.g. a mounted Secret), one "id:base64-key" per line, newest first',
  },
  codecListen: {
    flag: 'codec-listen',
    env: 'KSM_FLUX_CODEC_LISTEN',
    schema: hostPort.default('127.0.0.1:8089'),
    help: 'codec-server: listen address of the remote codec endpoint',
  },
  codecCorsOrigins: {
    flag: 'codec-cors-origins',
    env: 'KSM_FLUX_CODEC_CORS_ORIGINS',
    schema: z.string().optional(),
    help: 'codec-server: Temporal Web UI origins allowed to call it (comma-separated, e.g. http://127.0.0.1:8233)',
  },
  codecAuthFile: {
    flag: 'codec-auth-file',
    env: 'KSM_FLUX_CODEC_AUTH_FILE',
    schema: z.string().min(1).optional(),
    help: 'codec-server: file holding the Authorization header value every request must carry (default: none)',
  },
  temporalUiUrl: {
    flag: 'temporal-ui-url',
    env: 'TEMPORAL_UI_URL',
    schema: z
      .url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://127.0.0.1:8233' })
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    help: 'Temporal Web UI base URL, for the links `ksm-flux list` prints',
  },
  taskQueue: {
    flag: 'task-queue',
    env: 'KSM_FLUX_TASK_QUEUE',
    schema: z.string().min(1).default(TASK_QUEUE),
    help: 'Temporal task queue',
  },
  adapterName: {
    flag: 'adapter-name',
    env: 'KSM_FLUX_ADAPTER_NAME',
    schema: z.string().min(1).default('ksm-flux'),
    help: 'adapter identity: the name SMPs put in spec.adapter.name',
  },
  adapterNamespace: {
    flag: 'adapter-namespace',
    env: 'KSM_FLUX_ADAPTER_NAMESPACE',
    schema: z.string().min(1).optional(),
    help: "adapter identity namespace (default: the pod's namespace in-cluster, else kcm-system)",
  },
  fluxMode: {
    flag: 'flux-mode',
    env: 'KSM_FLUX_FLUX_MODE',
    schema: z.enum(FLUX_MODES).default(DEFAULT_FLUX_MODE),
    help: "which Flux reconciles our objects: kcm (kcm's label-filtered helm-/source-controller, plus the chart's kustomize-controller) or standalone (a separate, unfiltered Flux; our objects then carry no k0rdent.mirantis.com/managed label)",
  },
  logLevel: {
    flag: 'log-level',
    env: 'LOG_LEVEL',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    help: 'log level',
  },
  metricsAddr: {
    flag: 'metrics-addr',
    env: 'KSM_FLUX_METRICS_ADDR',
    schema: hostPort.optional(),
    help: 'Prometheus /metrics listen address (default :8080 in-cluster, else 0 = off)',
  },
  temporalMetricsAddr: {
    flag: 'temporal-metrics-addr',
    env: 'KSM_FLUX_TEMPORAL_METRICS_ADDR',
    schema: hostPort.default('127.0.0.1:9464'),
    help: 'where the Temporal runtime serves its own metrics (appended to /metrics; 0 = off)',
  },
  healthAddr: {
    flag: 'health-addr',
    env: 'KSM_FLUX_HEALTH_ADDR',
    schema: hostPort.optional(),
    help: '/healthz and /readyz listen address (default :8081 in-cluster, else 0 = off)',
  },
  leaderElection: {
    flag: 'leader-elect',
    env: 'KSM_FLUX_LEADER_ELECT',
    schema: z.stringbool().default(true),
    boolean: true,
    help: 'watcher leader election on a Lease',
  },
  leaseName: {
    flag: 'lease-name',
    env: 'KSM_FLUX_LEASE_NAME',
    schema: z.string().min(1).default('ksm-flux-watcher'),
    help: 'Lease name for leader election',
  },
  leaseDuration: {
    flag: 'lease-duration',
    env: 'KSM_FLUX_LEASE_DURATION',
    schema: duration.default('15s'),
    help: 'Lease duration',
  },
  quiescentPoll: {
    flag: 'quiescent-poll',
    env: 'KSM_FLUX_QUIESCENT_POLL',
    // Long: the watcher's events carry every change; this only catches a missed one (read from the caches).
    schema: duration.default(formatDuration(defaultTiming.quiescentPollMs)),
    help: 'safety-net poll of a settled ServiceSet (jittered up to +20%)',
  },
  activePollMin: {
    flag: 'active-poll-min',
    env: 'KSM_FLUX_ACTIVE_POLL_MIN',
    // The watcher's events carry Flux's progress (every HelmRelease/Kustomization status change signals the
    // workflow); this poll is only a safety net while work is in progress. A short one makes most passes
    // timer-driven ones that find nothing new (measured in bench/reports).
    schema: duration.default(formatDuration(defaultTiming.activePollMinMs)),
    help: 'first poll while work is in progress (doubles)',
  },
  activePollMax: {
    flag: 'active-poll-max',
    env: 'KSM_FLUX_ACTIVE_POLL_MAX',
    schema: duration.default(formatDuration(defaultTiming.activePollMaxMs)),
    help: 'longest poll interval while work is in progress',
  },
  flapTolerance: {
    flag: 'flap-tolerance',
    env: 'KSM_FLUX_FLAP_TOLERANCE',
    schema: duration.default(formatDuration(defaultTiming.flapToleranceMs)),
    help: 'how long Deployed is held while Flux re-reconciles an unchanged spec',
  },
  deletionTimeout: {
    flag: 'deletion-timeout',
    env: 'KSM_FLUX_DELETION_TIMEOUT',
    schema: duration.default(formatDuration(defaultTiming.deletionTimeoutMs)),
    help: 'how long deletion waits for Flux before orphaning',
  },
  finalizerGrace: {
    flag: 'finalizer-grace',
    env: 'KSM_FLUX_FINALIZER_GRACE',
    schema: duration.default(formatDuration(defaultTiming.finalizerGraceMs)),
    help: "after orphaning, how long before Flux's finalizer is removed",
  },
  healBackoffMin: {
    flag: 'heal-backoff-min',
    env: 'KSM_FLUX_HEAL_BACKOFF_MIN',
    schema: duration.default(formatDuration(defaultTiming.healBackoffMinMs)),
    help: 'first automatic retry of a Flux object that gave up (Stalled); doubles per failure',
  },
  healBackoffMax: {
    flag: 'heal-backoff-max',
    env: 'KSM_FLUX_HEAL_BACKOFF_MAX',
    schema: duration.default(formatDuration(defaultTiming.healBackoffMaxMs)),
    help: 'longest wait between automatic retries of a failed service',
  },
  maxConcurrentActivities: {
    flag: 'max-concurrent-activities',
    env: 'KSM_FLUX_MAX_CONCURRENT_ACTIVITIES',
    schema: z.coerce.number().int().min(1).max(1000).default(50),
    help: 'worker activity slots',
  },
  maxCachedWorkflows: {
    flag: 'max-cached-workflows',
    env: 'KSM_FLUX_MAX_CACHED_WORKFLOWS',
    schema: z.coerce.number().int().min(0).max(100000).default(1000),
    help: 'worker workflow cache size',
  },
  workflowThreads: {
    flag: 'workflow-threads',
    env: 'KSM_FLUX_WORKFLOW_THREADS',
    // The SDK's default with a reused V8 context is one thread: every workflow activation of the worker runs on
    // it, and under load workflow code is a large share of the worker's CPU. A second thread lets it use a second
    // core; more workers scale further (bench/reports has the measurements).
    schema: z.coerce.number().int().min(1).max(32).default(2),
    help: 'threads running workflow code in a worker',
  },
  signalConcurrency: {
    flag: 'signal-concurrency',
    env: 'KSM_FLUX_SIGNAL_CONCURRENCY',
    schema: z.coerce.number().int().min(1).max(256).default(16),
    help: 'watcher signals in flight',
  },
} as const;

type Options = typeof options;
export type Config = { [K in keyof Options]: z.output<Options[K]['schema']> } & {
  adapterNamespace: string;
  metricsAddr: string;
  healthAddr: string;
  inCluster: boolean;
};

export const optionHelp = Object.values(options).map((o) => ({ flag: `--${o.flag}`, env: o.env, help: o.help }));
/** The settings' flags as the command line parses them (values are strings; zod reads them). */
export const configFlags: FlagSpec = Object.fromEntries(Object.values(options).map((o) => [o.flag, 'string']));
/** Settings flags that may stand alone, meaning true. */
export const bareTrueFlags: ReadonlySet<string> = new Set(
  Object.values(options)
    .filter((o) => 'boolean' in o && o.boolean)
    .map((o) => o.flag),
);

export class ConfigError extends Error {}

/** Flags win over environment variables, which win over defaults. */
export function loadConfig(flags: Record<string, string | boolean>, env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, o] of Object.entries(options)) {
    const raw = flags[o.flag] ?? env[o.env];
    const value = raw === true ? 'true' : raw === false ? 'false' : raw === '' ? undefined : raw;
    const r = (o.schema as z.ZodType).safeParse(value);
    if (r.success) out[key] = r.data;
    else
      problems.push(
        `--${o.flag} / ${o.env}: ${r.error.issues[0]?.message ?? 'invalid'} (got ${JSON.stringify(value)})`,
      );
  }
  // Combinations no single option's schema can see.
  if (out.temporalApiKey && out.temporalApiKeyFile)
    problems.push(
      '--temporal-api-key / TEMPORAL_API_KEY and --temporal-api-key-file / TEMPORAL_API_KEY_FILE: give one',
    );
  if (out.codecKeys && out.codecKeyFile)
    problems.push('--codec-keys / KSM_FLUX_CODEC_KEYS and --codec-key-file / KSM_FLUX_CODEC_KEY_FILE: give one');
  if (!out.temporalTlsCert !== !out.temporalTlsKey)
    problems.push(
      '--temporal-tls-cert / TEMPORAL_TLS_CERT and --temporal-tls-key / TEMPORAL_TLS_KEY: give both or neither',
    );
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  const cluster = inCluster(env);
  out.inCluster = cluster;
  out.adapterNamespace ??= (cluster ? podNamespace(env) : undefined) ?? 'kcm-system';
  out.metricsAddr ??= cluster ? ':8080' : '0';
  out.healthAddr ??= cluster ? ':8081' : '0';
  return out as Config;
}

export function timingOf(c: Config): Timing {
  const ms = (s: string) => parseDuration(s)!;
  return {
    quiescentPollMs: ms(c.quiescentPoll),
    activePollMinMs: ms(c.activePollMin),
    activePollMaxMs: ms(c.activePollMax),
    flapToleranceMs: ms(c.flapTolerance),
    deletionTimeoutMs: ms(c.deletionTimeout),
    finalizerGraceMs: ms(c.finalizerGrace),
    maxPassesPerRun: defaultTiming.maxPassesPerRun,
    healBackoffMinMs: ms(c.healBackoffMin),
    healBackoffMaxMs: ms(c.healBackoffMax),
  };
}
