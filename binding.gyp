{
  "targets": [
    {
      "target_name": "nvml_addon",
      "sources": [ "native/addon.cc", "native/loader.cc", "native/sweep.cc", "native/device_reads.cc", "native/settings.cc", "native/mig.cc", "native/worker.cc", "native/events.cc", "native/result.cc", "native/gpm.cc", "native/processes.cc" ],
      "include_dirs": [ "<!(node -p \"require('node-addon-api').include_dir\")", "native" ],
      "defines": [ "NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS" ],
      "cflags!": [ "-fno-exceptions" ],
      "cflags_cc!": [ "-fno-exceptions" ],
      "cflags_cc": [ "-std=c++17", "-Wall", "-Wextra", "-O2" ],
      "libraries": [ "-ldl", "-lpthread" ]
    },
    {
      "target_name": "nvml_sim",
      "type": "shared_library",
      "product_name": "nvml_sim",
      "sources": [ "native/fake/nvml_sim.c", "native/fake/sim_state.c", "native/fake/sim_parse.c", "native/fake/sim_readings.c", "native/fake/sim_fields.c", "native/fake/sim_mig_events.c", "native/fake/sim_settings.c", "native/fake/sim_gpu_instances.c", "native/fake/sim_latency.c", "native/fake/sim_gpm.c", "native/fake/sim_gpm_parse.c", "native/fake/sim_processes.c" ],
      "include_dirs": [ "native" ],
      "cflags": [ "-std=c11", "-Wall", "-Wextra", "-O2", "-fPIC" ],
      "libraries": [ "-lpthread", "-lm" ]
    },
    {
      "target_name": "nvml_sim_legacy",
      "type": "shared_library",
      "product_name": "nvml_sim_legacy",
      "sources": [ "native/fake/nvml_sim.c", "native/fake/sim_state.c", "native/fake/sim_parse.c", "native/fake/sim_readings.c", "native/fake/sim_fields.c", "native/fake/sim_mig_events.c", "native/fake/sim_settings.c", "native/fake/sim_gpu_instances.c", "native/fake/sim_latency.c", "native/fake/sim_gpm.c", "native/fake/sim_gpm_parse.c", "native/fake/sim_processes.c" ],
      "include_dirs": [ "native" ],
      "defines": [ "NVML_SIM_LEGACY=1" ],
      "cflags": [ "-std=c11", "-Wall", "-Wextra", "-O2", "-fPIC" ],
      "libraries": [ "-lpthread", "-lm" ]
    }
  ]
}
