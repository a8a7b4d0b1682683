// valuesFrom as Sveltos reads it: every data key of the referenced ConfigMap or Secret (in the ServiceSet's
// namespace) is a values document, taken in key order. Flux reads one key per valuesFrom entry, so each key
// becomes its own entry; Flux itself reads the content, we use only the key names. Content is checked here
// (valid YAML mapping) so a bad key is a named error, not a failing release; a Secret's content is decoded
// for that check only and never leaves this module (messages name key and line, never content).
import type { KubeObject } from '../kube/client';
import { parseValuesCached } from './parseCache';
import type { ObjectReader } from './clusterObject';

/** Sveltos renders a referenced object's content as a template only when it carries this annotation. */
export const SVELTOS_TEMPLATE_ANNOTATION = 'projectsveltos.io/template';

const enc = encodeURIComponent;

export interface ValuesFromRef {
  kind: 'ConfigMap' | 'Secret';
  name: string;
}

export type ValuesFromSource =
  | { found: false; ref: ValuesFromRef }
  | {
      found: true;
      ref: ValuesFromRef;
      uid: string;
      resourceVersion: string;
      /** Data keys in Go's sort order (byte order), as Sveltos takes them. */
      keys: string[];
      /** Annotated as a Sveltos template: its content must be rendered before use. */
      template: boolean;
      /** Content by key: only for ConfigMaps (a Secret's content is never handed out). */
      content?: Record<string, string>;
      /** The first key whose content is not a YAML mapping, with the reason (no content quoted for Secrets). */
      invalid?: string;
    };

export function pathOf(namespace: string, ref: ValuesFromRef): string {
  return ref.kind === 'Secret'
    ? `/api/v1/namespaces/${enc(namespace)}/secrets/${enc(ref.name)}`
    : `/api/v1/namespaces/${enc(namespace)}/configmaps/${enc(ref.name)}`;
}

const byteOrder = (a: string, b: string) => Buffer.from(a).compare(Buffer.from(b));

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as text, or undefined when they are not valid UTF-8. */
function utf8(b: Buffer): string | undefined {
  try {
    return strictUtf8.decode(b);
  } catch {
    return undefined;
  }
}

export async function readValuesFrom(
  client: ObjectReader,
  namespace: string,
  ref: ValuesFromRef,
): Promise<ValuesFromSource> {
  const o = await client.get<KubeObject & { data?: Record<string, string> | null }>(pathOf(namespace, ref));
  if (!o) return { found: false, ref };
  const data = o.data ?? {};
  const keys = Object.keys(data).sort(byteOrder);
  const template = Object.prototype.hasOwnProperty.call(o.metadata.annotations ?? {}, SVELTOS_TEMPLATE_ANNOTATION);
  const secret = ref.kind === 'Secret';
  let invalid: string | undefined;
  // A templated ConfigMap is checked after rendering (its raw text need not be YAML).
  if (!(template && !secret)) {
    for (const k of keys) {
      const what = `${ref.kind} ${namespace}/${ref.name} key ${k}`;
      const text = secret ? utf8(Buffer.from(data[k] ?? '', 'base64')) : (data[k] ?? '');
      if (text === undefined) {
        // Binary content: Flux would hand Helm bytes that are no YAML document; say so instead of parsing noise.
        invalid = `${what}: not UTF-8 text (values must be a YAML document)`;
        break;
      }
      const r = parseValuesCached(text, { what, secret, keepValues: false });
      if (!r.ok) {
        invalid = r.message;
        break;
      }
    }
  }
  return {
    found: true,
    ref,
    uid: o.metadata.uid ?? '',
    resourceVersion: o.metadata.resourceVersion ?? '',
    keys,
    template,
    ...(secret ? {} : { content: { ...data } }),
    ...(invalid ? { invalid } : {}),
  };
}
