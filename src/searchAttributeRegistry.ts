// Makes sure the Temporal namespace knows ksm-flux's search attributes (src/workflow/searchAttributes) before the
// watcher starts workflows with them and the worker upserts them: a start or an upsert naming an unknown attribute
// is refused by the server, which would leave every ServiceSet workflow unable to start or stuck retrying its task.
// Registering is idempotent, so every watcher and worker does it at start; where the adapter's credentials may not
// use the operator API (Temporal Cloud), an operator registers them once and the adapter only checks.
import type { Client } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { SEARCH_ATTRIBUTES } from './workflow/searchAttributes';
import type { Logger } from './log';

const ALREADY_EXISTS = 6;
const PERMISSION_DENIED = 7;
const UNIMPLEMENTED = 12;

/** The command an operator runs to register them by hand. */
export function registrationCommands(namespace: string): string {
  return SEARCH_ATTRIBUTES.map(
    (a) =>
      `temporal operator search-attribute create --namespace ${namespace} --name ${a.key.name} --type ${a.cliType}`,
  ).join('\n');
}

async function registered(client: Client, namespace: string): Promise<Record<string, number>> {
  const r = await client.connection.operatorService.listSearchAttributes({ namespace });
  return Object.fromEntries(Object.entries(r.customAttributes ?? {}).map(([k, v]) => [k, Number(v)]));
}

/**
 * Registers the missing attributes and waits until the server lists them. Throws, naming the commands to run,
 * when one has another type or they cannot be registered. When the server does not let us even list them, we
 * cannot tell: say so and go on (an operator may have registered them).
 */
export async function ensureSearchAttributes(
  client: Client,
  namespace: string,
  log: Logger,
  o: { timeoutMs?: number } = {},
): Promise<'present' | 'registered' | 'unknown'> {
  const want = SEARCH_ATTRIBUTES.map((a) => ({
    name: a.key.name,
    cliType: a.cliType,
    type: Number(encodeSearchAttributeIndexedValueType(a.key.type)),
  }));
  let have: Record<string, number>;
  try {
    have = await registered(client, namespace);
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code !== PERMISSION_DENIED && code !== UNIMPLEMENTED) throw e;
    log.warn(
      { namespace, error: (e as Error).message },
      'cannot list the Temporal search attributes; assuming they are registered (ksm-flux list and the Web UI filters need them)',
    );
    return 'unknown';
  }
  const wrong = want.filter((w) => have[w.name] !== undefined && have[w.name] !== w.type);
  if (wrong.length)
    throw new Error(
      `Temporal namespace ${namespace} has search attribute(s) ${wrong.map((w) => w.name).join(', ')} with another type than ksm-flux needs (${wrong.map((w) => `${w.name}=${w.cliType}`).join(', ')})`,
    );
  const missing = want.filter((w) => have[w.name] === undefined);
  if (!missing.length) return 'present';
  try {
    await client.connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((w) => [w.name, w.type])),
    });
  } catch (e) {
    // Another watcher or worker registered them at the same moment.
    if ((e as { code?: number }).code !== ALREADY_EXISTS)
      throw new Error(
        `Temporal namespace ${namespace} lacks the search attributes ${missing.map((w) => w.name).join(', ')} and ksm-flux could not register them (${(e as Error).message}). Register them once with:\n${registrationCommands(namespace)}`,
      );
  }
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  for (;;) {
    const now = await registered(client, namespace);
    if (missing.every((w) => now[w.name] === w.type)) break;
    if (Date.now() > deadline)
      throw new Error(`Temporal namespace ${namespace}: search attributes registered but not listed after 30 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
  log.info({ namespace, attributes: missing.map((w) => w.name) }, 'registered Temporal search attributes');
  return 'registered';
}
