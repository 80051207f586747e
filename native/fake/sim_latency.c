/*
 * sim_latency.c — the latency model: what each NVML call costs when the model is on (scenario line
 * `latency published`, or NVML_SIM_LATENCY=published). Off by default.
 *
 * The figures are the published per-call costs that nvml-exporter's reference collects
 * (interfaces.md §C.8: median latencies measured on an RTX 4090 laptop GPU, driver 610.57):
 *   nvmlDeviceGetUtilizationRates   ~2.5 µs
 *   nvmlDeviceGetMemoryInfo         ~11.6 µs (also used for _v2)
 *   nvmlDeviceGetFanSpeed           ~137 µs
 * Every other call has no published figure; it is given the cheapest published one, 2.5 µs, so the
 * model bounds a real driver's cost from below. nvmlDeviceGetPcieThroughput already samples for
 * 20 ms in this library (as documented for the real call), and event waits block for their own
 * timeout: neither gets a cost on top. Init and shutdown are not modelled.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "sim.h"

#define US 1000LL /* ns */

static const struct {
  const char *fn;
  long long ns;
} published[] = {
  {"nvmlDeviceGetUtilizationRates", 2500},
  {"nvmlDeviceGetMemoryInfo", 11600},
  {"nvmlDeviceGetMemoryInfo_v2", 11600},
  {"nvmlDeviceGetFanSpeed", 137 * US},
  {"nvmlDeviceGetPcieThroughput", 0},
  {"nvmlEventSetWait", 0},
  {"nvmlEventSetWait_v2", 0},
};

#define CHEAPEST_PUBLISHED_NS 2500

long long sim_published_cost_ns(const char *fn) {
  for (size_t i = 0; i < sizeof published / sizeof published[0]; i++)
    if (!strcmp(published[i].fn, fn)) return published[i].ns;
  return CHEAPEST_PUBLISHED_NS;
}
