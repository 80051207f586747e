// A small flag engine shared by the exporter and the scaler: Go-style flags (`-name` and `--name`
// are the same), `--flag value` and `--flag=value`, booleans as `--flag` or `--flag=true|false`,
// each flag optionally backed by an environment variable that applies when the flag is absent.
import { ConfigError } from './errors.js';

export interface FlagSpec {
  /** canonical long name first, then aliases (`['address', 'a']`) */
  names: readonly string[];
  kind: 'string' | 'bool';
  env?: string;
  /** the default, as shown by --help */
  defaultText: string;
  help: string;
  /** accepted for compatibility but not used: this text is the one warning it produces */
  ignored?: string;
  /**
   * dcgm-exporter's flag, not implemented here, and ignoring it would change the served data or
   * security: giving it (or its env var, with a value that turns it on) is a startup error with
   * this text as the reason and the fix.
   */
  unsupported?: string;
}

export interface RawValue {
  /** the text given (booleans: "true"/"false" after parsing) */
  value: string;
  /** how to name the source in an error: `--collect-interval` or `DCGM_EXPORTER_INTERVAL` */
  label: string;
}

export interface ParsedFlags {
  /** canonical name → value, flags beating env */
  values: Map<string, RawValue>;
  warnings: string[];
  positionals: string[];
}

const BOOL_TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const BOOL_FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

export function parseBool(text: string, label: string): boolean {
  if (BOOL_TRUE.has(text)) return true;
  if (BOOL_FALSE.has(text)) return false;
  throw new ConfigError(`${label}: "${text}" is not a boolean (expected true or false)`);
}

export function flagLabel(spec: FlagSpec): string {
  return `--${spec.names[0]}`;
}

/** A flag that would change the served data or security if ignored: off (false, empty, `none`) is fine. */
function refuse(spec: FlagSpec, via: string, value: string): void {
  const off = spec.kind === 'bool' ? value === 'false' : value.trim() === '' || value.trim() === 'none';
  if (!off) throw new ConfigError(`${via} is not supported by nvml-exporter: ${spec.unsupported}`);
}

export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv, specs: readonly FlagSpec[], helpHint: string): ParsedFlags {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const values = new Map<string, RawValue>();
  const warned = new Set<string>();
  const warnings: string[] = [];
  const positionals: string[] = [];
  const warnIgnored = (spec: FlagSpec, via: string) => {
    const canon = spec.names[0]!;
    if (warned.has(canon)) return;
    warned.add(canon);
    warnings.push(`${via} is accepted for dcgm-exporter compatibility and ignored: ${spec.ignored}`);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (!spec) throw new ConfigError(`unknown flag ${eq === -1 ? arg : arg.slice(0, arg.indexOf('='))}; ${helpHint}`);
    const label = flagLabel(spec);
    let value: string;
    if (spec.kind === 'bool') {
      value = eq === -1 ? 'true' : String(parseBool(body.slice(eq + 1), label));
    } else if (eq !== -1) {
      value = body.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new ConfigError(`${label}: missing value; ${spec.help}`);
      value = argv[++i]!;
    }
    if (spec.unsupported) refuse(spec, label, value);
    if (spec.ignored) warnIgnored(spec, label);
    values.set(spec.names[0]!, { value, label });
  }

  for (const spec of specs) {
    const canon = spec.names[0]!;
    if (values.has(canon) || !spec.env) continue;
    const text = env[spec.env];
    if (text === undefined || text === '') continue;
    const value = spec.kind === 'bool' ? String(parseBool(text.trim(), spec.env)) : text;
    if (spec.unsupported) refuse(spec, `${spec.env} (${flagLabel(spec)})`, value);
    if (spec.ignored) {
      // an ignored boolean set to false changes nothing, so it earns no warning
      if (spec.kind === 'bool' && value === 'false') continue;
      warnIgnored(spec, `${spec.env} (${flagLabel(spec)})`);
    }
    values.set(canon, { value, label: spec.env });
  }
  return { values, warnings, positionals };
}

/** --help text: every flag with its aliases, env var and default. */
export function helpTable(specs: readonly FlagSpec[]): string {
  const lines: string[] = [];
  for (const s of specs) {
    const names = s.names.map((n, i) => (i === 0 || n.length > 1 && n !== 'rbmn' ? `--${n}` : `-${n}`));
    const head = `  ${names.join(', ')}${s.kind === 'string' ? ' VALUE' : ''}`;
    const meta = [s.env ? `env ${s.env}` : null, `default ${s.defaultText}`].filter(Boolean).join('; ');
    const text = s.unsupported ? `not supported (a startup error): ${s.unsupported}` : s.ignored ? `ignored: ${s.ignored}` : s.help;
    lines.push(head, `      ${text} (${meta})`);
  }
  return lines.join('\n');
}
