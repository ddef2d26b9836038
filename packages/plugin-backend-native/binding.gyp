{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions"],
    "cflags_cc": [
      "-std=c++17", "-O3", "-fno-math-errno", "-fPIC",
      "<!@(node -p \"process.env.KILN_SANITIZE === '1' ? '-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g' : ''\")"
    ],
    "ldflags": ["<!@(node -p \"process.env.KILN_SANITIZE === '1' ? '-fsanitize=address,undefined' : ''\")"],
    "cflags!": ["-fno-exceptions"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"]
  },
  "targets": [
    {
      "target_name": "kiln_gemm_avx2",
      "type": "static_library",
      "sources": [],
      "conditions": [["target_arch=='x64'", { "sources": ["native/gemm_avx2.cc"] }]],
      "cflags_cc": ["-mavx2", "-mfma"]
    },
    {
      "target_name": "kiln_gemm_avx512",
      "type": "static_library",
      "sources": [],
      "conditions": [["target_arch=='x64'", { "sources": ["native/gemm_avx512.cc"] }]],
      "cflags_cc": ["-mavx512f", "-mfma"]
    },
    {
      "target_name": "kiln_native",
      "sources": ["native/addon.cc", "native/threadpool.cc", "native/gemm.cc", "native/conv.cc", "native/igemm.cc", "native/winograd.cc", "native/pool.cc", "native/elementwise.cc"],
      "libraries": ["-lpthread"],
      "conditions": [["target_arch=='x64'", { "dependencies": ["kiln_gemm_avx2", "kiln_gemm_avx512"] }]]
    }
  ]
}
