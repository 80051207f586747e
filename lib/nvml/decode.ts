// Builds SweepResult objects from a packed sweep: one Float64Array of numbers, and the GPUs'
// strings only when their identity changed since the previous sweep (native/result.h has the
// layout). Objects built here in JS cost a fraction of building them through N-API.
import {
  READING_KEYS, type DeviceSample, type GpmEntity, type GpmSample, type ProcessDeviceSample, type ProcessesRead, type MigDeviceSample,
  type Readings, type ReadingStatus, type SweepResult,
} from './types.js';

const R = READING_KEYS.length;
const HEADER = 4;
const NOT_READ = -1;

/** The strings of the last identity the native side sent (it sends them again only on change). */
export interface IdentityStrings {
  driverVersion: string;
  nvmlVersion: string;
  /**
   * per GPU: uuid, name, pciBusId, serial, vbios, inforomImage, inforomOem, inforomEcc,
   * inforomPower, brand; then per MIG device: uuid, profile, name, profileSource
   */
  rest: readonly string[];
}

/** Checks that the addon packs the readings in READING_KEYS' order; throws naming the first difference. */
export function checkReadingOrder(native: readonly string[]): void {
  if (native.length === R && native.every((k, i) => k === READING_KEYS[i])) return;
  const i = READING_KEYS.findIndex((k, j) => native[j] !== k);
  throw new Error(
    `nvml-exporter: the native addon's reading order differs from lib/nvml/types.ts READING_KEYS at position ${i} ` +
      `(addon: ${String(native[i])}, READING_KEYS: ${String(READING_KEYS[i])}); rebuild the addon with \`npm run build\``,
  );
}

export function decodeIdentity(ids: readonly string[]): IdentityStrings {
  return { driverVersion: ids[0] ?? '', nvmlVersion: ids[1] ?? '', rest: ids.slice(2) };
}

type SetReader = (nums: Float64Array, at: number) => { readings: Readings; status: ReadingStatus };

const IDENT = /^[A-Za-z][A-Za-z0-9]*$/;
for (const key of READING_KEYS) if (!IDENT.test(key)) throw new Error(`reading key ${key} is not a plain identifier`);

/**
 * A reader for one outcome pattern (per key: read, failed or not read), built as two object
 * literals. Created in one piece from a literal, an object gets all its properties in-object with
 * one shared hidden class; built up property by property, an object of several dozen properties
 * reallocates its property store again and again. Keys are constant names: stores through a
 * computed key (`o[key] = v`) would turn the objects into slow dictionaries, again on every read
 * while rendering.
 */
function compilePattern(pattern: string): SetReader {
  const ok: string[] = [];
  const failed: string[] = [];
  READING_KEYS.forEach((key, k) => {
    if (pattern[k] === 'o') ok.push(`${key}: n[a + ${k}]`);
    else if (pattern[k] === 'f') failed.push(`${key}: n[a + ${R + k}]`);
  });
  return new Function('n', 'a', `return { readings: { ${ok.join(', ')} }, status: { ${failed.join(', ')} } };`) as SetReader;
}

// A GPU's outcome pattern changes rarely (a reading starts or stops failing), so there are few;
// past the bound, patterns are compiled and used without being kept.
const MAX_PATTERNS = 256;
const patterns = new Map<string, SetReader>();

/** The pattern each reading set had last time, by its position in the sweep, with its reader. */
interface Last {
  kinds: Int8Array; // 0 read, 1 failed, 2 not read
  reader: SetReader;
}
const last: Last[] = [];

const kindOf = (c: number): number => (c === 0 ? 0 : c === NOT_READ ? 2 : 1);

/** Reads set number `set` of a sweep (values, then status codes: native/result.h). */
function readings(n: Float64Array, a: number, set: number): { readings: Readings; status: ReadingStatus } {
  const prev = last[set];
  if (prev) {
    let same = true;
    for (let k = 0; k < R && same; k++) same = prev.kinds[k] === kindOf(n[a + R + k]!);
    if (same) return prev.reader(n, a);
  }
  const kinds = new Int8Array(R);
  for (let k = 0; k < R; k++) kinds[k] = kindOf(n[a + R + k]!);
  const key = Array.from(kinds, (x) => 'of-'[x]).join('');
  let reader = patterns.get(key);
  if (!reader) {
    reader = compilePattern(key);
    if (patterns.size < MAX_PATTERNS) patterns.set(key, reader);
  }
  if (set < 4096) last[set] = { kinds, reader };
  return reader(n, a);
}

const orNull = (v: number): number | null => (v < 0 ? null : v);
const strOrNull = (v: string | undefined): string | null => (v ? v : null);
const GPU_STRINGS = 10;
const MIG_STRINGS = 4;

function profileSource(v: string | undefined): MigDeviceSample['profileSource'] {
  return v === 'gpuInstance' || v === 'name' ? v : '';
}

/** Builds the SweepResult. Throws if the numbers and the identity do not fit together. */
export function decodeSweep(nums: Float64Array, id: IdentityStrings): SweepResult {
  const gpus = nums[3]!;
  const devices: DeviceSample[] = new Array(gpus);
  const s = id.rest;
  let at = HEADER;
  let si = 0;
  let set = 0;
  for (let i = 0; i < gpus; i++) {
    const migCount = nums[at + 5]!;
    const migMode = nums[at + 2]!;
    const lost = nums[at + 3]!;
    const hasSerial = nums[at + 4] === 1;
    const index = nums[at]!;
    const minor = orNull(nums[at + 1]!);
    at += 6;
    const r = readings(nums, at, set++);
    at += 2 * R;
    const uuid = s[si]!;
    const name = s[si + 1]!;
    const pciBusId = s[si + 2]!;
    const serial = hasSerial ? s[si + 3]! : null;
    const vbiosVersion = strOrNull(s[si + 4]);
    const inforom = { image: strOrNull(s[si + 5]), oem: strOrNull(s[si + 6]), ecc: strOrNull(s[si + 7]), power: strOrNull(s[si + 8]) };
    const brand = strOrNull(s[si + 9]);
    si += GPU_STRINGS;
    const mig: MigDeviceSample[] = new Array(migCount);
    for (let j = 0; j < migCount; j++) {
      const slot = nums[at]!;
      const gpuInstanceId = orNull(nums[at + 1]!);
      const computeInstanceId = orNull(nums[at + 2]!);
      const gpuInstanceProfileId = orNull(nums[at + 3]!);
      const placementStart = orNull(nums[at + 4]!);
      at += 5;
      const mr = readings(nums, at, set++);
      at += 2 * R;
      mig[j] = {
        uuid: s[si]!,
        slot,
        gpuInstanceId,
        computeInstanceId,
        gpuInstanceProfileId,
        placementStart,
        profile: s[si + 1]!,
        profileSource: profileSource(s[si + 3]),
        name: s[si + 2]!,
        readings: mr.readings,
        status: mr.status,
      };
      si += MIG_STRINGS;
    }
    devices[i] = {
      index,
      minor,
      uuid,
      name,
      pciBusId,
      serial,
      vbiosVersion,
      inforom,
      brand,
      migEnabled: migMode < 0 ? null : migMode === 1,
      lostCode: lost === 0 ? null : lost,
      readings: r.readings,
      status: r.status,
      mig,
    };
  }
  at = decodeGpm(nums, at, devices);
  const procs = decodeProcesses(nums, at, gpus);
  at = procs.at;
  if (at !== nums.length || si !== s.length) {
    throw new Error(`nvml-exporter: a packed sweep does not fit its identity (${at}/${nums.length} numbers, ${si}/${s.length} strings); rebuild the addon with \`npm run build\``);
  }
  return {
    timestamp: nums[0]!,
    durationUs: nums[1]!,
    driverVersion: id.driverVersion,
    nvmlVersion: id.nvmlVersion,
    cudaDriverVersion: orNull(nums[2]!),
    devices,
    processes: procs.read,
  };
}

/** The GPM section after the last GPU (native/result.h); returns the position after it. */
function decodeGpm(nums: Float64Array, at: number, devices: DeviceSample[]): number {
  if (at >= nums.length) return at;
  for (const d of devices) {
    const support = nums[at]!;
    const count = nums[at + 1]!;
    at += 2;
    if (support === -1 && count === 0) continue;
    const gpm: GpmSample = { support, gpu: null, instances: [], computeInstances: [] };
    for (let e = 0; e < count; e++) {
      const level = nums[at]!;
      const gi = orNull(nums[at + 1]!);
      const ci = orNull(nums[at + 2]!);
      const code = nums[at + 3]!;
      const n = nums[at + 4]!;
      at += 5;
      const values = new Map<number, number>();
      const status = new Map<number, number>();
      for (let k = 0; k < n; k++, at += 3) {
        const id = nums[at]!;
        const st = nums[at + 2]!;
        if (st === 0) values.set(id, nums[at + 1]!);
        else status.set(id, st);
      }
      const entity: GpmEntity = { gpuInstanceId: gi, computeInstanceId: ci, code, values, status };
      if (level === 0) gpm.gpu = entity;
      else if (level === 1) gpm.instances.push(entity);
      else gpm.computeInstances.push(entity);
    }
    d.gpm = gpm;
  }
  return at;
}

const nullable = (v: number): number | null => (v < 0 ? null : v);

/** The processes section that follows the GPUs (native/result.h); `at` is where it starts. */
function decodeProcesses(n: Float64Array, at: number, gpus: number): { read: ProcessesRead | null; at: number } {
  if (n[at] !== 1) return { read: null, at: at + 1 };
  const durationUs = n[at + 1]!;
  const stride = n[at + 2]!;
  const count = n[at + 3]!;
  at += 4;
  const devices: ProcessDeviceSample[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const gpu = n[at]!;
    if (!(gpu >= 0 && gpu < gpus)) throw new Error(`nvml-exporter: a packed sweep names process GPU ${gpu} of ${gpus}; rebuild the addon with \`npm run build\``);
    const slot = n[at + 1]!;
    const k = n[at + 5]!;
    const dev: ProcessDeviceSample = {
      gpu,
      migSlot: slot < 0 ? null : slot,
      listStatus: n[at + 2]!,
      utilStatus: n[at + 3]!,
      intervalUs: n[at + 4]!,
      processes: new Array(k),
    };
    at += 6;
    for (let j = 0; j < k; j++) {
      dev.processes[j] = {
        pid: n[at]!,
        kinds: n[at + 1]!,
        usedMemory: nullable(n[at + 2]!),
        smUtil: nullable(n[at + 3]!),
        memUtil: nullable(n[at + 4]!),
        encUtil: nullable(n[at + 5]!),
        decUtil: nullable(n[at + 6]!),
      };
      at += 7;
    }
    devices[i] = dev;
  }
  return { read: { durationUs, stride, devices }, at };
}
