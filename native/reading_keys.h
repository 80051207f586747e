/*
 * reading_keys.h — the per-device readings, in the order and with the names of READING_KEYS in
 * lib/nvml/types.ts. One list for the addon and the simulated library:
 *   enum { NVX_READINGS(NVX_READING_ENUM) R_COUNT };
 *   const char *const names[R_COUNT] = { NVX_READINGS(NVX_READING_NAME) };
 */
#ifndef NVML_EXPORTER_READING_KEYS_H
#define NVML_EXPORTER_READING_KEYS_H

#define NVX_READINGS(X)                                                                        \
  X(R_GPU_UTIL, "gpuUtil") X(R_MEM_UTIL, "memUtil") X(R_MEM_TOTAL, "memTotal")                  \
  X(R_MEM_RESERVED, "memReserved") X(R_MEM_FREE, "memFree") X(R_MEM_USED, "memUsed")            \
  X(R_POWER_USAGE, "powerUsage") X(R_POWER_LIMIT, "powerLimit") X(R_ENERGY, "energy")           \
  X(R_GPU_TEMP, "gpuTemp") X(R_MEM_TEMP, "memTemp") X(R_SM_CLOCK, "smClock")                    \
  X(R_MEM_CLOCK, "memClock") X(R_GRAPHICS_CLOCK, "graphicsClock") X(R_VIDEO_CLOCK, "videoClock") \
  X(R_MAX_SM_CLOCK, "maxSmClock") X(R_MAX_MEM_CLOCK, "maxMemClock") X(R_ENC_UTIL, "encUtil")    \
  X(R_DEC_UTIL, "decUtil") X(R_PCIE_REPLAY, "pcieReplay")                                       \
  X(R_CLOCK_EVENT_REASONS, "clockEventReasons") X(R_VIOL_POWER, "violationPower")               \
  X(R_VIOL_THERMAL, "violationThermal") X(R_VIOL_SYNC_BOOST, "violationSyncBoost")              \
  X(R_VIOL_BOARD_LIMIT, "violationBoardLimit") X(R_VIOL_LOW_UTIL, "violationLowUtil")           \
  X(R_VIOL_RELIABILITY, "violationReliability") X(R_ECC_SBE_VOL, "eccSbeVolatile")              \
  X(R_ECC_DBE_VOL, "eccDbeVolatile") X(R_ECC_SBE_AGG, "eccSbeAggregate")                        \
  X(R_ECC_DBE_AGG, "eccDbeAggregate") X(R_RETIRED_SBE, "retiredSbe")                            \
  X(R_RETIRED_DBE, "retiredDbe") X(R_RETIRED_PENDING, "retiredPending")                         \
  X(R_REMAP_COR, "remappedCorrectable") X(R_REMAP_UNC, "remappedUncorrectable")                 \
  X(R_REMAP_PENDING, "remappedPending") X(R_REMAP_FAILURE, "remappedFailure")                   \
  X(R_FAN_SPEED, "fanSpeed") X(R_NVLINK_TX, "nvlinkTx") X(R_NVLINK_RX, "nvlinkRx")              \
  X(R_PCIE_TX, "pcieTx") X(R_PCIE_RX, "pcieRx")                                               \
  X(R_POWER_LIMIT_MIN, "powerLimitMin") X(R_POWER_LIMIT_MAX, "powerLimitMax")                   \
  X(R_POWER_LIMIT_DEFAULT, "powerLimitDefault") X(R_POWER_MGMT_LIMIT, "powerMgmtLimit")         \
  X(R_PSTATE, "pstate") X(R_PCIE_LINK_GEN, "pcieLinkGen") X(R_PCIE_LINK_GEN_MAX, "pcieLinkGenMax") \
  X(R_PCIE_LINK_WIDTH, "pcieLinkWidth") X(R_PCIE_LINK_WIDTH_MAX, "pcieLinkWidthMax")            \
  X(R_TEMP_SHUTDOWN, "tempShutdown") X(R_TEMP_SLOWDOWN, "tempSlowdown")                         \
  X(R_TEMP_GPU_MAX, "tempGpuMax") X(R_TEMP_MEM_MAX, "tempMemMax") X(R_BAR1_TOTAL, "bar1Total")  \
  X(R_BAR1_USED, "bar1Used") X(R_BAR1_FREE, "bar1Free") X(R_COMPUTE_MODE, "computeMode")        \
  X(R_PERSISTENCE_MODE, "persistenceMode") X(R_ECC_MODE_CURRENT, "eccModeCurrent")              \
  X(R_ECC_MODE_PENDING, "eccModePending") X(R_APP_SM_CLOCK, "appSmClock")                       \
  X(R_APP_MEM_CLOCK, "appMemClock") X(R_MAX_VIDEO_CLOCK, "maxVideoClock")                       \
  X(R_VGPU_LICENSE_STATUS, "vgpuLicenseStatus")

#define NVX_READING_ENUM(id, name) id,
#define NVX_READING_NAME(id, name) name,

#endif
