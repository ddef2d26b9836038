#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "threadpool.h"

namespace kiln {
namespace {

constexpr int FMR = 4;
constexpr int FNR = 8;

// Portable register tile; plain loops the compiler vectorises for the baseline ISA.
void microFallback(long kc, const float* a, const float* b, float* c, long ldc, bool accumulate) {
  float acc[FMR][FNR] = {};
  for (long k = 0; k < kc; k++) {
    for (int i = 0; i < FMR; i++) {
      float ai = a[i];
      for (int j = 0; j < FNR; j++) acc[i][j] += ai * b[j];
    }
    a += FMR;
    b += FNR;
  }
  for (int i = 0; i < FMR; i++) {
    float* row = c + i * ldc;
    for (int j = 0; j < FNR; j++) row[j] = accumulate ? row[j] + acc[i][j] : acc[i][j];
  }
}

void rowsFallback(long taps, long clen, const float* const* a, long off, const float* b, float* c, long ldc,
                  bool accumulate) {
  float acc[FMR][FNR] = {};
  for (long t = 0; t < taps; t++) {
    for (long k = 0; k < clen; k++) {
      for (int i = 0; i < FMR; i++) {
        float ai = a[t * FMR + i][off + k];
        for (int j = 0; j < FNR; j++) acc[i][j] += ai * b[j];
      }
      b += FNR;
    }
  }
  for (int i = 0; i < FMR; i++) {
    float* row = c + i * ldc;
    for (int j = 0; j < FNR; j++) row[j] = accumulate ? row[j] + acc[i][j] : acc[i][j];
  }
}

void colsFallback(long kc, const float* a, const float* const* b, long off, float* c, long ldc, bool accumulate) {
  float acc[FMR][FNR] = {};
  for (long k = 0; k < kc; k++) {
    const float* bk = b[k] + off;
    for (int i = 0; i < FMR; i++)
      for (int j = 0; j < FNR; j++) acc[i][j] += a[i] * bk[j];
    a += FMR;
  }
  for (int i = 0; i < FMR; i++) {
    float* row = c + i * ldc;
    for (int j = 0; j < FNR; j++) row[j] = accumulate ? row[j] + acc[i][j] : acc[i][j];
  }
}

const MicroKernel kFallbackKernel = {FMR, FNR, microFallback, "fallback", rowsFallback, colsFallback, nullptr};

#if defined(__x86_64__) || defined(_M_X64)
bool supported(const char* isa) {
  __builtin_cpu_init();
  if (std::strcmp(isa, "avx512") == 0) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  if (std::strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return std::strcmp(isa, "fallback") == 0;
}

const MicroKernel* byName(const char* isa) {
  if (std::strcmp(isa, "avx512") == 0) return &kAvx512Kernel;
  if (std::strcmp(isa, "avx2") == 0) return &kAvx2Kernel;
  return &kFallbackKernel;
}
#else
// Other architectures: the portable kernel only (the x86 kernel files are not compiled there).
bool supported(const char* isa) { return std::strcmp(isa, "fallback") == 0; }
const MicroKernel* byName(const char*) { return &kFallbackKernel; }
#endif

const MicroKernel* initialKernel() {
  const char* wanted = std::getenv("KILN_NATIVE_ISA");
  if (wanted != nullptr && supported(wanted)) return byName(wanted);
  if (supported("avx512")) return &kAvx512Kernel;
  if (supported("avx2")) return &kAvx2Kernel;
  return &kFallbackKernel;
}

const MicroKernel* current = initialKernel();

// Grows, never shrinks; 64-byte aligned so packed slivers start on cache lines.
struct Scratch {
  float* data = nullptr;
  size_t size = 0;
  ~Scratch() { std::free(data); }
  float* get(size_t n) {
    if (n > size) {
      std::free(data);
      size = (n + 1023) & ~static_cast<size_t>(1023);
      data = static_cast<float*>(std::aligned_alloc(64, size * sizeof(float)));
    }
    return data;
  }
};

thread_local Scratch packedA;
thread_local Scratch packedB;

constexpr long KC = 256;
constexpr long MC = 144;
constexpr long NC = 3072;

// op(A) rows [0, mc) × cols [0, kc), starting at a, into mr-row slivers (zero-padded).
void packA(bool ta, const float* a, long lda, long mc, long kc, int mr, float* out) {
  for (long i0 = 0; i0 < mc; i0 += mr) {
    long rows = std::min<long>(mr, mc - i0);
    if (ta) {
      for (long k = 0; k < kc; k++) {
        const float* src = a + k * lda + i0;
        float* dst = out + k * mr;
        long r = 0;
        for (; r < rows; r++) dst[r] = src[r];
        for (; r < mr; r++) dst[r] = 0.f;
      }
    } else {
      for (long r = 0; r < mr; r++) {
        float* dst = out + r;
        if (r < rows) {
          const float* src = a + (i0 + r) * lda;
          for (long k = 0; k < kc; k++) dst[k * mr] = src[k];
        } else {
          for (long k = 0; k < kc; k++) dst[k * mr] = 0.f;
        }
      }
    }
    out += kc * mr;
  }
}

// op(B) rows [0, kc) × cols [0, nc), starting at b, into nr-column slivers (zero-padded).
void packB(bool tb, const float* b, long ldb, long kc, long nc, int nr, float* out) {
  for (long j0 = 0; j0 < nc; j0 += nr) {
    long cols = std::min<long>(nr, nc - j0);
    if (!tb) {
      for (long k = 0; k < kc; k++) {
        const float* src = b + k * ldb + j0;
        float* dst = out + k * nr;
        long c = 0;
        for (; c < cols; c++) dst[c] = src[c];
        for (; c < nr; c++) dst[c] = 0.f;
      }
    } else {
      for (long c = 0; c < nr; c++) {
        float* dst = out + c;
        if (c < cols) {
          const float* src = b + (j0 + c) * ldb;
          for (long k = 0; k < kc; k++) dst[k * nr] = src[k];
        } else {
          for (long k = 0; k < kc; k++) dst[k * nr] = 0.f;
        }
      }
    }
    out += kc * nr;
  }
}

}  // namespace

const MicroKernel& microKernel() { return *current; }

bool cpuHas(const char* isa) { return supported(isa); }

const char* selectIsa(const char* isa) {
  if (supported(isa)) current = byName(isa);
  return current->isa;
}

void gemmSerialPacked(const PackA& packA, bool tb, long m, long n, long k, const float* b, long ldb, float* c, long ldc,
                      bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (long i = 0; i < m; i++) std::memset(c + i * ldc, 0, n * sizeof(float));
    return;
  }
  const MicroKernel& uk = *current;
  const int mr = uk.mr, nr = uk.nr;
  const long mcMax = (MC / mr) * mr;
  float* bp = packedB.get(static_cast<size_t>(KC) * (std::min(NC, n) + nr));
  float* ap = packedA.get(static_cast<size_t>(KC) * (mcMax + mr));
  alignas(64) float edge[16 * 32];
  for (long jc = 0; jc < n; jc += NC) {
    long nc = std::min(NC, n - jc);
    for (long pc = 0; pc < k; pc += KC) {
      long kc = std::min(KC, k - pc);
      bool acc = accumulate || pc > 0;
      packB(tb, tb ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, kc, nc, nr, bp);
      for (long ic = 0; ic < m; ic += mcMax) {
        long mc = std::min(mcMax, m - ic);
        packA(ic, pc, mc, kc, mr, ap);
        for (long jr = 0; jr < nc; jr += nr) {
          long cols = std::min<long>(nr, nc - jr);
          const float* bs = bp + (jr / nr) * kc * nr;
          for (long ir = 0; ir < mc; ir += mr) {
            long rows = std::min<long>(mr, mc - ir);
            const float* as = ap + (ir / mr) * kc * mr;
            float* ct = c + (ic + ir) * ldc + jc + jr;
            if (rows == mr && cols == nr) {
              uk.run(kc, as, bs, ct, ldc, acc);
            } else {
              uk.run(kc, as, bs, edge, nr, false);
              for (long i = 0; i < rows; i++)
                for (long j = 0; j < cols; j++) ct[i * ldc + j] = acc ? ct[i * ldc + j] + edge[i * nr + j] : edge[i * nr + j];
            }
          }
        }
      }
    }
  }
}

void gemmSerial(bool ta, bool tb, long m, long n, long k, const float* a, long lda, const float* b, long ldb,
                float* c, long ldc, bool accumulate) {
  gemmSerialPacked(
      [&](long i0, long k0, long mc, long kc, int mr, float* out) {
        packA(ta, ta ? a + k0 * lda + i0 : a + i0 * lda + k0, lda, mc, kc, mr, out);
      },
      tb, m, n, k, b, ldb, c, ldc, accumulate);
}

void gemmPacked(const PackA& packA, bool tb, long m, long n, long k, const float* b, long ldb, float* c, long ldc,
                bool accumulate) {
  const MicroKernel& uk = *current;
  if (pool().size() == 1 || 2.0 * m * n * k < 2e5) {
    gemmSerialPacked(packA, tb, m, n, k, b, ldb, c, ldc, accumulate);
    return;
  }
  long tilesM = (m + uk.mr - 1) / uk.mr;
  long tilesN = (n + uk.nr - 1) / uk.nr;
  if (tilesM >= tilesN) {
    parallelFor(tilesM, 1, [&](long t0, long t1, int) {
      long i0 = t0 * uk.mr, i1 = std::min(m, t1 * uk.mr);
      PackA shifted = [&](long r0, long k0, long mc, long kc, int mr, float* out) { packA(i0 + r0, k0, mc, kc, mr, out); };
      gemmSerialPacked(shifted, tb, i1 - i0, n, k, b, ldb, c + i0 * ldc, ldc, accumulate);
    });
  } else {
    parallelFor(tilesN, 1, [&](long t0, long t1, int) {
      long j0 = t0 * uk.nr, j1 = std::min(n, t1 * uk.nr);
      gemmSerialPacked(packA, tb, m, j1 - j0, k, tb ? b + j0 * ldb : b + j0, ldb, c + j0, ldc, accumulate);
    });
  }
}

void gemm(bool ta, bool tb, long m, long n, long k, const float* a, long lda, const float* b, long ldb, float* c,
          long ldc, bool accumulate) {
  const MicroKernel& uk = *current;
  int threads = pool().size();
  double flops = 2.0 * m * n * k;
  if (threads == 1 || flops < 2e5) {
    gemmSerial(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    return;
  }
  long tilesM = (m + uk.mr - 1) / uk.mr;
  long tilesN = (n + uk.nr - 1) / uk.nr;
  // Split the dimension with more register tiles, in whole tiles; each part packs its own panels.
  if (tilesM >= tilesN) {
    parallelFor(tilesM, 1, [&](long t0, long t1, int) {
      long i0 = t0 * uk.mr, i1 = std::min(m, t1 * uk.mr);
      gemmSerial(ta, tb, i1 - i0, n, k, ta ? a + i0 : a + i0 * lda, lda, b, ldb, c + i0 * ldc, ldc, accumulate);
    });
  } else {
    parallelFor(tilesN, 1, [&](long t0, long t1, int) {
      long j0 = t0 * uk.nr, j1 = std::min(n, t1 * uk.nr);
      gemmSerial(ta, tb, m, j1 - j0, k, a, lda, tb ? b + j0 * ldb : b + j0, ldb, c + j0, ldc, accumulate);
    });
  }
}

}  // namespace kiln
