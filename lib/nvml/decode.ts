// Builds SweepResult objects from a packed sweep: one Float64Array of numbers, and the GPUs'
// strings only when their identity changed since the previous sweep (native/result.h has the
// layout). Objects built here in JS cost a fraction of building them through N-API.
import { READING_KEYS, type DeviceSample, type MigDeviceSample, type Readings, type ReadingStatus, type SweepResult } from './types.js';

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

/**
 * Reads one reading set. Generated once from READING_KEYS so that every store has a constant
 * property name: V8 then keeps these objects in fast mode with shared hidden classes, where
 * stores through a computed key (`o[key] = v`) turn an object of more than a dozen properties
 * into a slow dictionary — several times the cost here, and again on every read while rendering.
 */
function compileSetReader(): SetReader {
  const body = ['const ok = {}, failed = {}; let c;'];
  READING_KEYS.forEach((key, k) => {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) throw new Error(`reading key ${key} is not a plain identifier`);
    body.push(`c = n[a + ${R + k}]; if (c === 0) ok.${key} = n[a + ${k}]; else if (c !== ${NOT_READ}) failed.${key} = c;`);
  });
  body.push('return { readings: ok, status: failed };');
  return new Function('n', 'a', body.join('\n')) as SetReader;
}

const readings = compileSetReader();

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
  for (let i = 0; i < gpus; i++) {
    const migCount = nums[at + 5]!;
    const migMode = nums[at + 2]!;
    const lost = nums[at + 3]!;
    const hasSerial = nums[at + 4] === 1;
    const index = nums[at]!;
    const minor = orNull(nums[at + 1]!);
    at += 6;
    const r = readings(nums, at);
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
      at += 3;
      const mr = readings(nums, at);
      at += 2 * R;
      mig[j] = {
        uuid: s[si]!,
        slot,
        gpuInstanceId,
        computeInstanceId,
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
  };
}
