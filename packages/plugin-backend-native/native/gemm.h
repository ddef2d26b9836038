// Single-precision GEMM: packed panels, cache blocking, an ISA-specific register-tile micro-kernel.
#pragma once

#include <functional>

namespace kiln {

// C[mr×nr] (+)= sum_k a[k*mr + i] * b[k*nr + j] over packed slivers; ldc is C's row stride.
using MicroKernelFn = void (*)(long kc, const float* a, const float* b, float* c, long ldc, bool accumulate);

// Indirect A rows (convolutions without im2col): C[mr×nr] (+)= Σ_t Σ_{k<clen} a[t·mr+i][off+k] · b[(t·clen+k)·nr+j],
// one pointer per row and tap (a zero buffer for padding).
using RowsKernelFn = void (*)(long taps, long clen, const float* const* a, long off, const float* b, float* c, long ldc,
                              bool accumulate);
// Indirect B rows: C[mr×nr] (+)= Σ_k a[k·mr+i] · b[k][off+j] (packed A; row k of B is nr contiguous floats at b[k]+off).
using ColsKernelFn = void (*)(long kc, const float* a, const float* const* b, long off, float* c, long ldc,
                              bool accumulate);

// One row of a narrow C (n ≤ ~4 columns) as dot products: out[j] = Σ_t Σ_k a[t][k] · b[t][j·clen + k].
using DotsKernelFn = void (*)(long taps, long clen, const float* const* a, const float* const* b, long n, float* out);

struct MicroKernel {
  int mr;
  int nr;
  MicroKernelFn run;
  const char* isa;
  RowsKernelFn rows;
  ColsKernelFn cols;
  DotsKernelFn dots;  // may be null: narrow C then runs through `rows`
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

// C[m×n] = Σ_t A_t · B_t where row r of A_t is rowPtrs(r, ptrs) → ptrs[t] (clen floats, nullptr = zeros) and
// B_t is bTaps[t]: row-major [clen × n], or [n × clen] when transposed; C row-major with ldc = n. Split over the pool.
using RowPointers = std::function<void(long r, const float** ptrs)>;
void gemmRowsIndirect(long m, long n, long taps, long clen, const RowPointers& rowPtrs, const float* const* bTaps,
                      bool transposed, float* c);

// Micro-kernels compiled in their own translation units with their ISA flags.
extern const MicroKernel kAvx2Kernel;
extern const MicroKernel kAvx512Kernel;

}  // namespace kiln
