// The only place that loads the native addon (build/Release/nvml_addon.node). Everything else in
// lib/ uses the typed API in ./index.ts.
import { createRequire } from 'node:module';
import { packageRoot } from '../package-root.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { XidEvent } from './types.js';

export interface RawOpenResult {
  /** 0 = opened and initialised; 12 with stage `dlopen`; the nvmlInit code with stage `init` */
  code: number;
  stage: 'ok' | 'dlopen' | 'init';
  /** dlerror() text, or nvmlErrorString() of the init code */
  detail: string;
  /** the file the dynamic loader opened */
  path?: string;
}

/**
 * errorCode 0: `payload` is the packed sweep and `ids` the GPUs' strings when they changed (null
 * otherwise); see ./decode.ts. `payload` views a buffer the addon reuses for the next sweep: read
 * it during the call, never keep it. Otherwise `payload` is the name of the failing call.
 */
export type RawSweepCallback = (errorCode: number, payload: Float64Array | string, ids?: string[] | null) => void;

export interface RawHandle {
  /** dlopen + nvmlInit on a pool thread */
  open(path: string, onSweep: RawSweepCallback): Promise<RawOpenResult>;
  /** gpmMode: 0 off, 1 GPUs and GPU instances, 2 also compute instances (native/gpm.h); processes: read the process lists */
  sweep(pcieThroughput: boolean, gpmMode?: number, processes?: boolean): boolean;
  startEvents(onXid: (e: XidEvent) => void): boolean;
  /** stops the threads; nvmlShutdown + dlclose run on a pool thread when this was the last reference */
  close(): Promise<void>;
}

export interface RawBinding {
  NvmlHandle: new () => RawHandle;
  defaultLibrary: string;
  /** the readings in the order of a packed sweep (must equal READING_KEYS) */
  readingKeys: string[];
  /** glibc malloc_trim(0): true when pages went back to the system (native/addon.cc says why) */
  releaseFreeMemory(): boolean;
}

export { packageRoot };

export function addonPath(): string {
  return join(packageRoot(), 'build', 'Release', 'nvml_addon.node');
}

let cached: RawBinding | null = null;

export function loadBinding(): RawBinding {
  if (cached) return cached;
  const file = addonPath();
  if (!existsSync(file)) {
    throw new Error(`nvml-exporter: the native addon ${file} is missing: build it with \`npm run build\` (or \`npm ci\`)`);
  }
  const require = createRequire(import.meta.url);
  cached = require(file) as RawBinding;
  return cached;
}
