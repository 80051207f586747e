// The NVML error names and messages work without the library.
import t from 'tap';
import { NvmlError, NvmlLibraryNotFoundError, SweepStalledError, libraryNotFound, nvmlError, nvmlErrorName } from '../../lib/nvml/errors.js';

t.test('every code 0–30 and 999 has its NVML name; unknown codes get a generic one', async (t) => {
  t.equal(nvmlErrorName(0), 'NVML_SUCCESS');
  t.equal(nvmlErrorName(3), 'NVML_ERROR_NOT_SUPPORTED');
  t.equal(nvmlErrorName(9), 'NVML_ERROR_DRIVER_NOT_LOADED');
  t.equal(nvmlErrorName(13), 'NVML_ERROR_FUNCTION_NOT_FOUND');
  t.equal(nvmlErrorName(15), 'NVML_ERROR_GPU_IS_LOST');
  t.equal(nvmlErrorName(18), 'NVML_ERROR_LIB_RM_VERSION_MISMATCH');
  t.equal(nvmlErrorName(28), 'NVML_ERROR_GPU_NOT_FOUND');
  t.equal(nvmlErrorName(30), 'NVML_ERROR_RESET_TYPE_NOT_SUPPORTED');
  t.equal(nvmlErrorName(999), 'NVML_ERROR_UNKNOWN');
  const names = new Set<string>();
  for (let c = 1; c <= 30; c++) {
    const n = nvmlErrorName(c);
    t.match(n, /^NVML_ERROR_[A-Z_]+$/, `code ${c}`);
    t.notMatch(n, /CODE_/, `code ${c} is known`);
    names.add(n);
  }
  t.equal(names.size, 30, 'all distinct');
  t.equal(nvmlErrorName(31), 'NVML_ERROR_CODE_31');
  t.equal(nvmlErrorName(-1), 'NVML_ERROR_CODE_-1');
});

t.test('nvmlError: code, name, message and an init hint', async (t) => {
  const e = nvmlError(15, 'nvmlDeviceGetCount', 'detail here');
  t.type(e, NvmlError);
  t.type(e, Error);
  t.equal(e.name, 'NvmlError');
  t.equal(e.code, 15);
  t.equal(e.nvmlName, 'NVML_ERROR_GPU_IS_LOST');
  t.equal(e.message, 'nvmlDeviceGetCount failed: NVML_ERROR_GPU_IS_LOST (15): detail here');
  t.notMatch(e.message, /Hint/, 'hints only for nvmlInit');
  t.match(nvmlError(9, 'nvmlInit').message, /Hint: the NVIDIA kernel module is not loaded/);
  t.match(nvmlError(18, 'nvmlInit').message, /reboot the node/);
  t.equal(nvmlError(4242, 'nvmlInit').message, 'nvmlInit failed: NVML_ERROR_CODE_4242 (4242)');
});

t.test('libraryNotFound: a given path, or the default search, and the fixes', async (t) => {
  const given = libraryNotFound('/opt/x/libnvidia-ml.so.1', '/opt/x/libnvidia-ml.so.1: cannot open shared object file');
  t.type(given, NvmlLibraryNotFoundError);
  t.type(given, NvmlError);
  t.equal(given.code, 12);
  t.equal(given.name, 'NvmlLibraryNotFoundError');
  t.match(given.message, 'at /opt/x/libnvidia-ml.so.1');
  t.match(given.message, 'dlerror: /opt/x/libnvidia-ml.so.1: cannot open shared object file');
  const dflt = libraryNotFound(null, 'libnvidia-ml.so.1: cannot open shared object file: No such file or directory');
  t.match(dflt.message, 'libnvidia-ml.so.1 via the dynamic loader search: LD_LIBRARY_PATH, /etc/ld.so.cache, default dirs');
  for (const fix of ['install the NVIDIA driver', 'NVIDIA container runtime', 'NVIDIA_DRIVER_CAPABILITIES=utility (or compute,utility)', '--nvml-library', 'NVML_EXPORTER_NVML_LIBRARY']) {
    t.match(dflt.message, fix, `names the fix: ${fix}`);
  }
});

t.test('SweepStalledError carries the deadline and whether it was a refusal', async (t) => {
  const a = new SweepStalledError(5000, 5001, false);
  t.equal(a.name, 'SweepStalledError');
  t.equal(a.stillRunning, false);
  t.equal(a.deadlineMs, 5000);
  t.match(a.message, /within 5000 ms/);
  const b = new SweepStalledError(5000, 7300, true);
  t.equal(b.stillRunning, true);
  t.match(b.message, /stuck in the driver for 7300 ms/);
});
