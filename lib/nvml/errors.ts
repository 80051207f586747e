// NVML failures as one typed error class with a stable numeric `code` and its NVML name. The
// code → name table works without the library. Every NvmlError is created by `nvmlError()` here.

const NAMES: Record<number, string> = {
  0: 'NVML_SUCCESS',
  1: 'NVML_ERROR_UNINITIALIZED',
  2: 'NVML_ERROR_INVALID_ARGUMENT',
  3: 'NVML_ERROR_NOT_SUPPORTED',
  4: 'NVML_ERROR_NO_PERMISSION',
  5: 'NVML_ERROR_ALREADY_INITIALIZED',
  6: 'NVML_ERROR_NOT_FOUND',
  7: 'NVML_ERROR_INSUFFICIENT_SIZE',
  8: 'NVML_ERROR_INSUFFICIENT_POWER',
  9: 'NVML_ERROR_DRIVER_NOT_LOADED',
  10: 'NVML_ERROR_TIMEOUT',
  11: 'NVML_ERROR_IRQ_ISSUE',
  12: 'NVML_ERROR_LIBRARY_NOT_FOUND',
  13: 'NVML_ERROR_FUNCTION_NOT_FOUND',
  14: 'NVML_ERROR_CORRUPTED_INFOROM',
  15: 'NVML_ERROR_GPU_IS_LOST',
  16: 'NVML_ERROR_RESET_REQUIRED',
  17: 'NVML_ERROR_OPERATING_SYSTEM',
  18: 'NVML_ERROR_LIB_RM_VERSION_MISMATCH',
  19: 'NVML_ERROR_IN_USE',
  20: 'NVML_ERROR_MEMORY',
  21: 'NVML_ERROR_NO_DATA',
  22: 'NVML_ERROR_VGPU_ECC_NOT_SUPPORTED',
  23: 'NVML_ERROR_INSUFFICIENT_RESOURCES',
  24: 'NVML_ERROR_FREQ_NOT_SUPPORTED',
  25: 'NVML_ERROR_ARGUMENT_VERSION_MISMATCH',
  26: 'NVML_ERROR_DEPRECATED',
  27: 'NVML_ERROR_NOT_READY',
  28: 'NVML_ERROR_GPU_NOT_FOUND',
  29: 'NVML_ERROR_INVALID_STATE',
  30: 'NVML_ERROR_RESET_TYPE_NOT_SUPPORTED',
  999: 'NVML_ERROR_UNKNOWN',
};

/** `NVML_ERROR_GPU_IS_LOST` for 15; `NVML_ERROR_CODE_<n>` for a code this table does not know. */
export function nvmlErrorName(code: number): string {
  return NAMES[code] ?? `NVML_ERROR_CODE_${code}`;
}

/** What an operator can do about an nvmlInit failure. */
const INIT_HINTS: Record<number, string> = {
  4: 'the process may not access the GPU device files: run it privileged or with the NVIDIA container runtime',
  9: 'the NVIDIA kernel module is not loaded: check `lsmod | grep nvidia` and the driver installation',
  12: 'NVML could not load a library it needs: reinstall the NVIDIA driver',
  17: 'the operating system blocked the request: check cgroup device permissions',
  18: 'the user-space NVML library does not match the loaded kernel module (driver upgraded without a reboot): reboot the node or reload the nvidia kernel modules',
  999: 'unknown driver failure: check `dmesg` for NVRM messages',
};

export class NvmlError extends Error {
  readonly code: number;
  readonly nvmlName: string;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'NvmlError';
    this.code = code;
    this.nvmlName = nvmlErrorName(code);
  }
}

/** The NVML library could not be opened (code 12). */
export class NvmlLibraryNotFoundError extends NvmlError {
  /** the path given, or null when the dynamic loader's search was used */
  readonly library: string | null;
  readonly dlerror: string;
  constructor(message: string, library: string | null, dlerror: string) {
    super(12, message);
    this.name = 'NvmlLibraryNotFoundError';
    this.library = library;
    this.dlerror = dlerror;
  }
}

/** A sweep did not answer within the deadline; `stillRunning` when it was refused because of that. */
export class SweepStalledError extends Error {
  readonly deadlineMs: number;
  readonly stillRunning: boolean;
  /** how long the stuck native sweep has been running, in ms */
  readonly elapsedMs: number;
  constructor(deadlineMs: number, elapsedMs: number, stillRunning: boolean) {
    super(
      stillRunning
        ? `NVML sweep refused: the previous sweep has been stuck in the driver for ${Math.round(elapsedMs)} ms (deadline ${deadlineMs} ms); no new sweep starts until it returns`
        : `NVML sweep did not finish within ${deadlineMs} ms: a driver call is hung; later sweeps are refused until it returns`,
    );
    this.name = 'SweepStalledError';
    this.deadlineMs = deadlineMs;
    this.elapsedMs = elapsedMs;
    this.stillRunning = stillRunning;
  }
}

export const DEFAULT_LIBRARY = 'libnvidia-ml.so.1';

/** The one place NvmlErrors are made. `what` names the operation (e.g. `nvmlInit`). */
export function nvmlError(code: number, what: string, detail = ''): NvmlError {
  const name = nvmlErrorName(code);
  let msg = `${what} failed: ${name} (${code})${detail ? `: ${detail}` : ''}`;
  if (what === 'nvmlInit' && INIT_HINTS[code]) msg += `. Hint: ${INIT_HINTS[code]}`;
  return new NvmlError(code, msg);
}

export function libraryNotFound(library: string | null, dlerror: string): NvmlLibraryNotFoundError {
  const where = library
    ? `at ${library} (the path given by --nvml-library / NVML_EXPORTER_NVML_LIBRARY)`
    : `as ${DEFAULT_LIBRARY} via the dynamic loader search: LD_LIBRARY_PATH, /etc/ld.so.cache, default dirs`;
  const msg =
    `NVML library not found: could not open libnvidia-ml ${where}` +
    (dlerror ? ` (dlerror: ${dlerror})` : '') +
    '. Fixes: install the NVIDIA driver on the host; run the container with the NVIDIA container runtime ' +
    'and NVIDIA_DRIVER_CAPABILITIES=utility (or compute,utility); or point --nvml-library / ' +
    'NVML_EXPORTER_NVML_LIBRARY at the libnvidia-ml.so.1 file.';
  return new NvmlLibraryNotFoundError(msg, library, dlerror);
}
