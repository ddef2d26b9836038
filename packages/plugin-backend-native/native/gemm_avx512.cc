// Compiled with -mavx512f -mfma only; called only when the CPU reports AVX-512F.
#include <immintrin.h>

#include "gemm.h"

namespace kiln {
namespace {

constexpr int MR = 12;
constexpr int NR = 32;

void microAvx512(long kc, const float* a, const float* b, float* c, long ldc, bool accumulate) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (long k = 0; k < kc; k++) {
    __m512 b0 = _mm512_loadu_ps(b);
    __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += MR;
    b += NR;
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    float* row = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(row));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc[i][0]);
    _mm512_storeu_ps(row + 16, acc[i][1]);
  }
}

void rowsAvx512(long taps, long clen, const float* const* a, long off, const float* b, float* c, long ldc, bool accumulate) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (long t = 0; t < taps; t++) {
    const float* p[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) p[i] = a[t * MR + i] + off;
    for (long k = 0; k < clen; k++) {
      __m512 b0 = _mm512_loadu_ps(b);
      __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
      for (int i = 0; i < MR; i++) {
        __m512 ai = _mm512_set1_ps(p[i][k]);
        acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
      }
      b += NR;
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    float* row = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(row));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc[i][0]);
    _mm512_storeu_ps(row + 16, acc[i][1]);
  }
}

void colsAvx512(long kc, const float* a, const float* const* b, long off, float* c, long ldc, bool accumulate) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (long k = 0; k < kc; k++) {
    const float* bk = b[k] + off;
    __m512 b0 = _mm512_loadu_ps(bk);
    __m512 b1 = _mm512_loadu_ps(bk + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += MR;
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    float* row = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(row));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc[i][0]);
    _mm512_storeu_ps(row + 16, acc[i][1]);
  }
}

void dotsAvx512(long taps, long clen, const float* const* a, const float* const* b, long n, float* out) {
  const long tail = clen % 16;
  const __mmask16 mask = static_cast<__mmask16>((1u << tail) - 1u);
  for (long c0 = 0; c0 < n; c0 += 4) {
    const long cn = n - c0 < 4 ? n - c0 : 4;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (long t = 0; t < taps; t++) {
      const float* at = a[t];
      const float* bt = b[t] + c0 * clen;
      long k = 0;
      for (; k + 16 <= clen; k += 16) {
        __m512 av = _mm512_loadu_ps(at + k);
        for (long j = 0; j < cn; j++) acc[j] = _mm512_fmadd_ps(av, _mm512_loadu_ps(bt + j * clen + k), acc[j]);
      }
      if (tail != 0) {
        __m512 av = _mm512_maskz_loadu_ps(mask, at + k);
        for (long j = 0; j < cn; j++) acc[j] = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(mask, bt + j * clen + k), acc[j]);
      }
    }
    for (long j = 0; j < cn; j++) {
      alignas(64) float lanes[16];
      _mm512_store_ps(lanes, acc[j]);
      float sum = 0.f;
      for (int l = 0; l < 16; l++) sum += lanes[l];
      out[c0 + j] = sum;
    }
  }
}

}  // namespace

const MicroKernel kAvx512Kernel = {MR, NR, microAvx512, "avx512", rowsAvx512, colsAvx512, dotsAvx512};

}  // namespace kiln
