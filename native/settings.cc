// settings.cc — the configuration readings of a sweep (power limits, P-state, PCIe link,
// thresholds, BAR1, compute/persistence/ECC modes, application clocks, max video clock), the vGPU
// licence, and DCGM's brand names (see device_reads.h).
#include <cstring>

#include "device_reads.h"

namespace nvx {

namespace {

// DCGM's value of DCGM_FI_DEV_VGPU_LICENSE_STATUS: licensing not supported (bare metal) → 0; the
// vGPU feature's state → 1 licensed / 0 not; no vGPU feature listed → no value (NOT_SUPPORTED).
void VgpuLicense(const NvmlApi &a, Dev &d) {
  if (a.deviceGetGridLicensableFeatures == nullptr) return d.r.Fail(R_VGPU_LICENSE_STATUS, NVML_ERROR_FUNCTION_NOT_FOUND);
  nvmlGridLicensableFeatures_t f;
  std::memset(&f, 0, sizeof f);
  if (!d.Ok(R_VGPU_LICENSE_STATUS, a.deviceGetGridLicensableFeatures(d.h, &f))) return;
  if (!f.isGridLicenseSupported) return d.r.Set(R_VGPU_LICENSE_STATUS, 0);
  const unsigned n = f.licensableFeaturesCount < NVML_GRID_LICENSE_FEATURE_MAX_COUNT ? f.licensableFeaturesCount
                                                                                      : NVML_GRID_LICENSE_FEATURE_MAX_COUNT;
  const unsigned char *base = reinterpret_cast<const unsigned char *>(f.gridLicensableFeatures);
  for (unsigned i = 0; i < n; i++) {
    // the entries are laid out with the stride of the symbol that filled them (nvml_abi.h)
    nvmlGridLicensableFeature_t e;
    std::memcpy(&e, base + static_cast<size_t>(i) * a.gridLicensableFeatureStride, offsetof(nvmlGridLicensableFeature_t, licenseInfo));
    if (e.featureCode == NVML_GRID_LICENSE_FEATURE_CODE_VGPU) return d.r.Set(R_VGPU_LICENSE_STATUS, e.featureState > 0 ? 1 : 0);
  }
  d.r.Fail(R_VGPU_LICENSE_STATUS, NVML_ERROR_NOT_SUPPORTED);
}

}  // namespace

void Settings(const NvmlApi &a, Dev &d) {
  if (a.deviceGetPowerManagementLimitConstraints == nullptr) {
    d.FailAll({R_POWER_LIMIT_MIN, R_POWER_LIMIT_MAX}, NVML_ERROR_FUNCTION_NOT_FOUND);
  } else {
    unsigned mn = 0, mx = 0;
    nvmlReturn_t rc = a.deviceGetPowerManagementLimitConstraints(d.h, &mn, &mx);
    if (d.Ok(R_POWER_LIMIT_MIN, rc)) {
      d.r.Set(R_POWER_LIMIT_MIN, mn);
      d.r.Set(R_POWER_LIMIT_MAX, mx);
    } else {
      d.r.Fail(R_POWER_LIMIT_MAX, rc);
    }
  }
  d.U32(R_POWER_LIMIT_DEFAULT, a.deviceGetPowerManagementDefaultLimit);
  d.U32(R_POWER_MGMT_LIMIT, a.deviceGetPowerManagementLimit);
  d.Enum(R_PSTATE, a.deviceGetPerformanceState);
  if (d.lost) return;
  d.U32(R_PCIE_LINK_GEN, a.deviceGetCurrPcieLinkGeneration);
  d.U32(R_PCIE_LINK_GEN_MAX, a.deviceGetMaxPcieLinkGeneration);
  d.U32(R_PCIE_LINK_WIDTH, a.deviceGetCurrPcieLinkWidth);
  d.U32(R_PCIE_LINK_WIDTH_MAX, a.deviceGetMaxPcieLinkWidth);
  if (d.lost) return;
  static const int thresholds[4][2] = {{R_TEMP_SHUTDOWN, NVML_TEMPERATURE_THRESHOLD_SHUTDOWN},
                                       {R_TEMP_SLOWDOWN, NVML_TEMPERATURE_THRESHOLD_SLOWDOWN},
                                       {R_TEMP_GPU_MAX, NVML_TEMPERATURE_THRESHOLD_GPU_MAX},
                                       {R_TEMP_MEM_MAX, NVML_TEMPERATURE_THRESHOLD_MEM_MAX}};
  for (const auto &th : thresholds) {
    if (a.deviceGetTemperatureThreshold == nullptr) {
      d.r.Fail(th[0], NVML_ERROR_FUNCTION_NOT_FOUND);
      continue;
    }
    unsigned v = 0;
    if (d.Ok(th[0], a.deviceGetTemperatureThreshold(d.h, th[1], &v))) d.r.Set(th[0], v);
    if (d.lost) return;
  }
  if (a.deviceGetBAR1MemoryInfo == nullptr) {
    d.FailAll({R_BAR1_TOTAL, R_BAR1_USED, R_BAR1_FREE}, NVML_ERROR_FUNCTION_NOT_FOUND);
  } else {
    nvmlBAR1Memory_t b;
    std::memset(&b, 0, sizeof b);
    nvmlReturn_t rc = a.deviceGetBAR1MemoryInfo(d.h, &b);
    if (d.Ok(R_BAR1_TOTAL, rc)) {
      d.r.Set(R_BAR1_TOTAL, static_cast<double>(b.bar1Total));
      d.r.Set(R_BAR1_USED, static_cast<double>(b.bar1Used));
      d.r.Set(R_BAR1_FREE, static_cast<double>(b.bar1Free));
    } else {
      d.FailAll({R_BAR1_USED, R_BAR1_FREE}, rc);
    }
  }
  d.Enum(R_COMPUTE_MODE, a.deviceGetComputeMode);
  d.Enum(R_PERSISTENCE_MODE, a.deviceGetPersistenceMode);
  if (d.lost) return;
  if (a.deviceGetEccMode == nullptr) {
    d.FailAll({R_ECC_MODE_CURRENT, R_ECC_MODE_PENDING}, NVML_ERROR_FUNCTION_NOT_FOUND);
  } else {
    unsigned cur = 0, pending = 0;
    nvmlReturn_t rc = a.deviceGetEccMode(d.h, &cur, &pending);
    if (d.Ok(R_ECC_MODE_CURRENT, rc)) {
      d.r.Set(R_ECC_MODE_CURRENT, cur);
      d.r.Set(R_ECC_MODE_PENDING, pending);
    } else {
      d.r.Fail(R_ECC_MODE_PENDING, rc);
    }
  }
  d.Clock(R_APP_SM_CLOCK, a.deviceGetApplicationsClock, NVML_CLOCK_SM);
  d.Clock(R_APP_MEM_CLOCK, a.deviceGetApplicationsClock, NVML_CLOCK_MEM);
  d.Clock(R_MAX_VIDEO_CLOCK, a.deviceGetMaxClockInfo, NVML_CLOCK_VIDEO);
  if (d.lost) return;
  VgpuLicense(a, d);
}

const char *BrandName(int brand) {
  switch (brand) {
    case NVML_BRAND_QUADRO: return "Quadro";
    case NVML_BRAND_TESLA: return "Tesla";
    case NVML_BRAND_NVS: return "NVS";
    case NVML_BRAND_GRID: return "Grid";
    case NVML_BRAND_GEFORCE: return "GeForce";
    case NVML_BRAND_TITAN: return "Titan";
    case NVML_BRAND_NVIDIA_VAPPS: return "NVIDIA Virtual Applications";
    case NVML_BRAND_NVIDIA_VPC: return "NVIDIA Virtual PC";
    case NVML_BRAND_NVIDIA_VCS: return "NVIDIA Virtual Compute Server";
    case NVML_BRAND_NVIDIA_VWS: return "NVIDIA RTX Virtual Workstation";
    case NVML_BRAND_NVIDIA_CLOUD_GAMING: return "NVIDIA vGaming";
    case NVML_BRAND_QUADRO_RTX: return "Quadro RTX";
    case NVML_BRAND_NVIDIA_RTX: return "NVIDIA RTX";
    case NVML_BRAND_NVIDIA: return "NVIDIA";
    case NVML_BRAND_GEFORCE_RTX: return "GeForce RTX";
    case NVML_BRAND_TITAN_RTX: return "Titan RTX";
    default: return "Unknown";
  }
}

}  // namespace nvx
