// Runs the adapter in-process exactly as `ksm-flux run` does, with fast timings and a unique identity.
import { startAdapter, type AdapterHandle } from '../../src/commands/adapter';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/log';
import {
  createHelmTemplate,
  createKubeconfigSecret,
  createKustomizeTemplate,
  createNamespace,
  createSmp,
  testEnv,
  uniqueName,
} from './env';

export interface TestAdapter extends AdapterHandle {
  cfg: Config;
}

export const fastFlags = {
  'quiescent-poll': '5s',
  'active-poll-min': '200ms',
  'active-poll-max': '2s',
  'flap-tolerance': '3s',
  'deletion-timeout': '6s',
  'finalizer-grace': '3s',
};

export function testConfig(flags: Record<string, string> = {}): Config {
  const env = testEnv();
  const id = uniqueName('ksmf');
  return loadConfig(
    {
      kubeconfig: env.kubeconfig,
      'temporal-address': env.temporalAddress,
      'temporal-namespace': env.temporalNamespace,
      'task-queue': `tq-${id}`,
      'adapter-name': id,
      'adapter-namespace': 'kcm-system',
      'lease-name': `lease-${id}`,
      'lease-duration': '3s',
      'log-level': process.env.LOG_LEVEL ?? 'warn',
      ...fastFlags,
      ...flags,
    },
    {},
  );
}

export async function startTestAdapter(
  flags: Record<string, string> = {},
  mode: 'run' | 'watcher' | 'worker' = 'run',
): Promise<TestAdapter> {
  const cfg = testConfig(flags);
  const h = await startAdapter(mode, cfg, createLogger(cfg.logLevel, 'ksm-flux-test'));
  return Object.assign(h, { cfg });
}

/**
 * The usual stage for a scenario: namespace NS, a ready StateManagementProvider naming the adapter with a
 * match-all selector, Helm and Kustomize ServiceTemplates, and kubeconfig Secrets. Returns the SMP name.
 */
export async function stage(
  adapter: TestAdapter,
  ns: string,
  o: { helm?: string[]; kustomize?: string[]; clusters?: string[] } = {},
): Promise<string> {
  const { kube } = testEnv();
  const smp = uniqueName('smp');
  await createNamespace(kube, ns);
  await createSmp(kube, {
    name: smp,
    adapterName: adapter.cfg.adapterName,
    adapterNamespace: adapter.cfg.adapterNamespace,
    selector: {},
  });
  for (const t of o.helm ?? []) await createHelmTemplate(kube, ns, t);
  for (const t of o.kustomize ?? []) await createKustomizeTemplate(kube, ns, t);
  for (const c of o.clusters ?? ['cluster1']) await createKubeconfigSecret(kube, ns, c);
  return smp;
}
