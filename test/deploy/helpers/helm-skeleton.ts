// What can be checked of a Helm chart without helm: the `.Values.*` paths templates use, and
// each template's YAML skeleton (template-only lines dropped, `{{ .Values.x }}` replaced by the
// default value, any other action by the word TEMPLATED). `range`/`with` blocks over a value that
// is empty by default are dropped, as Helm would; `if` blocks are always kept, so optional objects
// (ServiceMonitor, scaler, …) still show their shape.
import { parseYamlDocs } from './files.js';
import type { K8sObject } from './schema.js';

/** `.Values.a.b` paths used in a template (deduplicated, in order of appearance). */
export function valuesPaths(template: string): string[] {
  const paths = new Set<string>();
  for (const m of template.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) paths.add(m[1].slice(1));
  return [...paths];
}

export function lookup(values: unknown, path: string): { found: boolean; value: unknown } {
  let cur: unknown = values;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(key in (cur as object))) return { found: false, value: undefined };
    cur = (cur as Record<string, unknown>)[key];
  }
  return { found: true, value: cur };
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v as object).length === 0;
}

const ONLY_ACTIONS = /^\s*(\{\{.*?\}\}\s*)+$/;

/** The template as YAML objects, rendered with the chart's default values as far as is safe. */
export function skeleton(template: string, values: unknown, source: string): K8sObject[] {
  const lines: string[] = [];
  const blocks: boolean[] = []; // per open block: does its body render?
  for (const line of template.split('\n')) {
    if (ONLY_ACTIONS.test(line)) {
      const open = /^\s*\{\{-?\s*(if|with|range)\s+(.*?)\s*-?\}\}\s*$/.exec(line);
      const values_ = /^\.Values\.([A-Za-z0-9_.]+)$/.exec(open?.[2] ?? '');
      if (open) blocks.push(open[1] === 'if' || !values_ || !isEmpty(lookup(values, values_[1]).value));
      else if (/^\s*\{\{-?\s*end\s*-?\}\}\s*$/.test(line)) blocks.pop();
      continue;
    }
    if (blocks.includes(false)) continue;
    lines.push(line.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_all, inner: string) => {
      const m = /^\.Values\.([A-Za-z0-9_.]+)(\s*\|\s*quote)?$/.exec(inner);
      if (m) {
        const { found, value } = lookup(values, m[1]);
        if (found && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
          return m[2] ? JSON.stringify(String(value)) : String(value);
        }
      }
      return 'TEMPLATED';
    }));
  }
  return parseYamlDocs(lines.join('\n'), source);
}
