{
  "variables": {
    # dmem_verbs is built only where libibverbs' headers are installed.
    "dmem_have_verbs%": "<!(node scripts/have-verbs.js)",
    # Warnings are errors in CI (CI=true), plain warnings elsewhere.
    "dmem_werror%": "<!(node -p \"process.env.CI ? 1 : 0\")",
  },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/core", "native"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "cflags": ["-Wall", "-Wextra", "-fvisibility=hidden"],
    "cflags_cc": ["-std=c++17", "-pthread", "-fexceptions", "-Wall", "-Wextra", "-fvisibility=hidden"],
    "conditions": [
      ["dmem_werror==1", { "cflags": ["-Werror"], "cflags_cc": ["-Werror"] }],
    ],
  },
  "targets": [
    {
      "target_name": "dmem_core",
      "libraries": ["-pthread"],
      "sources": [
        "native/core/common/system_error.cc",
        "native/core/uffd/userfaultfd.cc",
        "native/core/uffd/region.cc",
        "native/core/uffd/region_datapath.cc",
        "native/addon/js_errors.cc",
        "native/core/transport/staging.cc",
        "native/core/transport/fd_passing.cc",
        "native/core/transport/slab_store.cc",
        "native/core/transport/node_server.cc",
        "native/core/transport/remote_session.cc",
        "native/core/transport/connection.cc",
        "native/core/transport/connection_datapath.cc",
        "native/core/transport/raw_baseline.cc",
        "native/core/pager/floor_pager.cc",
        "native/addon/region_wrap.cc",
        "native/addon/transport_wrap.cc",
        "native/addon/bench_wrap.cc",
        "native/addon/core_addon.cc",
      ],
    },
  ],
  "conditions": [
    ["dmem_have_verbs==1", {
      "targets": [
        {
          "target_name": "dmem_verbs",
          "sources": [
            "native/core/common/system_error.cc",
            "native/core/verbs/device_info.cc",
            "native/addon/js_errors.cc",
            "native/addon/verbs_addon.cc",
          ],
          "libraries": ["-libverbs"],
        },
      ],
    }],
  ],
}
