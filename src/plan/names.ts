// Names of the Flux objects we produce: ≤ 63 characters (Flux stamps them into label values),
// stable, and shortened with a hash of the full name when too long.
import crypto from 'node:crypto';
import { MAX_NAME } from '../workflow/constants';

export function shortHash(s: string, n = 10): string {
  return crypto.createHash('sha256').update(s).digest('hex').slice(0, n);
}

/** Shortens to max characters: a readable prefix, "-", and a hash of the whole name. */
export function shortenName(full: string, max = MAX_NAME): string {
  if (full.length <= max) return full;
  const h = shortHash(full);
  const prefix = full.slice(0, max - h.length - 1).replace(/[-.]+$/, '');
  return `${prefix}-${h}`;
}

/** The HelmRelease/Kustomization for one service of a ServiceSet. */
/**
 * The HelmRelease/Kustomization for one service of a ServiceSet: readable (`<serviceset>-<service>`) and
 * unique, since "-" may occur inside names too: a hash of the exact (ServiceSet, namespace, name) ends it.
 */
export function fluxObjectName(serviceSet: string, serviceNamespace: string, serviceName: string): string {
  const h = shortHash(`${serviceSet}|${serviceNamespace}|${serviceName}`, 8);
  const readable = `${serviceSet}-${serviceName}`.slice(0, MAX_NAME - h.length - 1).replace(/[-.]+$/, '');
  return `${readable}-${h}`;
}

/** Identifies "the same release on the same cluster" across ServiceSets. */
export function targetKey(ssNamespace: string, cluster: string, selfManagement: boolean): string {
  return selfManagement ? 'management' : `${ssNamespace}/${cluster}`;
}

export function releaseKey(target: string, releaseNamespace: string, releaseName: string): string {
  return shortHash(`${target}|${releaseNamespace}|${releaseName}`, 20);
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A name most Kubernetes objects may have (DNS-1123 subdomain, at most 253 characters): what a reference to a
 * ServiceTemplate, Secret or ConfigMap must be. Anything else ("..", "ns/name", "a%2Fb") names no object, and
 * must not reach a request path.
 */
export function isObjectName(s: string): boolean {
  return s.length > 0 && s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}

/** A namespace name (DNS-1123 label, at most 63 characters). */
export function isNamespaceName(s: string): boolean {
  return s.length > 0 && s.length <= 63 && DNS1123_LABEL.test(s);
}
