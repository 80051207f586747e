/*
 * sim.h — internal declarations of the simulated NVML (native/fake/).
 *
 * The library keeps one parsed scenario (sim_scenario_t) behind one mutex. Device handles are
 * addresses in static arrays (one per GPU slot, one per MIG slot), so a handle stays the same
 * pointer for the whole life of the process, across scenario reloads.
 */
#ifndef NVML_SIM_H
#define NVML_SIM_H

#include "nvml_abi.h"
#include "reading_keys.h"

#define SIM_MAX_GPUS 64
#define SIM_MAX_MIG 8    /* MIG slots per GPU (H100 has 7) */
#define SIM_MAX_CALLS 48 /* error/delay entries per scope */
#define SIM_MAX_XIDS 512
#define SIM_STR 96
#define SIM_FN 64
#define SIM_NVLINK_LINKS 18 /* an H100 SXM's links; ids 0..17 */
#define SIM_MAX_GI 16       /* GPU-instance ids 0..15 */
#define SIM_GPM_LINES 24    /* `gpm METRIC VALUE` lines per GPU or MIG device */
#define SIM_MAX_PROCS 64    /* processes per GPU (all its MIG devices together) */

/* Driver quirks a scenario can switch on (README: "Real-driver quirks"). */
enum {
  Q_FIELD_TYPES_DOUBLE = 1 << 0,   /* gpu: integer field values labelled NVML_VALUE_TYPE_DOUBLE */
  Q_ECC_FIELDS_UNTOUCHED = 1 << 1, /* gpu: with ECC off, entries of fields 1-31 left untouched */
  Q_NO_NVLINK_ALL_SCOPE = 1 << 2,  /* gpu: NVLink throughput fields do not answer scopeId 0xFFFFFFFF */
  Q_NO_PERF_POLICY_FIELDS = 1 << 3, /* gpu: fields 74-79 unknown (NOT_SUPPORTED) */
  Q_NO_LIBCUDA = 1 << 8,           /* global: nvmlSystemGetCudaDriverVersion_v2 → LIBRARY_NOT_FOUND */
  Q_WAIT_V2_NOT_SUPPORTED = 1 << 9, /* global: nvmlEventSetWait_v2 → NOT_SUPPORTED at run time */
  Q_WAIT_V2_NOT_FOUND = 1 << 10,   /* global: nvmlEventSetWait_v2 → FUNCTION_NOT_FOUND at run time */
  Q_PROCESS_INFO_32 = 1 << 11      /* global: the `_v3` process lists write 32-byte entries (R535.43-535.86) */
};

#pragma GCC visibility push(hidden)

/* Reading keys: native/reading_keys.h (the order of READING_KEYS in lib/nvml/types.ts). */
enum { NVX_READINGS(NVX_READING_ENUM) R_COUNT };
extern const char *const sim_reading_names[R_COUNT];

enum { V_UNSET = 0, V_CONST, V_WAVE, V_RAMP, V_UNSUPPORTED };
typedef struct {
  int kind;
  double a, b, c, d; /* const: a; wave: min a, max b, period c, phase d; ramp: start a, per s b */
} sim_value_t;

typedef struct {
  char fn[SIM_FN];
  int value; /* return code (errors) or milliseconds (delays) */
} sim_call_t;

typedef struct {
  int n;
  sim_call_t e[SIM_MAX_CALLS];
} sim_calls_t;

/* One `gpm METRIC VALUE` line (sim_gpm.c): a GPM metric's value as a scenario value, NaN, or an
 * error code for that metric. */
enum { GPM_VALUE = 0, GPM_NAN, GPM_ERROR };
typedef struct {
  int id;   /* nvmlGpmMetricId_t */
  int kind; /* GPM_VALUE, GPM_NAN, GPM_ERROR */
  int code; /* GPM_ERROR: the metric's nvmlReturn */
  sim_value_t v;
} sim_gpm_line_t;

typedef struct {
  char profile[32];    /* as written: [Nc.]Sg.Mgb[+suffix]; the MIG device name ends with it */
  char gi_profile[32]; /* the GPU instance's profile: without the Nc. prefix */
  int slices, gb;      /* of the GPU instance */
  int ci_slices;       /* N of an Nc. prefix; = slices without one */
  int gi_mem_mb;       /* the GI profile's memorySizeMB; 0 = derive */
  char uuid[SIM_STR];
  int gi, ci; /* -1 = derive */
  sim_value_t v[R_COUNT];
  int ngpm;
  sim_gpm_line_t gpm[SIM_GPM_LINES];
} sim_mig_t;

/* A process on a GPU or MIG device (sim_processes.c). */
enum { SIM_PROC_COMPUTE = 1, SIM_PROC_GRAPHICS = 2, SIM_PROC_MPS = 4 };
typedef struct {
  unsigned pid;
  int kinds; /* SIM_PROC_* bits */
  int mig;   /* MIG slot it runs on, -1 = the GPU */
  sim_value_t mem, sm, memutil, enc, dec; /* bytes; % of each sample period */
  double start, exit; /* seconds since the library was first initialised; exit < 0 = never */
} sim_proc_t;

/* A string identity value (VBIOS, inforom versions): text, or the call answers NOT_SUPPORTED. */
typedef struct {
  char text[32];
  int unsupported;
} sim_str_t;

typedef struct {
  char uuid[SIM_STR], name[SIM_STR], pci[32], serial[32];
  int minor;      /* -1 = derive */
  int lost;       /* 0 = present, else the code every call returns */
  int mig_capable; /* -1 = derive (capable when MIG instances are listed) */
  int mig_mode;    /* -1 = derive (enabled when MIG instances are listed), 0 off, 1 on */
  int quirks;      /* Q_* gpu bits */
  int gi_denied;   /* GPU-instance calls answer NO_PERMISSION */
  int nlinks;      /* -1 = default (18 links, ids 0..17); else the active link ids below */
  int link_ids[SIM_NVLINK_LINKS];
  sim_str_t vbios, inforom_image, inforom[3]; /* inforom: OEM, ECC, power objects */
  int brand;       /* nvmlBrandType_t; -1 = NOT_SUPPORTED */
  sim_value_t v[R_COUNT];
  sim_calls_t errors, delays;
  int nmig;
  sim_mig_t mig[SIM_MAX_MIG];
  int gpm_support; /* -1 = derive from the name (Hopper and newer), 0 no, 1 yes */
  int ngpm;
  sim_gpm_line_t gpm[SIM_GPM_LINES];
  int nprocs;
  sim_proc_t procs[SIM_MAX_PROCS];
  /* readings the scenario leaves unset that follow the processes: bit 0 the GPU's gpuUtil,
   * bit 1 the GPU's memUsed, bit 2+s the memUsed of MIG slot s */
  int procs_drive;
} sim_gpu_t;

typedef struct {
  int gpu, xid;
  long long id;
  unsigned gi, ci; /* what the v2 wait reports; 0xFFFFFFFF = none */
} sim_xid_t;

typedef struct {
  char driver[SIM_STR], nvml[SIM_STR];
  int cuda;
  sim_calls_t errors, delays;
  int quirks;            /* Q_* global bits */
  int latency;           /* 1: every call costs its published latency (README: "Latency model") */
  sim_calls_t latencies; /* per-function cost overrides, in nanoseconds */
  int ngpus;
  sim_gpu_t gpu[SIM_MAX_GPUS];
  int nxids;
  sim_xid_t xid[SIM_MAX_XIDS];
  int gpm_metric_max; /* the driver header's NVML_GPM_METRIC_MAX: the most metrics one call takes */
} sim_scenario_t;

/* Handles: the simulated library's view of nvmlDevice_t. */
struct nvmlDevice_st {
  int gpu;  /* GPU index */
  int slot; /* MIG slot, or -1 for the GPU itself */
};
struct nvmlGpuInstance_st {
  int gpu, id;
};

/* sim_parse.c */
/* Parses `text` into `out`, which must come zeroed (calloc), and fills defaults. Returns 0, or the
 * 1-based line of the first error with a message in `err`. sim_default_scenario: the same for `out`. */
int sim_parse(const char *text, sim_scenario_t *out, char *err, size_t errlen);
void sim_default_scenario(sim_scenario_t *out, int ngpus);
/* A scenario value (number, wave, ramp, unsupported) from words t[0..n), t[0] the key; 0 or -1 with err. */
int sim_parse_value(char **t, int n, sim_value_t *v, char *err, size_t errlen);

/* sim_state.c */
extern sim_scenario_t *sim_sc;                                /* current scenario (under the lock) */
extern struct nvmlDevice_st sim_gpu_handles[SIM_MAX_GPUS];
extern struct nvmlDevice_st sim_mig_handles[SIM_MAX_GPUS][SIM_MAX_MIG];
extern struct nvmlGpuInstance_st sim_gi_handles[SIM_MAX_GPUS][SIM_MAX_GI];
void sim_lock(void);
void sim_unlock(void);
int sim_initialized(void); /* under the lock */
nvmlReturn_t sim_init(const char *fn);
nvmlReturn_t sim_shutdown(void);
void sim_refresh(void); /* under the lock: reload the scenario if its file changed */
/* The common prologue of every device call. On SUCCESS the lock is held and *gpu (and *mig, NULL
 * for a GPU handle) point into the current scenario; on any other code the lock is released. */
nvmlReturn_t sim_enter_dev(const char *fn, nvmlDevice_t dev, sim_gpu_t **gpu, sim_mig_t **mig);
/* Same for calls without a device (system calls). */
nvmlReturn_t sim_enter(const char *fn);
nvmlReturn_t sim_leave(nvmlReturn_t r); /* releases the lock, returns r */
void sim_sleep_ms(double ms);
double sim_now_s(void); /* wall clock, seconds */
double sim_since_init_s(void); /* monotonic seconds since this process first initialised the library */
/* Evaluates reading k of a GPU or MIG device: NOT_SUPPORTED or SUCCESS with *out. */
nvmlReturn_t sim_read(const sim_gpu_t *g, const sim_mig_t *m, int k, double *out);
nvmlReturn_t sim_read_u32(const sim_gpu_t *g, const sim_mig_t *m, int k, unsigned int *out);
nvmlReturn_t sim_read_u64(const sim_gpu_t *g, const sim_mig_t *m, int k, unsigned long long *out);
int sim_gpu_index(const sim_gpu_t *g);
int sim_mig_enabled(const sim_gpu_t *g);
int sim_mig_visible(const sim_gpu_t *g); /* MIG devices that exist now (0 while MIG is off) */
/* The MIG device that holds the memory of m's GPU instance (the first listed with its gi). */
const sim_mig_t *sim_gi_owner(const sim_gpu_t *g, const sim_mig_t *m);
int sim_mig_monitor_allowed(void); /* NVIDIA_MIG_MONITOR_DEVICES=all in this process */
/* sim_gpm.c: a `gpm` line of a gpu or mig block (and `gpm max N` globally), and the defaults. */
int sim_gpm_parse_line(char **t, int n, sim_scenario_t *s, sim_gpu_t *g, sim_mig_t *m, char *err, size_t errlen);
void sim_gpm_finish_gpu(sim_gpu_t *g);
/* sim_latency.c: the published per-call cost of `fn` in ns (README: "Latency model"). */
long long sim_published_cost_ns(const char *fn);
nvmlReturn_t sim_copy_str(char *buf, unsigned int len, const char *s);
/* sim_processes.c: a reading that follows the processes (procs_drive); 1 when *out was set. */
int sim_proc_derived(const sim_gpu_t *g, const sim_mig_t *m, int k, double *out);
/* seconds since this process first initialised the library (the origin of ramps) */
double sim_uptime_s(void);

/* Opens a device call: g/m are the GPU (and MIG instance) behind dev, or it returns the code. */
#define DEV_ENTER(dev)                                     \
  sim_gpu_t *g;                                            \
  sim_mig_t *m;                                            \
  nvmlReturn_t r = sim_enter_dev(__func__, (dev), &g, &m); \
  if (r) return r

#pragma GCC visibility pop

/* The exported NVML entry points. */
#define SIM_API __attribute__((visibility("default")))

#endif
