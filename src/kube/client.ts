// A small Kubernetes REST client over node:https with keep-alive: exact control of content types
// (server-side apply, merge and JSON patches), status codes and streaming watches. Credentials come
// from @kubernetes/client-node's KubeConfig (kubeconfig file or in-cluster service account).
import http from 'node:http';
import https from 'node:https';
import * as k8s from '@kubernetes/client-node';

export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
  get notFound() {
    return this.status === 404;
  }
  get conflict() {
    return this.status === 409;
  }
  /** Bad input the API server refused: retrying the same request cannot help. */
  get invalid() {
    return this.status === 422 || this.status === 400;
  }
  get forbidden() {
    return this.status === 403;
  }
}

// Content negotiation for metadata-only reads: the API server strips everything but metadata (a Secret's data
// never reaches us). Lists come back as PartialObjectMetadataList, watch events carry PartialObjectMetadata.
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA_OBJECT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface ListResult<T = KubeObject> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export interface RequestStats {
  requests: number;
  byVerb: Record<string, number>;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

const METHOD: Record<Exclude<Verb, 'watch'>, string> = {
  get: 'GET',
  list: 'GET',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
};

export interface RequestOptions {
  /** JSON-encoded unless a string. */
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
  accept?: string;
}

export class KubeClient {
  private agent: https.Agent | http.Agent | undefined;
  private opts: https.RequestOptions | undefined;
  private optsAt = 0;
  readonly server: string;
  /** Counts of requests by verb, for metrics and for the "quiescent means zero writes" tests. */
  readonly stats: RequestStats = { requests: 0, byVerb: {} };
  onRequest?: (verb: Verb, path: string, status: number) => void;

  constructor(readonly kc: k8s.KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
  }

  static fromDefault(kubeconfigPath?: string): KubeClient {
    const kc = new k8s.KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    return new KubeClient(kc);
  }

  /** TLS material and auth headers; refreshed every 30 s so rotated service-account tokens are picked up. */
  private async requestOptions(): Promise<https.RequestOptions> {
    if (this.opts && Date.now() - this.optsAt < 30_000) return this.opts;
    const o: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(o);
    const isHttps = this.server.startsWith('https:');
    if (!this.agent) {
      this.agent = isHttps
        ? new https.Agent({
            keepAlive: true,
            maxSockets: 64,
            ca: o.ca,
            cert: o.cert,
            key: o.key,
            rejectUnauthorized: o.rejectUnauthorized,
          })
        : new http.Agent({ keepAlive: true, maxSockets: 64 });
    }
    this.opts = {
      headers: { ...(o.headers as Record<string, string>) },
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      rejectUnauthorized: o.rejectUnauthorized,
    };
    this.optsAt = Date.now();
    return this.opts;
  }

  private count(verb: Verb) {
    this.stats.requests++;
    this.stats.byVerb[verb] = (this.stats.byVerb[verb] ?? 0) + 1;
  }

  /** One API request; the HTTP method follows from the verb. */
  async request<T = unknown>(verb: Exclude<Verb, 'watch'>, path: string, o: RequestOptions = {}): Promise<T> {
    const { body, contentType = 'application/json', timeoutMs = 30_000, accept = 'application/json' } = o;
    const method = METHOD[verb];
    const base = await this.requestOptions();
    const url = new URL(this.server + path);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    this.count(verb);
    return new Promise<T>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(
        url,
        {
          ...base,
          method,
          agent: this.agent,
          headers: {
            ...(base.headers as Record<string, string>),
            accept,
            ...(payload !== undefined
              ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            this.onRequest?.(verb, path, status);
            if (status >= 200 && status < 300) {
              try {
                resolve((text ? JSON.parse(text) : undefined) as T);
              } catch (e) {
                reject(e instanceof Error ? e : new Error(String(e)));
              }
              return;
            }
            let reason = '';
            let message = text.slice(0, 2000);
            try {
              const st = JSON.parse(text) as { reason?: string; message?: string };
              reason = st.reason ?? '';
              message = st.message ?? message;
            } catch {
              /* not a Status object */
            }
            reject(new KubeError(status, reason, `${method} ${path}: ${status} ${message}`, method, path));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  async get<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>('get', path);
    } catch (e) {
      if (e instanceof KubeError && e.notFound) return undefined;
      // A name no object can have (".", "..", "a%b"): the API server refuses the path; no such object exists.
      if (e instanceof KubeError && e.status === 400 && /Name parameter invalid/.test(e.message)) return undefined;
      throw e;
    }
  }

  /** Lists every page. `metadataOnly` asks for PartialObjectMetadata: names, labels, resourceVersion, no data. */
  async list<T = KubeObject>(
    path: string,
    labelSelector?: string,
    opts: { metadataOnly?: boolean } = {},
  ): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const q = new URLSearchParams();
      if (labelSelector) q.set('labelSelector', labelSelector);
      q.set('limit', '500');
      if (cont) q.set('continue', cont);
      const page = await this.request<ListResult<T>>('list', `${path}?${q}`, {
        accept: opts.metadataOnly ? METADATA_LIST : 'application/json',
      });
      items.push(...(page.items ?? [])); // an empty PartialObjectMetadataList has items: null
      rv = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { metadata: { resourceVersion: rv }, items };
  }

  /** Server-side apply as fieldManager, taking ownership of conflicting fields. */
  apply<T = KubeObject>(path: string, obj: unknown, fieldManager: string): Promise<T> {
    const q = new URLSearchParams({ fieldManager, force: 'true' });
    return this.request<T>('patch', `${path}?${q}`, { body: obj, contentType: 'application/apply-patch+yaml' });
  }

  mergePatch<T = KubeObject>(path: string, patch: unknown, fieldManager = 'ksm-flux'): Promise<T> {
    return this.request<T>('patch', `${path}?fieldManager=${encodeURIComponent(fieldManager)}`, {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  jsonPatch<T = KubeObject>(path: string, ops: unknown[], fieldManager = 'ksm-flux'): Promise<T> {
    return this.request<T>('patch', `${path}?fieldManager=${encodeURIComponent(fieldManager)}`, {
      body: ops,
      contentType: 'application/json-patch+json',
    });
  }

  create<T = KubeObject>(path: string, obj: unknown): Promise<T> {
    return this.request<T>('create', path, { body: obj });
  }

  update<T = KubeObject>(path: string, obj: unknown): Promise<T> {
    return this.request<T>('update', path, { body: obj });
  }

  /** Deletes; a missing object is not an error. */
  async delete(
    path: string,
    propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
  ): Promise<boolean> {
    try {
      await this.request('delete', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy } });
      return true;
    } catch (e) {
      if (e instanceof KubeError && e.notFound) return false;
      throw e;
    }
  }

  /**
   * Opens a watch stream; calls onEvent per event and resolves when the stream ends.
   * Rejects with KubeError(410) when the resourceVersion is too old.
   */
  async watch(
    path: string,
    params: {
      resourceVersion: string;
      labelSelector?: string;
      timeoutSeconds?: number;
      metadataOnly?: boolean;
      /** No response (headers, event or bookmark) for this long ends the stream; default timeoutSeconds + 30 s. */
      idleMs?: number;
    },
    onEvent: (type: string, obj: KubeObject) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const base = await this.requestOptions();
    const q = new URLSearchParams({
      watch: '1',
      allowWatchBookmarks: 'true',
      resourceVersion: params.resourceVersion,
      timeoutSeconds: String(params.timeoutSeconds ?? 300),
    });
    if (params.labelSelector) q.set('labelSelector', params.labelSelector);
    const url = new URL(`${this.server}${path}?${q}`);
    this.count('watch');
    await new Promise<void>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(
        url,
        {
          ...base,
          method: 'GET',
          agent: this.agent,
          headers: {
            ...(base.headers as Record<string, string>),
            accept: params.metadataOnly ? METADATA_OBJECT : 'application/json',
          },
        },
        (res) => {
          this.onRequest?.('watch', path, res.statusCode ?? 0);
          if ((res.statusCode ?? 0) >= 300) {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () =>
              reject(
                new KubeError(
                  res.statusCode ?? 0,
                  '',
                  `watch ${path}: ${res.statusCode} ${text.slice(0, 500)}`,
                  'GET',
                  path,
                ),
              ),
            );
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (!line) continue;
              try {
                const ev = JSON.parse(line) as {
                  type: string;
                  object: KubeObject & { code?: number; message?: string };
                };
                if (ev.type === 'ERROR') {
                  const code = ev.object.code ?? 500;
                  req.destroy();
                  reject(new KubeError(code, '', `watch ${path}: ${ev.object.message ?? 'error'}`, 'GET', path));
                  return;
                }
                onEvent(ev.type, ev.object);
              } catch (e) {
                req.destroy();
                reject(e instanceof Error ? e : new Error(String(e)));
                return;
              }
            }
          });
          res.on('end', () => resolve());
          res.on('error', (e) => (timedOut || signal?.aborted ? resolve() : reject(e)));
          res.on('close', () => timedOut && resolve());
        },
      );
      // A watch has no request timeout, so a stream that went silent (a connection the apiserver dropped without a
      // FIN, a restart that left the request unanswered) would hang its informer forever: the fault suite saw
      // ServiceSets created after an apiserver outage never handled. The server ends a healthy stream after
      // timeoutSeconds and sends bookmarks meanwhile; past that plus a margin, end it here so it is opened again.
      let idle: NodeJS.Timeout | undefined;
      let timedOut = false;
      const idleMs = params.idleMs ?? ((params.timeoutSeconds ?? 300) + 30) * 1000;
      const arm = () => {
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => {
          timedOut = true;
          req.destroy();
        }, idleMs);
        idle.unref();
      };
      arm();
      req.on('response', (res) => {
        arm();
        res.on('data', arm);
      });
      req.on('close', () => idle && clearTimeout(idle));
      req.on('error', (e) => (signal?.aborted || timedOut ? resolve() : reject(e)));
      if (signal) {
        if (signal.aborted) req.destroy();
        else signal.addEventListener('abort', () => req.destroy(), { once: true });
      }
      req.end();
    });
  }

  close(): void {
    this.agent?.destroy();
  }
}
