// A compact table of XID numbers → short descriptions, for the err_msg label of
// DCGM_FI_DEV_XID_ERRORS. Written for this project from the meanings in NVIDIA's public XID
// catalogue; 0 means no XID has been seen, and anything missing here is "Unknown Error".

const XID_MESSAGES: ReadonlyMap<number, string> = new Map([
  [0, 'No Error'],
  [8, 'GPU stopped processing'],
  [13, 'Graphics engine exception'],
  [31, 'GPU memory page fault'],
  [32, 'Invalid or corrupted push buffer stream'],
  [38, 'Driver firmware error'],
  [43, 'GPU stopped processing'],
  [44, 'Graphics engine fault during context switch'],
  [45, 'Preemptive cleanup, due to previous errors'],
  [48, 'Double bit ECC error'],
  [56, 'Display engine error'],
  [57, 'Error programming video memory interface'],
  [61, 'Internal micro-controller breakpoint or warning'],
  [62, 'Internal micro-controller halt'],
  [63, 'ECC page retirement or row remapping recording event'],
  [64, 'ECC page retirement or row remapper recording failure'],
  [68, 'Video processor exception'],
  [69, 'Graphics engine class error'],
  [74, 'NVLink error'],
  [79, 'GPU has fallen off the bus'],
  [92, 'High single-bit ECC error rate'],
  [94, 'Contained ECC error'],
  [95, 'Uncontained ECC error'],
  [109, 'Context switch timeout error'],
  [119, 'GSP RPC timeout'],
  [120, 'GSP error'],
  [121, 'C2C link corrected error'],
  [122, 'SPI PMU RPC read failure'],
  [123, 'SPI PMU RPC write failure'],
  [124, 'SPI PMU RPC erase failure'],
  [140, 'Unrecovered ECC error'],
  [143, 'GPU initialization failure'],
  [154, 'GPU recovery action changed'],
]);

/** The err_msg text for an XID number. */
export function xidMessage(xid: number): string {
  return XID_MESSAGES.get(xid) ?? 'Unknown Error';
}
