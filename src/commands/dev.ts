// `ksm-flux dev`: the local demo. A management control plane (kube-apiserver, etcd, Temporal with its Web
// UI, the real Flux controllers — built on first use — and the real kcm when it is built), a second API server as
// the workload cluster, a StateManagementProvider for ksm-flux, Helm and Kustomize ServiceTemplates served from
// loopback sources, and the adapter itself. With kcm, the demo creates a ClusterDeployment and a
// MultiClusterService and kcm turns them into ServiceSets; without it, the demo writes a few ServiceSets as kcm
// would. Ctrl-C stops everything it started.
import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { K0RDENT_API_VERSION, workflowIdFor } from '../workflow/constants';
import { loadConfig } from '../config';
import { KubeClient } from '../kube/client';
import { paths } from '../kube/paths';
import { ensureBuilt, missingTargets } from '../testenv/build';
import { createGitRepository, createKustomizeTemplate, startGitServer, type GitServer } from '../testenv/gitServer';
import { createChartTemplate, createHelmRepository, startHelmRepo, type HelmRepoServer } from '../testenv/helmRepo';
import { pollFor } from '../testenv/proc';
import { createTargetKubeconfigSecret, startTarget, type TargetCluster } from '../testenv/target';
import { down, up } from '../testenv/testenv';
import { cacheRoot, toolPaths } from '../testenv/versions';
import { ensureStandInDeployment } from '../testenv/standIn';
import { startAdapter, type AdapterHandle } from './adapter';
import { createKcmSamples, createKcmTemplates, ignoreConflict, kcmSamplesSettled, kcmSummary } from './devKcm';

const repoRoot = path.resolve(__dirname, '..', '..');
const demoDir = path.join(repoRoot, 'demo');
const NS = 'demo';
const CLUSTER = 'workload';

export interface DevOptions {
  dir?: string;
  /** Use the Flux controllers (default; built on first use); false runs without them. */
  flux?: boolean;
  /** Use the real kcm: true builds it if missing, undefined uses it when already built (and Flux runs). */
  kcm?: boolean;
  /** Called once the demo is up (tests); by default the demo runs until SIGINT/SIGTERM. */
  until?: Promise<void>;
  out?: (s: string) => void;
}

interface Sample {
  name: string;
  services: { name: string; namespace: string; template: string; version: string; values?: string }[];
}

/** ServiceSets as kcm would create them for ClusterDeployments on the workload cluster. */
const samples: Sample[] = [
  {
    name: 'workload-a',
    services: [
      {
        name: 'hello',
        namespace: 'team-a',
        template: 'hello-1-0-0',
        version: '1.0.0',
        values: 'greeting: hello from team A\ncolor: green\n',
      },
      { name: 'platform', namespace: 'platform', template: 'platform-config', version: 'platform-config' },
    ],
  },
  {
    name: 'workload-b',
    services: [{ name: 'hello', namespace: 'team-b', template: 'hello-1-1-0', version: '1.1.0' }],
  },
  {
    // Bad input on purpose: the service reports a named failure, the others are untouched.
    name: 'workload-c',
    services: [
      {
        name: 'broken',
        namespace: 'team-c',
        template: 'hello-1-0-0',
        version: '1.0.0',
        values: 'greeting: [unclosed\n',
      },
    ],
  },
];

export async function dev(opts: DevOptions = {}): Promise<number> {
  const out = opts.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const say = (s: string) => out(`[dev] ${s}`);
  const dir = path.resolve(opts.dir ?? '.demo');
  // kcm needs Flux (a k0rdent install runs it); Flux is the default and is built on first use.
  const flux = opts.flux ?? true;
  const kcm = flux && (opts.kcm ?? missingTargets(['kcm']).length === 0);
  if (!flux) say('Flux controllers are not used (--no-flux): HelmReleases are created but nothing installs them');
  else if (!kcm)
    say(
      opts.kcm === false
        ? 'kcm is not used (--no-kcm): the demo writes the ServiceSets kcm would write'
        : 'kcm is not built: the demo writes the ServiceSets kcm would write (`npm run dev -- --kcm` builds and runs the real kcm)',
    );
  const targets = [
    'crds',
    'etcd',
    'k8s',
    'temporal',
    'render',
    ...(flux ? (['flux', 'helm'] as const) : []),
    ...(kcm ? (['kcm'] as const) : []),
  ] as const;
  const missing = missingTargets([...targets]);
  if (missing.length) say(`building ${missing.join(', ')} into ${cacheRoot()} (first use only; progress below)…`);
  await ensureBuilt([...targets]);

  // Ctrl-C at any moment (even while starting) stops everything started so far.
  let interrupted: (() => void) | undefined;
  const interruption = new Promise<void>((resolve) => (interrupted = resolve));
  const onSignal = () => interrupted?.();
  /** Long waits give way to Ctrl-C; short start-ups finish first so that what they started gets stopped. */
  const step = <T>(p: Promise<T>): Promise<T> =>
    Promise.race([
      p,
      interruption.then(() => {
        throw new Error('interrupted');
      }),
    ]);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  let adapter: AdapterHandle | undefined;
  try {
    say(`starting the management control plane in ${dir}…`);
    stops.push(() => down({ dir, quiet: true }));
    const state = await up({ dir, flux, kcm, quiet: false });
    say('starting the workload cluster…');
    const target: TargetCluster = await startTarget(CLUSTER, dir);
    stops.push(() => target.stop());

    const kc = new k8s.KubeConfig();
    kc.loadFromFile(state.kubeconfig);
    const kube = new KubeClient(kc);
    stops.push(async () => kube.close());
    await kube
      .create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })
      .catch(ignoreConflict);
    await createTargetKubeconfigSecret(kube, NS, CLUSTER, target).catch(ignoreConflict);

    // The adapter runs in this process; a Deployment object stands for it, as the SMP's `spec.adapter` (kcm's SMP
    // controller and `ksm-flux doctor` check it).
    await ensureStandInDeployment(
      kube,
      'kcm-system',
      'ksm-flux',
      `ksm-flux adapter inside \`ksm-flux dev\` (pid ${process.pid})`,
    );
    await kube
      .create(paths.smps(), {
        apiVersion: K0RDENT_API_VERSION,
        kind: 'StateManagementProvider',
        metadata: { name: 'ksm-flux' },
        spec: {
          adapter: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'ksm-flux',
            namespace: 'kcm-system',
            readinessRule:
              'has(self.status) && has(self.status.availableReplicas) && self.status.availableReplicas >= 1',
          },
          provisioner: [],
          provisionerCRDs: [
            { group: 'helm.toolkit.fluxcd.io', version: 'v2', resources: ['helmreleases'] },
            { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', resources: ['kustomizations'] },
          ],
          selector: { matchLabels: { 'ksm.k0rdent.mirantis.com/adapter': 'ksm-flux' } },
          suspend: false,
        },
      })
      .catch(ignoreConflict);
    if (kcm) {
      // kcm owns the SMP's status: it checks the adapter object and the readiness rule.
      await step(
        pollFor(
          'StateManagementProvider ksm-flux ready (kcm)',
          async () => (await kube.get<{ status?: { ready?: boolean } }>(paths.smp('ksm-flux')))?.status?.ready === true,
          120_000,
          500,
        ),
      );
    } else {
      // No kcm runs: we play its SMP controller.
      await kube.mergePatch(`${paths.smp('ksm-flux')}/status`, { status: { ready: true } });
    }

    say(kcm ? 'creating ServiceTemplates (kcm validates them)…' : 'creating ServiceTemplates…');
    if (kcm) {
      const repo: HelmRepoServer = await startHelmRepo(path.join(dir, 'helm-repo'));
      stops.push(() => repo.close());
      for (const v of ['1.0.0', '1.1.0']) await repo.publish(path.join(demoDir, 'charts', 'hello'), v);
      const git: GitServer = await startGitServer(path.join(dir, 'git'));
      stops.push(() => git.close());
      const gitUrl = await git.createRepo('platform', path.join(demoDir, 'manifests'));
      await step(createKcmTemplates(kube, NS, { repoUrl: repo.url, gitUrl }));
    } else if (flux) {
      const repo: HelmRepoServer = await startHelmRepo(path.join(dir, 'helm-repo'));
      stops.push(() => repo.close());
      for (const v of ['1.0.0', '1.1.0']) await repo.publish(path.join(demoDir, 'charts', 'hello'), v);
      await createHelmRepository(kube, NS, 'demo-charts', repo.url).catch(ignoreConflict);
      const git: GitServer = await startGitServer(path.join(dir, 'git'));
      stops.push(() => git.close());
      const url = await git.createRepo('platform', path.join(demoDir, 'manifests'));
      await createGitRepository(kube, NS, 'platform', url).catch(ignoreConflict);
      await step(
        Promise.all([
          createChartTemplate(kube, NS, {
            name: 'hello-1-0-0',
            chart: 'hello',
            version: '1.0.0',
            repository: 'demo-charts',
          }),
          createChartTemplate(kube, NS, {
            name: 'hello-1-1-0',
            chart: 'hello',
            version: '1.1.0',
            repository: 'demo-charts',
          }),
          createKustomizeTemplate(kube, NS, { name: 'platform-config', gitRepository: 'platform', path: './' }),
        ]),
      );
    } else {
      // Without Flux nothing serves the sources: templates as kcm leaves them, HelmReleases stay Provisioning.
      for (const [name, version] of [
        ['hello-1-0-0', '1.0.0'],
        ['hello-1-1-0', '1.1.0'],
      ] as const) {
        await kube
          .create(paths.serviceTemplates(NS), {
            apiVersion: K0RDENT_API_VERSION,
            kind: 'ServiceTemplate',
            metadata: { name, namespace: NS },
            spec: {
              helm: {
                chartSpec: {
                  chart: 'hello',
                  version,
                  interval: '10m',
                  sourceRef: { kind: 'HelmRepository', name: 'demo-charts' },
                },
              },
            },
          })
          .catch(ignoreConflict);
        await kube.mergePatch(`${paths.serviceTemplate(NS, name)}/status`, {
          status: { valid: true, chartRef: { kind: 'HelmChart', name, namespace: NS }, chartVersion: version },
        });
      }
      await kube
        .create(paths.serviceTemplates(NS), {
          apiVersion: K0RDENT_API_VERSION,
          kind: 'ServiceTemplate',
          metadata: { name: 'platform-config', namespace: NS },
          spec: {
            kustomize: {
              deploymentType: 'Remote',
              localSourceRef: { kind: 'GitRepository', name: 'platform' },
              path: './',
            },
          },
        })
        .catch(ignoreConflict);
      await kube.mergePatch(`${paths.serviceTemplate(NS, 'platform-config')}/status`, {
        status: { valid: true, sourceStatus: { kind: 'GitRepository', name: 'platform', namespace: NS } },
      });
    }

    say('starting ksm-flux (watcher and worker)…');
    const logFile = path.join(dir, 'logs', 'ksm-flux.log');
    const logStream = fs.createWriteStream(logFile, { flags: 'a' });
    stops.push(async () => void logStream.end());
    const cfg = loadConfig(
      {
        kubeconfig: state.kubeconfig,
        'temporal-address': state.temporalAddress,
        'temporal-namespace': state.temporalNamespace,
        'log-level': 'info',
        'active-poll-min': '1s',
      },
      {},
    );
    adapter = await startAdapter(
      'run',
      cfg,
      pino({ name: 'ksm-flux', level: 'info', timestamp: pino.stdTimeFunctions.isoTime }, logStream),
    );
    stops.push(() => adapter!.stop());

    const uids: Record<string, string> = {};
    if (kcm) {
      say('creating a ClusterDeployment and a MultiClusterService; kcm turns them into ServiceSets…');
      await createKcmSamples(kube, NS, { cluster: CLUSTER, provider: 'ksm-flux' });
      say('waiting for Flux to install on the workload cluster (kcm reports it in the ClusterDeployment)…');
      await step(
        pollFor('ClusterDeployment services deployed', () => kcmSamplesSettled(kube, NS, CLUSTER), 300_000, 1000).catch(
          (e: Error) => {
            if (e.message === 'interrupted') throw e;
            say(`still waiting (${e.message.slice(0, 200)}); carrying on`);
          },
        ),
      );
      const cdSet = await kube.get(paths.serviceSet(NS, CLUSTER));
      if (cdSet?.metadata.uid) uids[CLUSTER] = cdSet.metadata.uid;
    } else {
      say('creating ServiceSets…');
      for (const s of samples) {
        const o = await kube
          .create(paths.serviceSets(NS), {
            apiVersion: K0RDENT_API_VERSION,
            kind: 'ServiceSet',
            metadata: { name: s.name, namespace: NS, labels: { 'ksm.k0rdent.mirantis.com/adapter': 'ksm-flux' } },
            spec: {
              cluster: CLUSTER,
              provider: { name: 'ksm-flux', config: { interval: '1m' } },
              services: s.services,
            },
          })
          .catch(async (e: unknown) => {
            ignoreConflict(e);
            return (await kube.get(paths.serviceSet(NS, s.name)))!;
          });
        uids[s.name] = o.metadata.uid!;
      }
      say(flux ? 'waiting for Flux to install on the workload cluster…' : 'waiting for the first status…');
      await step(
        pollFor(
          'ServiceSet status',
          async () => {
            const list = (await kube.list(paths.serviceSets(NS))).items as {
              metadata: { name: string };
              status?: { deployed?: boolean; services?: { state: string }[] };
            }[];
            const a = list.find((o) => o.metadata.name === 'workload-a');
            return flux ? a?.status?.deployed === true : !!a?.status?.services?.length;
          },
          flux ? 300_000 : 60_000,
          1000,
        ).catch((e: Error) => {
          if (e.message === 'interrupted') throw e;
          say(`still waiting (${e.message}); carrying on`);
        }),
      );
    }
    const kubectl = toolPaths().kubectl;
    const targetKubeconfig = path.join(dir, `${CLUSTER}-kubeconfig`);
    fs.writeFileSync(targetKubeconfig, target.kubeconfig, { mode: 0o600 });
    // The ServiceSet the guide points at: the ClusterDeployment's (kcm names it after the cluster), or workload-a.
    const featured = kcm ? CLUSTER : 'workload-a';
    const ui = `${state.temporalUiUrl}/namespaces/${state.temporalNamespace}/workflows/${encodeURIComponent(workflowIdFor(uids[featured] ?? ''))}`;
    const table = (await kube.list(paths.serviceSets(NS))).items.map((o) => {
      const st = (
        o as {
          status?: {
            deployed?: boolean;
            services?: { namespace: string; name: string; state: string; version?: string; failureMessage?: string }[];
          };
        }
      ).status;
      const svcs = (st?.services ?? [])
        .map(
          (e) =>
            `${e.namespace}/${e.name}=${e.state}${e.version ? `@${e.version}` : ''}${e.failureMessage ? ` (${e.failureMessage.slice(0, 80)})` : ''}`,
        )
        .join(', ');
      return `  ${o.metadata.name.padEnd(12)} deployed=${st?.deployed ?? false}  ${svcs}`;
    });
    const what = kcm
      ? ' with the real Flux controllers and kcm'
      : flux
        ? ' with the real Flux controllers'
        : ' (no Flux controllers: HelmReleases are created but nothing installs them)';
    out(
      [
        '',
        `ksm-flux demo is running${what}.`,
        '',
        ...(kcm ? await kcmSummary(kube, NS, CLUSTER) : ['ServiceSets in namespace demo:', ...table]),
        '',
        'Look at it with kubectl:',
        `  export KUBECONFIG=${state.kubeconfig}`,
        `  alias kubectl=${kubectl}`,
        ...(kcm
          ? [
              '  kubectl get clusterdeployments -n demo; kubectl get multiclusterservices',
              `  kubectl get clusterdeployment -n demo ${CLUSTER} -o jsonpath='{.status.services}'`,
              '  kubectl get servicesets -n demo   # what kcm wrote for ksm-flux',
            ]
          : ['  kubectl get servicesets -n demo']),
        '  kubectl get helmreleases,kustomizations -n demo',
        `  kubectl describe serviceset -n demo ${featured}`,
        '  kubectl get events -n demo --sort-by=.metadata.creationTimestamp',
        `  kubectl --kubeconfig ${targetKubeconfig} get configmaps,services -A   # the workload cluster`,
        ...(kcm ? [`  kcm's log: ${path.join(dir, 'logs', 'kcm-manager.log')}`] : []),
        '',
        'Ask ksm-flux:',
        `  set -a && . ${path.join(dir, 'env')} && set +a`,
        `  npx ksm-flux status demo/${featured}`,
        `  npx ksm-flux retry demo/${kcm ? CLUSTER : 'workload-c'}`,
        '  npx ksm-flux doctor --smp ksm-flux',
        '',
        `Temporal Web UI of ${featured}'s workflow: ${ui}`,
        `ksm-flux logs: ${logFile}`,
        '',
        'Press Ctrl-C to stop everything.',
      ].join('\n'),
    );
    await Promise.race([interruption, ...(opts.until ? [opts.until] : [])]);
    say('stopping…');
    return 0;
  } catch (e) {
    if ((e as Error).message !== 'interrupted') throw e;
    say('interrupted while starting; stopping…');
    return 130;
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    say('stopped everything');
  }
}
