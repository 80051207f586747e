/*
 * sim_fields.c — nvmlDeviceGetFieldValues: the batch call, with a return code per entry.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "sim.h"

typedef struct {
  unsigned int id;
  int key;
  int type;
} field_t;

static const field_t fields[] = {
  {NVML_FI_DEV_ECC_SBE_VOL_TOTAL, R_ECC_SBE_VOL, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_ECC_DBE_VOL_TOTAL, R_ECC_DBE_VOL, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_ECC_SBE_AGG_TOTAL, R_ECC_SBE_AGG, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_ECC_DBE_AGG_TOTAL, R_ECC_DBE_AGG, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_RETIRED_SBE, R_RETIRED_SBE, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_RETIRED_DBE, R_RETIRED_DBE, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_RETIRED_PENDING, R_RETIRED_PENDING, NVML_VALUE_TYPE_UNSIGNED_INT},
  {NVML_FI_DEV_MEMORY_TEMP, R_MEM_TEMP, NVML_VALUE_TYPE_UNSIGNED_INT},
  {NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION, R_ENERGY, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_PCIE_REPLAY_COUNTER, R_PCIE_REPLAY, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX, R_NVLINK_TX, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX, R_NVLINK_RX, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_REMAPPED_COR, R_REMAP_COR, NVML_VALUE_TYPE_UNSIGNED_INT},
  {NVML_FI_DEV_REMAPPED_UNC, R_REMAP_UNC, NVML_VALUE_TYPE_UNSIGNED_INT},
  {NVML_FI_DEV_REMAPPED_PENDING, R_REMAP_PENDING, NVML_VALUE_TYPE_UNSIGNED_INT},
  {NVML_FI_DEV_REMAPPED_FAILURE, R_REMAP_FAILURE, NVML_VALUE_TYPE_UNSIGNED_INT},
  {NVML_FI_DEV_POWER_INSTANT, R_POWER_USAGE, NVML_VALUE_TYPE_UNSIGNED_INT},
  {NVML_FI_DEV_ECC_CURRENT, R_ECC_MODE_CURRENT, NVML_VALUE_TYPE_UNSIGNED_INT},
  {NVML_FI_DEV_ECC_PENDING, R_ECC_MODE_PENDING, NVML_VALUE_TYPE_UNSIGNED_INT},
  {NVML_FI_DEV_PERF_POLICY_POWER, R_VIOL_POWER, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_PERF_POLICY_THERMAL, R_VIOL_THERMAL, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_PERF_POLICY_SYNC_BOOST, R_VIOL_SYNC_BOOST, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_PERF_POLICY_BOARD_LIMIT, R_VIOL_BOARD_LIMIT, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_PERF_POLICY_LOW_UTILIZATION, R_VIOL_LOW_UTIL, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
  {NVML_FI_DEV_PERF_POLICY_RELIABILITY, R_VIOL_RELIABILITY, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG},
};

/* The active NVLink links: an H100 SXM's 18 (ids 0..17) unless `nvlinks` lists them; none where
 * the nvlinkTx reading is unsupported. Returns how many; `ids` (if not NULL) gets them. */
static unsigned int links(const sim_gpu_t *g, const sim_mig_t *m, int *ids) {
  double d;
  if (m || sim_read(g, NULL, R_NVLINK_TX, &d) != NVML_SUCCESS) return 0;
  unsigned n = g->nlinks < 0 ? SIM_NVLINK_LINKS : (unsigned)g->nlinks;
  for (unsigned i = 0; ids && i < n; i++) ids[i] = g->nlinks < 0 ? (int)i : g->link_ids[i];
  return n;
}

static void one(const sim_gpu_t *g, const sim_mig_t *m, nvmlFieldValue_t *v, long long now_us) {
  /* `quirk ecc-fields-untouched`: with ECC off, the ECC fields' entries are left as they came */
  double ecc = 1;
  if ((g->quirks & Q_ECC_FIELDS_UNTOUCHED) && v->fieldId >= NVML_FI_DEV_ECC_CURRENT &&
      v->fieldId <= NVML_FI_DEV_RETIRED_PENDING && sim_read(g, m, R_ECC_MODE_CURRENT, &ecc) == NVML_SUCCESS && ecc == 0)
    return;
  v->timestamp = now_us;
  v->latencyUsec = 0;
  memset(&v->value, 0, sizeof v->value);
  if (v->fieldId == NVML_FI_DEV_NVLINK_LINK_COUNT) {
    v->valueType = g->quirks & Q_FIELD_TYPES_DOUBLE ? NVML_VALUE_TYPE_DOUBLE : NVML_VALUE_TYPE_UNSIGNED_INT;
    v->value.uiVal = links(g, m, NULL);
    v->nvmlReturn = m ? NVML_ERROR_NOT_SUPPORTED : NVML_SUCCESS;
    return;
  }
  if ((g->quirks & Q_NO_PERF_POLICY_FIELDS) && v->fieldId >= NVML_FI_DEV_PERF_POLICY_POWER &&
      v->fieldId <= NVML_FI_DEV_PERF_POLICY_RELIABILITY) {
    v->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
    v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
    return;
  }
  const field_t *f = NULL;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (fields[i].id == v->fieldId) f = &fields[i];
  if (!f) {
    v->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
    v->nvmlReturn = v->fieldId >= NVML_FI_MAX ? NVML_ERROR_INVALID_ARGUMENT : NVML_ERROR_NOT_SUPPORTED;
    return;
  }
  v->valueType = f->type;
  double d;
  v->nvmlReturn = sim_read(g, m, f->key, &d);
  if (v->nvmlReturn) return;
  if (f->key == R_NVLINK_TX || f->key == R_NVLINK_RX) {
    /* scopeId = an active link: the total is split evenly, the first active link takes the
     * remainder, so the links sum to the reading; another id below the GPU's link maximum (18) is
     * not active (NOT_SUPPORTED), one above it invalid. scopeId 0xFFFFFFFF answers the total over
     * all links, unless `quirk no-nvlink-all-scope`. */
    int ids[SIM_NVLINK_LINKS];
    unsigned int n = links(g, m, ids);
    unsigned long long total = (unsigned long long)(d + 0.5);
    if (v->scopeId == NVML_NVLINK_SCOPE_ALL_LINKS) {
      if (g->quirks & Q_NO_NVLINK_ALL_SCOPE) v->nvmlReturn = NVML_ERROR_INVALID_ARGUMENT;
      else v->value.ullVal = total;
    } else if (v->scopeId >= SIM_NVLINK_LINKS) {
      v->nvmlReturn = NVML_ERROR_INVALID_ARGUMENT;
    } else {
      int at = -1;
      for (unsigned i = 0; i < n; i++)
        if ((unsigned)ids[i] == v->scopeId) at = (int)i;
      if (at < 0) v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
      else v->value.ullVal = total / n + (at == 0 ? total % n : 0);
    }
  } else {
    unsigned long long u = d <= 0 ? 0 : (unsigned long long)(d + 0.5);
    if (f->type == NVML_VALUE_TYPE_UNSIGNED_INT)
      v->value.uiVal = u > 0xFFFFFFFFULL ? 0xFFFFFFFFu : (unsigned int)u;
    else
      v->value.ullVal = u;
  }
  /* `quirk field-types-double`: the value stays an integer, the label says DOUBLE (r545) */
  if (g->quirks & Q_FIELD_TYPES_DOUBLE) v->valueType = NVML_VALUE_TYPE_DOUBLE;
}

SIM_API nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t dev, int count, nvmlFieldValue_t *values) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t r = sim_enter_dev(__func__, dev, &g, &m);
  if (r) return r;
  if (count <= 0 || !values) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  long long now_us = (long long)(sim_now_s() * 1e6);
  for (int i = 0; i < count; i++) one(g, m, &values[i], now_us);
  return sim_leave(NVML_SUCCESS);
}

#pragma GCC diagnostic error "-Wincompatible-pointer-types"
__attribute__((unused)) static const nvmlDeviceGetFieldValues_fn chk_fv = nvmlDeviceGetFieldValues;
