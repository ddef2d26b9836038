// Single-precision GEMM: packed panels, cache blocking, an ISA-specific register-tile micro-kernel.
#pragma once

#include <functional>

namespace kiln {

// C[mr×nr] (+)= sum_k a[k*mr + i] * b[k*nr + j] over packed slivers; ldc is C's row stride.
using MicroKernelFn = void (*)(long kc, const float* a, const float* b, float* c, long ldc, bool accumulate);

struct MicroKernel {
  int mr;
  int nr;
  MicroKernelFn run;
  const char* isa;
};

// The kernel in use: the best the CPU supports unless KILN_NATIVE_ISA or selectIsa chose another.
const MicroKernel& microKernel();
// Picks "avx512", "avx2" or "fallback" (if the CPU has it); returns the ISA now in use.
const char* selectIsa(const char* isa);
bool cpuHas(const char* isa);

// Row-major C[m×n] (+)= op(A)[m×k] · op(B)[k×n]; op transposes when ta/tb. One thread.
void gemmSerial(bool ta, bool tb, long m, long n, long k, const float* a, long lda, const float* b, long ldb,
                float* c, long ldc, bool accumulate);
// The same, split over the thread pool.
void gemm(bool ta, bool tb, long m, long n, long k, const float* a, long lda, const float* b, long ldb, float* c,
          long ldc, bool accumulate);

// Packs rows [i0, i0+mc) × columns [k0, k0+kc) of an implicit A into mr-row slivers (zero-padded rows).
using PackA = std::function<void(long i0, long k0, long mc, long kc, int mr, float* out)>;
// C[m×n] (+)= A · op(B) where A is only reachable through packA (implicit GEMM, e.g. a convolution's im2col).
void gemmSerialPacked(const PackA& packA, bool tb, long m, long n, long k, const float* b, long ldb, float* c, long ldc,
                      bool accumulate);
// The same split over the thread pool (by rows of C, or by columns when C has few rows).
void gemmPacked(const PackA& packA, bool tb, long m, long n, long k, const float* b, long ldb, float* c, long ldc,
                bool accumulate);

// Micro-kernels compiled in their own translation units with their ISA flags.
extern const MicroKernel kAvx2Kernel;
extern const MicroKernel kAvx512Kernel;

}  // namespace kiln
