// Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions (Lavin & Gray 2015): each 2×2 output tile costs 16
// multiplies per channel pair instead of 36, as 16 GEMMs [tiles × C] · [C × O] between an input and an
// output transform; the filter gradient by F(3×3, 2×2). The kernels live in winograd_impl.h, compiled here twice:
// baseline and (GCC, x86-64) AVX-512 for the transforms, picked with the GEMM micro-kernel's ISA.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

#define KILN_WINO_NS base
#include "winograd_impl.h"
#undef KILN_WINO_NS

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__) && !defined(__clang__)
#define KILN_WINO_AVX512 1
#pragma GCC push_options
#pragma GCC target("avx512f,fma,prefer-vector-width=512")
#define KILN_WINO_NS avx512
#include "winograd_impl.h"
#undef KILN_WINO_NS
#pragma GCC pop_options
#endif

namespace kiln {

#ifdef KILN_WINO_AVX512
#define KILN_WINO_PICK(fn, ...) \
  (std::strcmp(microKernel().isa, "avx512") == 0 ? avx512::fn(__VA_ARGS__) : base::fn(__VA_ARGS__))
#else
#define KILN_WINO_PICK(fn, ...) base::fn(__VA_ARGS__)
#endif

bool winogradApplies(long fH, long fW, long sH, long sW, long dH, long dW, long padT, long padL, long inC, long outC,
                     long outH, long outW) {
  // KILN_NATIVE_WINOGRAD=0 keeps every convolution on the direct kernel (comparisons, or a numerics question).
  static const bool enabled = [] {
    const char* v = std::getenv("KILN_NATIVE_WINOGRAD");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return enabled && fH == 3 && fW == 3 && sH == 1 && sW == 1 && dH == 1 && dW == 1 && padT >= 0 && padT <= 2 && padL >= 0 &&
         padL <= 2 && inC >= 64 && outC >= 64 && outH >= 2 && outW >= 2;
}

void winogradConv3x3(long batch, long inH, long inW, long C, long outH, long outW, long O, long padT, long padL,
                     const float* x, const float* f, bool rotated, float* y) {
  KILN_WINO_PICK(winogradConv3x3Impl, batch, inH, inW, C, outH, outW, O, padT, padL, x, f, rotated, y);
}

void winogradBackpropFilter3x3(long batch, long inH, long inW, long C, long outH, long outW, long O, long padT,
                               long padL, const float* x, const float* dy, float* df) {
  KILN_WINO_PICK(winogradBackpropFilter3x3Impl, batch, inH, inW, C, outH, outW, O, padT, padL, x, dy, df);
}

void winogradBackpropFilterBlocked3x3(long batch, long inH, long inW, long C, long outH, long outW, long O, long padT,
                                      long padL, const float* x, const float* dy, float* df) {
  KILN_WINO_PICK(winogradBackpropFilterBlocked3x3Impl, batch, inH, inW, C, outH, outW, O, padT, padL, x, dy, df);
}

}  // namespace kiln
