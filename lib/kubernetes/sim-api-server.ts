// A simulated Kubernetes API server: list and watch of pods, ConfigMaps and ResourceSlices over
// plain HTTP on 127.0.0.1, with resource versions, field selectors (spec.nodeName,
// metadata.name), pages (`limit`/`continue`), watch events and bookmarks, and the faults a real one
// shows: 410 Gone (a compacted history), slow answers, failing answers (any HTTP status), oversized
// answers, and restarts. Tests and the demo point the exporter at it with a kubeconfig file
// (--kubernetes-api-kubeconfig), the way one points kubectl at a cluster.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

export interface SimApiPod {
  namespace: string;
  name: string;
  /** default: a random UUID, kept across updates of the same pod */
  uid?: string;
  nodeName: string;
  labels?: Record<string, string>;
  /** the controller owner (ownerReferences[0] with controller: true) */
  owner?: { kind: string; name: string };
  phase?: string;
  containers?: { name: string; containerId?: string }[];
}

export interface SimApiConfigMap {
  namespace: string;
  name: string;
  data: Record<string, string>;
}

export interface SimApiResourceSlice {
  name: string;
  nodeName: string;
  driver: string;
  pool: string;
  /** device name → attributes (`uuid`, `type`, …, as strings) */
  devices: Record<string, Record<string, string>>;
}

/** How the server misbehaves; each applies to every request until changed. */
export interface SimApiBehaviour {
  /** answer every request with this HTTP status (and a Status body) */
  failStatus?: number;
  /** wait this long before answering (a slow server); Infinity never answers */
  delayMs?: number;
  /** a list answer padded past this many bytes (an oversized answer) */
  padListBytes?: number;
  /** send this many bytes of garbage instead of a watch event, once per watch */
  garbageWatch?: boolean;
}

export interface SimApiServer {
  readonly url: string;
  /** requests received, by kind */
  readonly requests: { list: number; watch: number; get: number };
  /** writes a kubeconfig naming this server; returns its path */
  writeKubeconfig(path: string): string;
  setPod(p: SimApiPod): void;
  deletePod(namespace: string, name: string): void;
  setConfigMap(c: SimApiConfigMap): void;
  deleteConfigMap(namespace: string, name: string): void;
  setResourceSlice(s: SimApiResourceSlice): void;
  setBehaviour(b: SimApiBehaviour): void;
  /** forgets the event history: a watch resuming from an older version gets 410 Gone */
  compact(): void;
  /** ends every open watch (the server closes them, as at its watch timeout) */
  endWatches(): void;
  /** closes every connection and stops listening for `downMs`, then listens again on the same port */
  restart(opts?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

type Kind = 'pods' | 'configmaps' | 'resourceslices';

interface Stored {
  kind: Kind;
  namespace: string;
  name: string;
  /** for field selectors */
  fields: Record<string, string>;
  obj: Record<string, unknown>;
}

interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  item: Stored;
}

interface Watcher {
  kind: Kind;
  namespace: string | null;
  selector: Record<string, string>;
  res: ServerResponse;
}

const key = (kind: Kind, ns: string, name: string) => `${kind}\0${ns}\0${name}`;

function podObject(p: SimApiPod, uid: string, rv: number): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid,
      resourceVersion: String(rv),
      labels: p.labels ?? {},
      annotations: { 'kubernetes.io/config.seen': '2026-12-01T00:00:00Z' },
      ownerReferences: p.owner ? [{ apiVersion: 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: randomUUID(), controller: true, blockOwnerDeletion: true }] : [],
    },
    spec: {
      nodeName: p.nodeName,
      containers: (p.containers ?? [{ name: 'main' }]).map((c) => ({ name: c.name, image: 'registry.example/app:1', resources: {} })),
    },
    status: {
      phase: p.phase ?? 'Running',
      containerStatuses: (p.containers ?? [{ name: 'main' }]).map((c) => ({
        name: c.name, ready: true, restartCount: 0, containerID: c.containerId ? `containerd://${c.containerId}` : undefined,
      })),
    },
  };
}

function parseSelector(s: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? '').split(',')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).replace(/=$/, '')] = part.slice(i + 1).replace(/^=/, '');
  }
  return out;
}

function matches(item: Stored, kind: Kind, ns: string | null, sel: Record<string, string>): boolean {
  if (item.kind !== kind || (ns !== null && item.namespace !== ns)) return false;
  for (const [k, v] of Object.entries(sel)) if (item.fields[k] !== v) return false;
  return true;
}

export async function startSimApiServer(init: { pods?: SimApiPod[]; configMaps?: SimApiConfigMap[]; resourceSlices?: SimApiResourceSlice[]; bookmarkMs?: number } = {}): Promise<SimApiServer> {
  let rv = 1;
  const store = new Map<string, Stored>();
  const uids = new Map<string, string>();
  let history: Event[] = [];
  let oldestRv = 1; // a watch from a version below this one gets 410
  const watchers = new Set<Watcher>();
  const sockets = new Set<Socket>();
  let behaviour: SimApiBehaviour = {};
  const requests = { list: 0, watch: 0, get: 0 };
  const timers = new Set<NodeJS.Timeout>();

  const send = (w: Watcher, type: string, object: unknown) => {
    w.res.write(`${JSON.stringify({ type, object })}\n`);
  };

  const put = (item: Stored, type: 'ADDED' | 'MODIFIED' | 'DELETED') => {
    rv++;
    (item.obj.metadata as Record<string, unknown>).resourceVersion = String(rv);
    const ev: Event = { rv, type, item };
    history.push(ev);
    if (history.length > 10_000) history = history.slice(-5_000);
    for (const w of watchers) if (matches(item, w.kind, w.namespace, w.selector)) send(w, type, item.obj);
  };

  const upsert = (item: Stored) => {
    const k = key(item.kind, item.namespace, item.name);
    const existed = store.has(k);
    store.set(k, item);
    put(item, existed ? 'MODIFIED' : 'ADDED');
  };
  const remove = (kind: Kind, ns: string, name: string) => {
    const k = key(kind, ns, name);
    const item = store.get(k);
    if (!item) return;
    store.delete(k);
    put(item, 'DELETED');
  };

  const api = {
    setPod(p: SimApiPod) {
      const k = key('pods', p.namespace, p.name);
      const uid = p.uid ?? uids.get(k) ?? randomUUID();
      uids.set(k, uid);
      upsert({ kind: 'pods', namespace: p.namespace, name: p.name, fields: { 'spec.nodeName': p.nodeName, 'metadata.name': p.name }, obj: podObject(p, uid, rv) });
    },
    deletePod: (ns: string, name: string) => remove('pods', ns, name),
    setConfigMap(c: SimApiConfigMap) {
      upsert({
        kind: 'configmaps', namespace: c.namespace, name: c.name, fields: { 'metadata.name': c.name },
        obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: c.name, namespace: c.namespace, resourceVersion: '' }, data: { ...c.data } },
      });
    },
    deleteConfigMap: (ns: string, name: string) => remove('configmaps', ns, name),
    setResourceSlice(s: SimApiResourceSlice) {
      upsert({
        kind: 'resourceslices', namespace: '', name: s.name, fields: { 'spec.nodeName': s.nodeName, 'spec.driver': s.driver, 'metadata.name': s.name },
        obj: {
          apiVersion: 'resource.k8s.io/v1', kind: 'ResourceSlice', metadata: { name: s.name, resourceVersion: '' },
          spec: {
            driver: s.driver, nodeName: s.nodeName, pool: { name: s.pool, generation: 1, resourceSliceCount: 1 },
            devices: Object.entries(s.devices).map(([name, attrs]) => ({
              name, attributes: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { string: v }])),
            })),
          },
        },
      });
    },
  };
  for (const p of init.pods ?? []) api.setPod(p);
  for (const c of init.configMaps ?? []) api.setConfigMap(c);
  for (const s of init.resourceSlices ?? []) api.setResourceSlice(s);

  const status = (res: ServerResponse, code: number, message: string, reason = 'Unknown') => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }));
  };

  const route = (path: string): { kind: Kind; namespace: string | null; name: string | null } | null => {
    let m = /^\/api\/v1\/pods$/.exec(path);
    if (m) return { kind: 'pods', namespace: null, name: null };
    m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path);
    if (m) return { kind: 'pods', namespace: m[1]!, name: null };
    m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(path);
    if (m) return { kind: 'configmaps', namespace: m[1]!, name: m[2] ?? null };
    m = /^\/apis\/resource\.k8s\.io\/v1\/resourceslices$/.exec(path);
    if (m) return { kind: 'resourceslices', namespace: null, name: null };
    return null;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const r = route(url.pathname);
    if (!r) return status(res, 404, `the server could not find the requested resource (${url.pathname})`, 'NotFound');
    if (behaviour.failStatus) return status(res, behaviour.failStatus, `simulated failure ${behaviour.failStatus}`);
    const selector = parseSelector(url.searchParams.get('fieldSelector'));
    if (r.name !== null) {
      requests.get++;
      const item = store.get(key(r.kind, r.namespace ?? '', r.name));
      if (!item) return status(res, 404, `${r.kind} "${r.name}" not found`, 'NotFound');
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(item.obj));
    }
    if (url.searchParams.get('watch') === 'true') {
      requests.watch++;
      const from = Number(url.searchParams.get('resourceVersion') ?? '0');
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      const w: Watcher = { kind: r.kind, namespace: r.namespace, selector, res };
      if (from > 0 && from < oldestRv) {
        send(w, 'ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${from} (${oldestRv})` });
        return res.end();
      }
      if (behaviour.garbageWatch) res.write('{"type": "ADDED", "object": {not json\n');
      for (const ev of history) if (ev.rv > from && matches(ev.item, r.kind, r.namespace, selector)) send(w, ev.type, ev.item.obj);
      watchers.add(w);
      res.on('close', () => watchers.delete(w));
      const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
      if (timeout > 0) {
        const t = setTimeout(() => res.end(), timeout * 1000);
        timers.add(t);
        res.on('close', () => (clearTimeout(t), timers.delete(t)));
      }
      return;
    }
    requests.list++;
    const all = [...store.values()].filter((i) => matches(i, r.kind, r.namespace, selector)).sort((a, b) => (a.namespace + a.name < b.namespace + b.name ? -1 : 1));
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const cont = url.searchParams.get('continue');
    let start = 0;
    let listRv = rv;
    if (cont) {
      const [crv, cstart] = cont.split(':').map(Number) as [number, number];
      if (crv < oldestRv) return status(res, 410, 'the provided continue parameter is too old', 'Expired');
      start = cstart;
      listRv = crv;
    }
    const page = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
    const next = limit > 0 && start + limit < all.length ? `${listRv}:${start + limit}` : undefined;
    const body: Record<string, unknown> = { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(listRv), ...(next ? { continue: next } : {}) }, items: page.map((i) => i.obj) };
    if (behaviour.padListBytes) body.padding = 'x'.repeat(behaviour.padListBytes);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server: Server = createServer((req, res) => {
    const d = behaviour.delayMs ?? 0;
    if (d === Infinity) return; // never answers
    if (d > 0) {
      const t = setTimeout(() => (timers.delete(t), handle(req, res)), d);
      timers.add(t);
    } else handle(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const bookmarks = setInterval(() => {
    for (const w of watchers) send(w, 'BOOKMARK', { kind: w.kind === 'pods' ? 'Pod' : 'Object', metadata: { resourceVersion: String(rv) } });
  }, init.bookmarkMs ?? 1000);
  bookmarks.unref();

  const closeAll = () => {
    for (const w of watchers) w.res.destroy();
    watchers.clear();
    for (const s of sockets) s.destroy();
  };

  return {
    url,
    requests,
    writeKubeconfig(path) {
      writeFileSync(path, [
        'apiVersion: v1', 'kind: Config', 'current-context: sim',
        // plain HTTP on loopback: the client accepts an http:// server only with this flag set
        'clusters:', '- name: sim', '  cluster:', `    server: ${url}`, '    insecure-skip-tls-verify: true',
        'contexts:', '- name: sim', '  context:', '    cluster: sim', '    user: sim',
        'users:', '- name: sim', '  user:', '    token: sim-token', '',
      ].join('\n'));
      return path;
    },
    ...api,
    setBehaviour(b) {
      behaviour = { ...b };
    },
    compact() {
      oldestRv = rv + 1;
      history = [];
    },
    endWatches() {
      for (const w of watchers) w.res.end();
      watchers.clear();
    },
    async restart(opts = {}) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        closeAll();
      });
      await new Promise((r) => setTimeout(r, opts.downMs ?? 0));
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async stop() {
      clearInterval(bookmarks);
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        closeAll();
      });
    },
  };
}

/**
 * The demo's pods as the API server knows them: the simulated kubelet's pods (their names come from
 * a Deployment's ReplicaSet), with the labels a Deployment gives them, on `nodeName`.
 */
export function demoApiPods(pods: readonly { namespace: string; name: string; containers: readonly { name: string }[] }[], nodeName: string): SimApiPod[] {
  return pods.map((p) => {
    const rs = p.name.replace(/-[^-]+$/, '');
    const hash = rs.slice(rs.lastIndexOf('-') + 1);
    const app = rs.slice(0, rs.lastIndexOf('-'));
    return {
      namespace: p.namespace,
      name: p.name,
      nodeName,
      labels: { app, 'app.kubernetes.io/part-of': 'gpu-demo', team: 'ml-platform', 'pod-template-hash': hash },
      owner: { kind: 'ReplicaSet', name: rs },
      containers: p.containers.map((c) => ({ name: c.name })),
    };
  });
}
