// The package root: the nearest folder at or above a path whose package.json is named
// `nvml-exporter`. Works from lib/ (tsx, tap) and from dist/lib/ (after tsc), so build outputs
// (build/Release), etc/ and proto/ are found the same way everywhere.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'nvml-exporter';
const here = dirname(fileURLToPath(import.meta.url));
let cached: { root: string; version: string } | null = null;

function find(from: string): { root: string; version: string } {
  for (let dir = from; ; dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const pkg = JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === PACKAGE_NAME) return { root: dir, version: typeof pkg.version === 'string' ? pkg.version : '0.0.0' };
      } catch {
        // an unreadable package.json is not ours; keep walking up
      }
    }
    if (dirname(dir) === dir) {
      throw new Error(
        `cannot find the ${PACKAGE_NAME} package root above ${from}: no package.json named "${PACKAGE_NAME}"; ` +
          'run from an installed copy of the package',
      );
    }
  }
}

export function packageRoot(from?: string): string {
  if (from !== undefined) return find(from).root;
  return (cached ??= find(here)).root;
}

export function packageVersion(): string {
  return (cached ??= find(here)).version;
}
