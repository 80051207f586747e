// A light PromQL plausibility check (the real parser is the end-to-end Prometheus): balanced
// brackets outside string literals, nothing left unsubstituted, and the metric names it uses.

const KEYWORDS = new Set([
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset',
  'bool', 'inf', 'nan', 'atan2',
]);

/** The expression with string literals blanked (quotes kept), so brackets inside them are ignored. */
function blankStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, (s) => `${s[0]}${' '.repeat(s.length - 2)}${s[0]}`);
}

/** Problems with the expression's shape; empty when plausible. */
export function shapeProblems(expr: string): string[] {
  const problems: string[] = [];
  if (expr.trim() === '') problems.push('empty expression');
  if (/<<|>>|\$\{|\{\{/.test(expr)) problems.push('unsubstituted template text');
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', '}': '{', ']': '[' };
  for (const ch of blankStrings(expr)) {
    if (ch === '(' || ch === '{' || ch === '[') stack.push(ch);
    else if (ch in pairs) {
      if (stack.pop() !== pairs[ch]) {
        problems.push(`unbalanced '${ch}'`);
        return problems;
      }
    }
  }
  if (stack.length > 0) problems.push(`unclosed '${stack.join('')}'`);
  if (/(["'])\s*$/.test(expr) && (expr.match(/"/g)?.length ?? 0) % 2 === 1) problems.push('unterminated string');
  return problems;
}

/** Metric names an expression selects (functions, keywords, label names and durations excluded). */
export function metricNames(expr: string): string[] {
  let s = blankStrings(expr);
  s = s.replace(/\{[^}]*\}/g, ' ');                                   // label matchers
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  s = s.replace(/\[[^\]]*\]/g, ' ');                                  // ranges
  s = s.replace(/\boffset\s+\S+/g, ' ');
  s = s.replace(/"\s*"/g, ' ');
  const names = new Set<string>();
  const re = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const name = m[0];
    const after = s.slice(m.index + name.length).trimStart();
    if (after.startsWith('(')) continue; // a function or aggregation
    if (KEYWORDS.has(name.toLowerCase())) continue;
    if (/^\d/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}
