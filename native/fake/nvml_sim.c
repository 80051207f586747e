/*
 * nvml_sim.c — the simulated NVML: init and shutdown, error strings, system queries, device
 * enumeration and identity. Readings are in sim_readings.c, field values in sim_fields.c, MIG
 * and events in sim_mig_events.c. See native/fake/README.md.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "sim.h"

SIM_API nvmlReturn_t nvmlInit_v2(void) { return sim_init(__func__); }
SIM_API nvmlReturn_t nvmlInit(void) { return sim_init(__func__); }
SIM_API nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
  (void)flags; /* NO_GPUS: a scenario with zero GPUs initialises either way */
  return sim_init(__func__);
}
SIM_API nvmlReturn_t nvmlShutdown(void) { return sim_shutdown(); }

SIM_API const char *nvmlErrorString(nvmlReturn_t r) {
  switch (r) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM: return "The operating system has blocked the request";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    case NVML_ERROR_VGPU_ECC_NOT_SUPPORTED: return "ECC is not supported on this vGPU";
    case NVML_ERROR_INSUFFICIENT_RESOURCES: return "Insufficient resources";
    case NVML_ERROR_FREQ_NOT_SUPPORTED: return "Frequency not supported";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
    case NVML_ERROR_DEPRECATED: return "Deprecated";
    case NVML_ERROR_NOT_READY: return "Not ready";
    case NVML_ERROR_GPU_NOT_FOUND: return "GPU not found";
    case NVML_ERROR_INVALID_STATE: return "Invalid state";
    case NVML_ERROR_RESET_TYPE_NOT_SUPPORTED: return "Reset type not supported";
    default: return "Unknown Error";
  }
}

/* ---- system ------------------------------------------------------------------------------------ */

SIM_API nvmlReturn_t nvmlSystemGetDriverVersion(char *buf, unsigned int len) {
  nvmlReturn_t r = sim_enter(__func__);
  return r ? r : sim_leave(sim_copy_str(buf, len, sim_sc->driver));
}

SIM_API nvmlReturn_t nvmlSystemGetNVMLVersion(char *buf, unsigned int len) {
  nvmlReturn_t r = sim_enter(__func__);
  return r ? r : sim_leave(sim_copy_str(buf, len, sim_sc->nvml));
}

/* `_v2` asks libcuda: without it (`quirk no-libcuda`: a container with
 * NVIDIA_DRIVER_CAPABILITIES=utility) it answers LIBRARY_NOT_FOUND; the plain call answers from
 * the driver. `cuda 0`: no version at all, from either. */
static nvmlReturn_t cuda_version(const char *fn, int *v, int v2) {
  nvmlReturn_t r = sim_enter(fn);
  if (r) return r;
  if (!v) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (!sim_sc->cuda || (v2 && (sim_sc->quirks & Q_NO_LIBCUDA))) return sim_leave(NVML_ERROR_LIBRARY_NOT_FOUND);
  *v = sim_sc->cuda;
  return sim_leave(NVML_SUCCESS);
}
SIM_API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *v) { return cuda_version(__func__, v, 0); }
SIM_API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *v) { return cuda_version(__func__, v, 1); }

/* ---- enumeration ------------------------------------------------------------------------------- */

static nvmlReturn_t count(const char *fn, unsigned int *n) {
  nvmlReturn_t r = sim_enter(fn);
  if (r) return r;
  if (!n) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  *n = (unsigned int)sim_sc->ngpus; /* lost GPUs still count */
  return sim_leave(NVML_SUCCESS);
}
SIM_API nvmlReturn_t nvmlDeviceGetCount(unsigned int *n) { return count(__func__, n); }
SIM_API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n) { return count(__func__, n); }

static nvmlReturn_t by_index(const char *fn, unsigned int i, nvmlDevice_t *out) {
  if (i >= SIM_MAX_GPUS) {
    nvmlReturn_t r = sim_enter(fn);
    return r ? r : sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  }
  sim_gpu_t *g;
  sim_mig_t *m;
  /* resolving the handle applies this GPU's lost state, errors and delays (e.g. NO_PERMISSION);
   * an index past the scenario's GPUs is INVALID_ARGUMENT */
  nvmlReturn_t r;
  if ((r = sim_enter_dev(fn, &sim_gpu_handles[i], &g, &m))) return r;
  if (!out) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  *out = &sim_gpu_handles[i];
  return sim_leave(NVML_SUCCESS);
}
SIM_API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int i, nvmlDevice_t *out) { return by_index(__func__, i, out); }
SIM_API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *out) { return by_index(__func__, i, out); }

SIM_API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *out) {
  nvmlReturn_t r = sim_enter(__func__);
  if (r) return r;
  if (!uuid || !out) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  for (int i = 0; i < sim_sc->ngpus; i++) {
    sim_gpu_t *g = &sim_sc->gpu[i];
    nvmlDevice_t found = NULL;
    if (!strcmp(g->uuid, uuid)) found = &sim_gpu_handles[i];
    for (int s = 0; !found && s < sim_mig_visible(g); s++)
      if (!strcmp(g->mig[s].uuid, uuid)) found = &sim_mig_handles[i][s];
    if (found) {
      if (g->lost) return sim_leave(g->lost);
      *out = found;
      return sim_leave(NVML_SUCCESS);
    }
  }
  return sim_leave(NVML_ERROR_NOT_FOUND);
}

/* ---- identity ---------------------------------------------------------------------------------- */

SIM_API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t dev, unsigned int *index) {
  DEV_ENTER(dev);
  if (!index) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (m) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  *index = (unsigned int)sim_gpu_index(g);
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t dev, unsigned int *minor) {
  DEV_ENTER(dev);
  if (!minor) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (m) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  *minor = (unsigned int)g->minor;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char *buf, unsigned int len) {
  DEV_ENTER(dev);
  return sim_leave(sim_copy_str(buf, len, m ? m->uuid : g->uuid));
}

SIM_API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *buf, unsigned int len) {
  DEV_ENTER(dev);
  if (!m) return sim_leave(sim_copy_str(buf, len, g->name));
  char name[SIM_STR * 2];
  snprintf(name, sizeof name, "%s MIG %s", g->name, m->profile);
  return sim_leave(sim_copy_str(buf, len, name));
}

SIM_API nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t dev, char *buf, unsigned int len) {
  DEV_ENTER(dev);
  if (m) return sim_leave(buf ? NVML_ERROR_NOT_SUPPORTED : NVML_ERROR_INVALID_ARGUMENT);
  return sim_leave(sim_copy_str(buf, len, g->serial));
}

/* v1 and v2 fill only the first 36 bytes (the legacy bus id and the numbers); v3 adds busId. */
static nvmlReturn_t pci_info(const char *fn, nvmlDevice_t dev, nvmlPciInfo_t *pci, int v3) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t r = sim_enter_dev(fn, dev, &g, &m);
  if (r) return r;
  if (!pci) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (m) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  unsigned d = 0, b = 0, dv = 0;
  sscanf(g->pci, "%x:%x:%x", &d, &b, &dv);
  snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.0", d & 0xffff, b, dv);
  pci->domain = d;
  pci->bus = b;
  pci->device = dv;
  pci->pciDeviceId = 0x233010DE;    /* H100 SXM5 80GB, NVIDIA vendor id */
  pci->pciSubSystemId = 0x16C110DE;
  if (v3) snprintf(pci->busId, sizeof pci->busId, "%s", g->pci);
  return sim_leave(NVML_SUCCESS);
}
SIM_API nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t d, nvmlPciInfo_t *p) { return pci_info(__func__, d, p, 0); }
SIM_API nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t d, nvmlPciInfo_t *p) { return pci_info(__func__, d, p, 0); }
SIM_API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p) { return pci_info(__func__, d, p, 1); }

/* Compile-time checks that each export has the signature the addon calls it through. */
#pragma GCC diagnostic error "-Wincompatible-pointer-types"
__attribute__((unused)) static const nvmlInit_fn chk_init[] = {nvmlInit_v2, nvmlInit, nvmlShutdown};
__attribute__((unused)) static const nvmlInitWithFlags_fn chk_flags = nvmlInitWithFlags;
__attribute__((unused)) static const nvmlErrorString_fn chk_err = nvmlErrorString;
__attribute__((unused)) static const nvmlSystemGetString_fn chk_sys[] = {nvmlSystemGetDriverVersion, nvmlSystemGetNVMLVersion};
__attribute__((unused)) static const nvmlSystemGetCudaDriverVersion_fn chk_cuda[] = {nvmlSystemGetCudaDriverVersion, nvmlSystemGetCudaDriverVersion_v2};
__attribute__((unused)) static const nvmlDeviceGetCount_fn chk_count[] = {nvmlDeviceGetCount, nvmlDeviceGetCount_v2};
__attribute__((unused)) static const nvmlDeviceGetHandleByIndex_fn chk_idx[] = {nvmlDeviceGetHandleByIndex, nvmlDeviceGetHandleByIndex_v2};
__attribute__((unused)) static const nvmlDeviceGetHandleByUUID_fn chk_uuid = nvmlDeviceGetHandleByUUID;
__attribute__((unused)) static const nvmlDeviceGetString_fn chk_str[] = {nvmlDeviceGetUUID, nvmlDeviceGetName, nvmlDeviceGetSerial};
__attribute__((unused)) static const nvmlDeviceGetUInt_fn chk_uint[] = {nvmlDeviceGetIndex, nvmlDeviceGetMinorNumber};
__attribute__((unused)) static const nvmlDeviceGetPciInfo_fn chk_pci[] = {nvmlDeviceGetPciInfo, nvmlDeviceGetPciInfo_v2, nvmlDeviceGetPciInfo_v3};
