// The test renderer of the Helm chart (helpers/helm-render.ts) against Go template, Sprig and
// Helm behaviour, and its refusal of everything it does not implement.
import t from 'tap';
import { parse } from 'yaml';
import { coalesce, renderTemplate, truth, TemplateError } from './helpers/helm-render.js';

t.test('errors are TemplateErrors', async (t) => {
  t.throws(() => renderTemplate('{{ nope }}', {}), TemplateError);
});

const r = (tpl: string, dot: unknown = {}, defines: Record<string, string> = {}) => renderTemplate(tpl, dot, defines);

t.test('trimming, comments, conditionals and Go template truth', async (t) => {
  t.equal(r('a  {{- "b" -}}  \n c'), 'abc');
  t.equal(r('a {{"b"}} c'), 'a b c', 'no trim without the dash');
  t.equal(r('x{{/* a comment */}}y'), 'xy');
  t.equal(r('x {{- /* trimmed comment */ -}} y'), 'xy');
  t.equal(r('{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}', { b: 'x' }), 'B');
  for (const v of [false, 0, '', null, [], {}]) t.equal(truth(v), false, `${JSON.stringify(v)} is false`);
  for (const v of [true, 1, 'x', [0], { a: 0 }]) t.equal(truth(v), true, `${JSON.stringify(v)} is true`);
  t.equal(r('{{ with .m }}{{ .a }}{{ else }}none{{ end }}', { m: {} }), 'none');
  t.equal(r('{{ and .a .b }}|{{ or .a .b }}', { a: 1, b: 0 }), '0|1', 'and/or return an operand, as Go does');
  t.equal(r('{{ if and .m .m.x }}y{{ end }}', {}), '', 'and stops at the first false operand (no nil dereference)');
});

t.test('range over lists and maps, variables and their scope', async (t) => {
  t.equal(r('{{ range .l }}[{{ . }}]{{ end }}', { l: ['a', 'b'] }), '[a][b]');
  t.equal(r('{{ range $i, $v := .l }}{{ $i }}={{ $v }} {{ end }}', { l: ['a', 'b'] }), '0=a 1=b ');
  t.equal(r('{{ range $k, $v := .m }}{{ $k }}={{ $v }} {{ end }}', { m: { z: 1, a: 2 } }), 'a=2 z=1 ', 'map keys sorted');
  t.equal(r('{{ range .l }}x{{ else }}empty{{ end }}', { l: [] }), 'empty');
  t.equal(r('{{ $f := false }}{{ range .l }}{{ if eq . "b" }}{{ $f = true }}{{ end }}{{ end }}{{ $f }}', { l: ['a', 'b'] }), 'true',
    '= assigns the outer variable');
  t.equal(r('{{ range .l }}{{ $.top }}{{ end }}', { l: [1, 2], top: 'T' }), 'TT', '$ is the root inside range');
  t.throws(() => r('{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}'), /undefined variable \$x/, 'a variable ends with its block');
});

t.test('Sprig and Helm functions as the chart uses them', async (t) => {
  t.equal(r('{{ .a | default "d" }}|{{ .b | default "d" }}|{{ .c | default "d" }}', { b: 'B', c: 0 }), 'd|B|d', 'default treats 0 as empty');
  t.equal(r('{{ "a b" | quote }} {{ .n | quote }} {{ .missing | quote }}', { n: 9400 }), '"a b" "9400" ');
  t.equal(r('{{ printf "%s-%s" "a" "b" }} {{ printf "%v" .n }} {{ printf "%d" .n }}', { n: 7 }), 'a-b 7 %!d(float64=7)',
    'values are float64 in Helm: %d of one is an error text');
  t.equal(r('{{ .big }} {{ .small }}', { big: 1000000, small: 9400 }), '1e+06 9400', 'fmt %v of a float64');
  t.equal(r('{{ "abcdef" | trunc 3 }} {{ "name-" | trimSuffix "-" }} {{ "u:h" | trimPrefix "u:" }}'), 'abc name h');
  t.equal(r('{{ join "," .l }}', { l: ['^a$', '^b$'] }), '^a$,^b$');
  t.equal(r('{{ ternary "HTTPS" "HTTP" .tls }}', { tls: true }), 'HTTPS');
  t.equal(r('{{ contains "exp" "nvml-exporter" }}'), 'true');
  t.equal(r('x:{{ toYaml .m | nindent 2 }}', { m: { b: [1, 2], a: 'x' } }), 'x:\n  a: x\n  b:\n  - 1\n  - 2', 'toYaml: sorted keys, go-yaml list style');
  t.equal(r('{{ toYaml .m }}', { m: {} }), '{}');
  t.equal(r('{{ `a\nb` | indent 2 }}'), '  a\n  b', 'a raw string may hold a newline');
  t.throws(() => r('{{ "a\nb" }}'), /string literal/, 'an interpreted one may not');
  t.equal(r('{{ "x" | sha256sum }}'), '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
  t.equal(r('{{ $d := deepCopy .m }}{{ $_ := set $d "a" 2 }}{{ $d.a }}{{ .m.a }}', { m: { a: 1 } }), '21', 'deepCopy, then set the copy');
  t.equal(r('{{ include "x" .v }}', { v: 'V' }, { helpers: '{{- define "x" -}}[{{ . }}]{{- end }}' }), '[V]');
  t.equal(r('{{ .Files.Get "f" }}', { Files: { Get: (p: string) => `file ${p}` } }), 'file f', 'a context method with its argument');
  t.throws(() => r('{{ required "need it" .x }}'), /need it/);
  t.match(r('{{ htpasswd "u" "p" }}'), /^u:\$2a\$10\$/, 'htpasswd: user, colon, a bcrypt-shaped marker');
  t.match(r('{{ (genCA "ca" 365).Cert }}'), /^-----BEGIN CERTIFICATE-----\n/);
});

t.test('what the renderer does not implement is an error, never output', async (t) => {
  for (const [tpl, why] of [
    ['{{ block "b" . }}x{{ end }}', /block.*not supported/],
    ['{{ template "x" . }}', /template.*not supported/],
    ['{{ range .l }}{{ break }}{{ end }}', /break.*not supported/],
    ['{{ tpl "x" . }}', /function "tpl" not defined/],
    ['{{ lookup "v1" "Secret" "ns" "n" }}', /function "lookup" not defined/],
    ['{{ .a 1 }}', /not a function/],
    ['{{ .missing.field }}', /nil pointer evaluating/],
    ['{{ $undefined }}', /undefined variable/],
    ['{{ if .a }}open', /missing \{\{end\}\}/],
    ['{{ end }}', /unexpected \{\{end\}\}/],
    ['{{ printf "%5s" "x" }}', /flags/],
    ['{{ "unclosed }}', /unclosed/],
  ] as const) {
    t.throws(() => r(tpl, { l: [1] }), why, tpl);
  }
});

t.test('values coalescing: maps merged into the defaults, lists replaced, null deletes', async (t) => {
  const defaults = parse('a: {x: 1, y: [1, 2], z: {k: v}}\nb: keep\nc: gone');
  const user = parse('a: {y: [3], z: {k2: v2}}\nc: null\nd: new');
  t.same(coalesce(defaults, user), { a: { x: 1, y: [3], z: { k: 'v', k2: 'v2' } }, b: 'keep', d: 'new' });
  t.same(defaults, parse('a: {x: 1, y: [1, 2], z: {k: v}}\nb: keep\nc: gone'), 'the defaults are not changed');
});
