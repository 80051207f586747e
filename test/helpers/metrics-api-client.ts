// A client that reads /api/v1/workload the way KEDA's metrics-api scaler does with
// aggregateFromKubeServiceEndpoints: one GET per endpoint behind the Service, the number at
// valueLocation (a dotted GJSON path) from each JSON answer, then average, sum, min or max across
// the endpoints. With metricType AverageValue the HPA then wants ceil(value / targetValue) replicas.
import { request } from 'node:http';

export type AggregationType = 'average' | 'sum' | 'min' | 'max';

/** The number at a dotted path (`metrics.gpu_utilization.sum`), as GJSON resolves a plain path. */
export function valueAt(doc: unknown, path: string): number {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') throw new Error(`valueLocation ${path}: nothing at "${part}"`);
    cur = (cur as Record<string, unknown>)[part];
  }
  if (typeof cur !== 'number') throw new Error(`valueLocation ${path}: not a number (${JSON.stringify(cur)})`);
  return cur;
}

function getJson(url: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') }));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

/** Fetches `path` from every endpoint (host:port) and aggregates the value at valueLocation; any non-200 answer is an error, as in KEDA. */
export async function metricsApiValue(endpoints: readonly string[], path: string, valueLocation: string, aggregationType: AggregationType): Promise<number> {
  const values: number[] = [];
  for (const ep of endpoints) {
    const r = await getJson(`http://${ep}${path}`);
    if (r.status !== 200) throw new Error(`${ep}${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    values.push(valueAt(r.body, valueLocation));
  }
  if (values.length === 0) return 0;
  switch (aggregationType) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
  }
}
