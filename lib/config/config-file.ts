// --config-file (DCGM_EXPORTER_CONFIG_FILE): a YAML file with settings that flags and environment
// variables override. The keys are dcgm-exporter's configuration keys that mean something without
// DCGM, plus `flags` (any flag of ours by its long name) for everything else:
//
//   version: 1
//   metrics:
//     file: /etc/dcgm-exporter/dcp-metrics-included.csv   # or:
//     fields:                                              # inline counters rows
//       - { name: DCGM_FI_DEV_GPU_UTIL, type: gauge, help: GPU utilization (in %). }
//   collection:
//     interval: 1000          # ms, like -c
//   flags:
//     kubernetes: true
//     naming-profile: "4.10"
//
// An unknown key, a wrong type or an unreadable file is a startup error naming the file and the key.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ConfigError } from '../contract/errors.js';
import type { FlagSpec, RawValue } from './argv.js';

const MAX_BYTES = 1024 * 1024;

export interface ConfigFileValues {
  /** flag long name → value, for flags the file sets */
  values: Map<string, RawValue>;
  /** metrics.fields as counters CSV text, or null */
  countersInline: string | null;
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function readConfigFile(path: string, specs: readonly FlagSpec[]): ConfigFileValues {
  const fail = (what: string): never => {
    throw new ConfigError(`--config-file ${path}: ${what}`);
  };
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) fail('not a regular file');
    if (st.size > MAX_BYTES) fail(`${st.size} bytes; a configuration file is at most ${MAX_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? (err as Error).message})`);
  }
  let doc: unknown;
  try {
    // the YAML parser is loaded only when a config file is given (the default start does not need it)
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    doc = parse(text, { maxAliasCount: 100 });
  } catch (err) {
    return fail(`not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return { values: new Map(), countersInline: null };
  const obj = (v: unknown, where: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${where} must be a mapping`);
    return v as Record<string, unknown>;
  };
  const only = (o: Record<string, unknown>, where: string, keys: string[]) => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`unknown key ${where}${k} (known: ${keys.join(', ')})`);
  };
  const top = obj(doc, 'the file');
  only(top, '', ['version', 'metrics', 'collection', 'flags']);
  if (top.version !== undefined && top.version !== 1 && top.version !== 2) fail(`version ${JSON.stringify(top.version)} is not supported (1 or 2)`);
  const values = new Map<string, RawValue>();
  const scalar = (v: unknown, where: string): string => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    return fail(`${where} must be a string, number or boolean`);
  };
  let countersInline: string | null = null;
  if (top.metrics !== undefined) {
    const m = obj(top.metrics, 'metrics');
    only(m, 'metrics.', ['file', 'fields']);
    if (m.file !== undefined && m.fields !== undefined) fail('metrics.file and metrics.fields are both set; give one of them');
    if (m.file !== undefined) values.set('collectors', { value: scalar(m.file, 'metrics.file'), label: `${path} metrics.file` });
    if (m.fields !== undefined) {
      if (!Array.isArray(m.fields)) fail('metrics.fields must be a list of { name, type, help }');
      const rows = (m.fields as unknown[]).map((f, i) => {
        const r = obj(f, `metrics.fields[${i}]`);
        only(r, `metrics.fields[${i}].`, ['name', 'type', 'help']);
        return [r.name, r.type ?? 'gauge', r.help ?? ''].map((x, k) => csvField(scalar(x, `metrics.fields[${i}].${['name', 'type', 'help'][k]}`))).join(', ');
      });
      countersInline = rows.join('\n') + '\n';
    }
  }
  if (top.collection !== undefined) {
    const c = obj(top.collection, 'collection');
    only(c, 'collection.', ['interval']);
    if (c.interval !== undefined) values.set('collect-interval', { value: scalar(c.interval, 'collection.interval'), label: `${path} collection.interval` });
  }
  if (top.flags !== undefined) {
    const f = obj(top.flags, 'flags');
    const byName = new Map<string, FlagSpec>();
    for (const s of specs) byName.set(s.names[0]!, s);
    for (const [k, v] of Object.entries(f)) {
      const spec = byName.get(k);
      if (!spec || k === 'config-file' || k === 'help' || k === 'version') fail(`unknown key flags.${k} (give a flag's long name, e.g. collect-interval)`);
      values.set(k, { value: scalar(v, `flags.${k}`), label: `${path} flags.${k}` });
    }
  }
  return { values, countersInline };
}
