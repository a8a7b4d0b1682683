// ksm-flux command line.
import { ArgsError, parseArgs, type FlagSpec } from './args';
import { runAdapter } from './commands/adapter';
import { codecServer } from './commands/codecServer';
import { dev } from './commands/dev';
import { doctor } from './commands/doctor';
import { list } from './commands/list';
import { retry, status } from './commands/ops';
import { plan } from './commands/plan';
import { providerConfigJsonSchemaText } from './plan/configSchema';
import { ListFilterError } from './workflow/searchAttributes';
import { baseTargets, build } from './testenv/build';
import * as tenv from './testenv/testenv';
import { bareTrueFlags, configFlags, ConfigError, loadConfig, optionHelp } from './config';
import { createLogger } from './log';
import { VERSION } from './version';

interface Command {
  summary: string;
  usage: string;
  details?: string;
  /** Takes the settings (config.ts: flags and environment variables). */
  settings?: true;
  /** Its own flags. */
  flags?: FlagSpec;
}

const commands: Record<string, Command> = {
  run: { settings: true, summary: 'run watcher and worker in one process', usage: 'ksm-flux run [options]' },
  watcher: {
    settings: true,
    summary: 'run the watcher (leader-elected): events → workflow signals',
    usage: 'ksm-flux watcher [options]',
  },
  worker: {
    settings: true,
    summary: 'run the Temporal worker: ServiceSet workflows and their activities',
    usage: 'ksm-flux worker [options]',
  },
  retry: {
    settings: true,
    flags: { 'no-wait': 'boolean' },
    summary: 'retry a ServiceSet now (also resets/forces its Flux objects) and show the outcome',
    usage: 'ksm-flux retry <namespace>/<name> [--no-wait] [options]',
    details: '--no-wait sends the retry signal and returns at once instead of waiting for the pass.',
  },
  status: {
    settings: true,
    summary: "show a ServiceSet's live workflow state beside its stored status",
    usage: 'ksm-flux status <namespace>/<name> [options]',
  },
  list: {
    settings: true,
    flags: {
      state: 'string',
      cluster: 'string',
      namespace: 'string',
      provider: 'string',
      all: 'boolean',
      json: 'boolean',
    },
    summary: 'list ServiceSet workflows by state, cluster, namespace or provider, with their Temporal Web UI links',
    usage:
      'ksm-flux list [--state Deployed|Provisioning|Pending|Failed|Deleting] [--cluster NAME] [--namespace NS] [--provider SMP] [--all] [--json] [options]',
    details:
      'A Temporal visibility query over the search attributes every ServiceSet workflow keeps up to date: KsmState (the\n' +
      'ServiceSet as a whole: Deleting while it is deleted, else its least advanced service, Failed < Pending <\n' +
      'Provisioning < Deployed), KsmFailedServices, KsmCluster, KsmProvider, KsmServiceSetNamespace, KsmServiceSetName.\n' +
      'Running workflows of this task queue only; --all adds those that ended. Visibility is eventually consistent: a\n' +
      'change shows within a second or so. Links need the Web UI address (--temporal-ui-url / TEMPORAL_UI_URL); the same\n' +
      "query works in the Web UI's search box and in `temporal workflow list --query`.",
  },
  plan: {
    settings: true,
    flags: { file: 'string', json: 'boolean' },
    summary: 'print the Flux objects the worker would write for a ServiceSet, with a diff against the live ones',
    usage: 'ksm-flux plan <namespace>/<name> | --file FILE [--json] [--kubeconfig PATH]',
    details:
      "Uses the worker's planning code (values templates rendered, valuesFrom expanded) and applies nothing. --file plans a\n" +
      'ServiceSet from a YAML/JSON file (reading templates and values inputs from the cluster). Exits 1 when the ServiceSet\n' +
      'would fail (bad provider config, template or values), naming why. Secret contents are never printed.',
  },
  'config-schema': {
    summary: 'print the JSON Schema of spec.provider.config',
    usage: 'ksm-flux config-schema',
  },
  'codec-server': {
    settings: true,
    summary: 'Temporal remote codec endpoint: the Web UI and CLI show encrypted histories decoded',
    usage:
      'ksm-flux codec-server [--codec-listen HOST:PORT] [--codec-cors-origins ORIGINS] [--codec-auth-file FILE] [options]',
    details:
      "Serves POST …/encode and …/decode (Temporal's remote codec protocol) with the payload encryption keys of the\n" +
      'workers (--codec-keys / KSM_FLUX_CODEC_KEYS or --codec-key-file). Point the Web UI (codec endpoint setting, or\n' +
      '`temporal server start-dev --ui-codec-endpoint URL`) or the CLI (`temporal workflow show --codec-endpoint URL`) at it.\n' +
      '--codec-cors-origins lists the Web UI origins allowed to call it from a browser; --codec-auth-file makes every\n' +
      'request carry that Authorization header value (the CLI sends it with --codec-auth).',
  },
  doctor: {
    settings: true,
    flags: { smp: 'string' },
    summary: 'check Temporal, CRDs, the SMP readiness rules and RBAC',
    usage: 'ksm-flux doctor [--smp NAME] [options]',
  },
  dev: {
    flags: { dir: 'string', flux: 'boolean', 'no-flux': 'boolean', kcm: 'boolean', 'no-kcm': 'boolean' },
    summary: 'local demo: control plane, sample objects, adapter, and what to look at',
    usage: 'ksm-flux dev [--dir DIR] [--no-flux] [--kcm | --no-kcm]',
    details:
      'Runs the real Flux controllers (kcm mode) unless --no-flux, and the real kcm when it is built (--kcm builds it,\n' +
      '--no-kcm leaves it out): then the demo creates ClusterDeployments and MultiClusterServices and kcm turns them\n' +
      'into the ServiceSets ksm-flux deploys. Without kcm, the demo writes the ServiceSets itself.',
  },
  testenv: {
    flags: {
      dir: 'string',
      flux: 'boolean',
      helm: 'boolean',
      kcm: 'boolean',
      temporal: 'string',
      'flux-mode': 'string',
    },
    summary: 'local control plane for tests and the demo',
    usage:
      'ksm-flux testenv build [--flux] [--helm] [--kcm] [--temporal postgres] | up [--dir DIR] [--flux [--flux-mode kcm|standalone]] [--kcm] [--temporal dev|postgres] | down [--dir DIR] | env [--dir DIR]',
    details:
      'build  builds kube-apiserver, kube-controller-manager, etcd, the Temporal CLI and fetches the CRDs into ~/.cache/ksm-flux (skips what is there)\n' +
      "       --kcm also builds kcm's controller manager from ../shared/kcm and fetches its CRDs and the Cluster API Cluster CRD\n" +
      'up     starts etcd, kube-apiserver, kube-controller-manager and the Temporal dev server in DIR (default .testenv), installs the CRDs\n' +
      '       --temporal postgres: the production Temporal server on PostgreSQL (Debian package, installed if missing) with its Web UI\n' +
      "       --flux adds source-, helm- and kustomize-controller; --flux-mode kcm (default) starts them with kcm's chart arguments\n" +
      '       (label-filtered, as in a k0rdent install), standalone without the watch label selector\n' +
      '       --kcm adds the Flux controllers (kcm mode) and the real kcm controller manager, with its installation objects\n' +
      '       reported installed so that its ClusterDeployment and MultiClusterService controllers run\n' +
      'down   stops exactly the processes `up` started and removes DIR\n' +
      'env    prints DIR/env (KUBECONFIG, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_UI_URL)',
  },
  version: { summary: 'print the version', usage: 'ksm-flux version' },
};

function help(cmd?: string): string {
  if (cmd && commands[cmd]) {
    const c = commands[cmd];
    const opts = c.settings
      ? `\n\nOptions (flag / environment variable):\n${optionHelp.map((o) => `  ${o.flag.padEnd(30)} ${o.env.padEnd(36)} ${o.help}`).join('\n')}`
      : '';
    return `${c.summary}\n\nUsage: ${c.usage}${c.details ? `\n\n${c.details}` : ''}${opts}\n`;
  }
  const rows = Object.entries(commands).map(([k, v]) => `  ${k.padEnd(10)} ${v.summary}`);
  return `ksm-flux ${VERSION}: a k0rdent state management provider that deploys services with Flux, reconciled by Temporal.\n\nUsage: ksm-flux <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun \`ksm-flux <command> --help\` for the options of a command.\n`;
}

/** Every flag any command takes: enough to tell flag values from the command. */
const anyFlag: FlagSpec = Object.assign({}, configFlags, ...Object.values(commands).map((c) => c.flags ?? {}));

/** The first positional, reading each flag's value as its value (never as the command). */
function commandOf(argv: string[]): string | undefined {
  try {
    return parseArgs(argv, anyFlag, bareTrueFlags).positionals[0];
  } catch {
    // A bad flag: take the first word that is no flag; the strict parse of that command says what is wrong.
    return argv.find((a) => !a.startsWith('-'));
  }
}

async function main(argv: string[]): Promise<number> {
  // The command is the first positional; which flags are known depends on it.
  const cmd = commandOf(argv);
  if (cmd !== undefined && cmd !== 'help' && !commands[cmd]) {
    process.stderr.write(`unknown command ${JSON.stringify(cmd)}\n\n${help()}`);
    return 2;
  }
  const c = cmd && cmd !== 'help' ? commands[cmd] : undefined;
  let parsed;
  try {
    // Without a command only help is printed: any flag of any command may come with it.
    parsed = parseArgs(argv, c ? { ...(c.settings ? configFlags : {}), ...(c.flags ?? {}) } : anyFlag, bareTrueFlags);
  } catch (e) {
    if (!(e instanceof ArgsError)) throw e;
    process.stderr.write(`ksm-flux${cmd ? ` ${cmd}` : ''}: ${e.message}\n`);
    return 2;
  }
  const { flags } = parsed;
  const rest = parsed.positionals.slice(1);
  if (!cmd || cmd === 'help') {
    process.stdout.write(help(rest[0]));
    return 0;
  }
  if (flags.help) {
    process.stdout.write(help(cmd));
    return 0;
  }
  const dir = typeof flags.dir === 'string' ? flags.dir : undefined;
  switch (cmd) {
    case 'config-schema':
      process.stdout.write(providerConfigJsonSchemaText());
      return 0;

    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'testenv': {
      const sub = rest[0];
      if (sub === 'build') {
        const t0 = Date.now();
        await build([
          ...baseTargets,
          ...(flags.flux ? (['flux'] as const) : []),
          ...(flags.helm ? (['helm'] as const) : []),
          ...(flags.temporal === 'postgres' ? (['temporal-server'] as const) : []),
          ...(flags.kcm ? (['kcm'] as const) : []),
        ]);
        process.stderr.write(`[testenv] build finished in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        return 0;
      }
      if (sub === 'up') {
        const temporal = flags.temporal ?? 'dev';
        if (temporal !== 'dev' && temporal !== 'postgres') {
          process.stderr.write(`--temporal must be dev or postgres (got ${JSON.stringify(temporal)})\n`);
          return 2;
        }
        const mode = flags['flux-mode'];
        if (mode !== undefined && mode !== 'kcm' && mode !== 'standalone') {
          process.stderr.write(`--flux-mode: expected kcm or standalone, got ${JSON.stringify(mode)}\n`);
          return 2;
        }
        await tenv.up({
          ...(dir ? { dir } : {}),
          flux: !!flags.flux,
          kcm: !!flags.kcm,
          temporal,
          ...(mode ? { fluxMode: mode } : {}),
        });
        process.stdout.write(tenv.envText(dir));
        return 0;
      }
      if (sub === 'down') {
        await tenv.down({ ...(dir ? { dir } : {}) });
        return 0;
      }
      if (sub === 'env') {
        process.stdout.write(tenv.envText(dir));
        return 0;
      }
      process.stderr.write(help('testenv'));
      return 2;
    }
    case 'dev': {
      return dev({
        ...(dir ? { dir } : {}),
        ...(flags.flux ? { flux: true } : flags['no-flux'] ? { flux: false } : {}),
        ...(flags.kcm ? { kcm: true } : flags['no-kcm'] ? { kcm: false } : {}),
      });
    }
    default:
      break;
  }
  const cfg = loadConfig(flags);
  const logger = createLogger(cfg.logLevel);
  switch (cmd) {
    case 'run':
    case 'watcher':
    case 'worker': {
      await runAdapter(cmd, cfg, logger);
      return 0;
    }
    case 'retry': {
      await retry(cfg, rest[0], { noWait: !!flags['no-wait'] });
      return 0;
    }
    case 'status': {
      await status(cfg, rest[0]);
      return 0;
    }
    case 'list': {
      const str = (k: string) => (typeof flags[k] === 'string' ? { [k]: flags[k] } : {});
      try {
        await list(
          cfg,
          { ...str('state'), ...str('cluster'), ...str('namespace'), ...str('provider'), all: !!flags.all },
          { json: !!flags.json },
        );
      } catch (e) {
        if (!(e instanceof ListFilterError)) throw e;
        process.stderr.write(`ksm-flux list: ${e.message}\n`);
        return 2;
      }
      return 0;
    }
    case 'plan': {
      // The worker's own settings (kubeconfig, Flux mode): the plan is what that worker would write.
      const file = typeof flags.file === 'string' ? flags.file : undefined;
      return plan({ kubeconfig: cfg.kubeconfig, fluxMode: cfg.fluxMode }, rest[0], {
        ...(file ? { file } : {}),
        json: !!flags.json,
      });
    }
    case 'codec-server': {
      await codecServer(cfg, logger);
      return 0;
    }
    case 'doctor': {
      return (await doctor(cfg, { ...(typeof flags.smp === 'string' ? { smp: flags.smp } : {}) })) ? 0 : 1;
    }
  }
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    // Everything this command started has been stopped: exit even if a library left a timer behind.
    process.exit(code);
  },
  (e: unknown) => {
    if (e instanceof ConfigError) process.stderr.write(`ksm-flux: ${e.message}\n`);
    else process.stderr.write(`ksm-flux: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
