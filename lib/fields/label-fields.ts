// `label` rows NVML can give: their value becomes a label, named after the field, on every GPU
// sample (dcgm-exporter writes DCGM_FI_DRIVER_VERSION this way).
import type { LabelField } from './types.js';

export const LABEL_FIELDS: readonly LabelField[] = [
  { kind: 'label', name: 'DCGM_FI_DRIVER_VERSION', id: 1, type: 'label', help: 'Driver Version', unit: '',
    value: (s) => s.driverVersion || undefined },
  { kind: 'label', name: 'DCGM_FI_NVML_VERSION', id: 2, type: 'label', help: 'NVML Version', unit: '',
    value: (s) => s.nvmlVersion || undefined },
  { kind: 'label', name: 'DCGM_FI_CUDA_DRIVER_VERSION', id: 5, type: 'label', help: 'CUDA Driver Version', unit: '',
    value: (s) => (s.cudaDriverVersion === null ? undefined : String(s.cudaDriverVersion)) },
  { kind: 'label', name: 'DCGM_FI_DEV_NAME', id: 50, type: 'label', help: 'Device Name', unit: '',
    value: (_s, d, m) => (m ? m.name : d.name) || undefined },
  { kind: 'label', name: 'DCGM_FI_DEV_BRAND', id: 51, type: 'label', help: 'Device Brand', unit: '',
    value: (_s, d) => d.brand || undefined },
  { kind: 'label', name: 'DCGM_FI_DEV_OEM_INFOROM_VER', id: 56, type: 'label', help: 'OEM inforom version', unit: '',
    value: (_s, d) => d.inforom?.oem || undefined },
  { kind: 'label', name: 'DCGM_FI_DEV_ECC_INFOROM_VER', id: 80, type: 'label', help: 'ECC inforom version', unit: '',
    value: (_s, d) => d.inforom?.ecc || undefined },
  { kind: 'label', name: 'DCGM_FI_DEV_POWER_INFOROM_VER', id: 81, type: 'label', help: 'Power management object inforom version', unit: '',
    value: (_s, d) => d.inforom?.power || undefined },
  { kind: 'label', name: 'DCGM_FI_DEV_INFOROM_IMAGE_VER', id: 82, type: 'label', help: 'Inforom image version', unit: '',
    value: (_s, d) => d.inforom?.image || undefined },
  { kind: 'label', name: 'DCGM_FI_DEV_VBIOS_VERSION', id: 85, type: 'label', help: 'VBIOS version of the device', unit: '',
    value: (_s, d) => d.vbiosVersion || undefined },
  { kind: 'label', name: 'DCGM_FI_DEV_SERIAL', id: 53, type: 'label', help: 'Device Serial Number', unit: '',
    value: (_s, d) => d.serial || undefined },
  { kind: 'label', name: 'DCGM_FI_DEV_UUID', id: 54, type: 'label', help: 'Device UUID', unit: '',
    value: (_s, d, m) => (m ? m.uuid : d.uuid) || undefined },
  { kind: 'label', name: 'DCGM_FI_DEV_MINOR_NUMBER', id: 55, type: 'label', help: 'Device minor number', unit: '',
    value: (_s, d) => (d.minor === null ? undefined : String(d.minor)) },
  { kind: 'label', name: 'DCGM_FI_DEV_PCI_BUSID', id: 57, type: 'label', help: 'Device PCI bus id', unit: '',
    value: (_s, d) => d.pciBusId || undefined },
];
