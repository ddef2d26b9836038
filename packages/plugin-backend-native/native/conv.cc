#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

namespace kiln {
namespace {

// Floats of col2im scratch per pass (strided input gradient): big enough to amortise packing, small enough to stay in cache-ish.
constexpr long kColBudget = 1L << 22;

bool isPointwise(const ConvGeom& g) {
  return g.fH == 1 && g.fW == 1 && g.sH == 1 && g.sW == 1 && g.padT == 0 && g.padL == 0 && g.outH == g.inH &&
         g.outW == g.inW;
}

// The im2col matrix packed straight from the image into GEMM slivers: no col buffer (implicit GEMM).
void packConvRows(const ConvGeom& g, const float* x, long i0, long k0, long mc, long kc, int mr, float* out) {
  const long C = g.inC, rowLen = g.fW * C, plane = g.outH * g.outW;
  for (long s = 0; s < mc; s += mr) {
    float* sliver = out + (s / mr) * kc * mr;
    for (int r = 0; r < mr; r++) {
      float* dst = sliver + r;
      if (s + r >= mc) {
        for (long k = 0; k < kc; k++) dst[k * mr] = 0.f;
        continue;
      }
      long p = i0 + s + r;
      long b = p / plane, rem = p % plane, oy = rem / g.outW, ox = rem % g.outW;
      long k = 0;
      while (k < kc) {
        long kk = k0 + k;
        long ky = kk / rowLen, kx = (kk % rowLen) / C, c = kk % C;
        long len = std::min(C - c, kc - k);
        long iy = oy * g.sH - g.padT + ky * g.dH, ix = ox * g.sW - g.padL + kx * g.dW;
        float* d = dst + k * mr;
        if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) {
          for (long j = 0; j < len; j++) d[j * mr] = 0.f;
        } else {
          const float* src = x + ((b * g.inH + iy) * g.inW + ix) * C + c;
          for (long j = 0; j < len; j++) d[j * mr] = src[j];
        }
        k += len;
      }
    }
  }
}

// The transposed im2col matrix (rows = filter taps (ky, kx, c), columns = output pixels) packed straight
// from the image: the A operand of the filter gradient dW = colᵀ · dy.
void packConvCols(const ConvGeom& g, const float* x, long i0, long p0, long mc, long kc, int mr, float* out) {
  const long C = g.inC, rowLen = g.fW * C, plane = g.outH * g.outW;
  long ky[32], kx[32], ch[32];
  for (long s = 0; s < mc; s += mr) {
    float* sliver = out + (s / mr) * kc * mr;
    int rows = static_cast<int>(std::min<long>(mr, mc - s));
    for (int r = 0; r < rows; r++) {
      long kk = i0 + s + r;
      ky[r] = kk / rowLen;
      kx[r] = (kk % rowLen) / C;
      ch[r] = kk % C;
    }
    long p = p0;
    long b = p / plane, rem = p % plane, oy = rem / g.outW, ox = rem % g.outW;
    // Fast path: the sliver's taps are one (ky, kx) and consecutive channels, so each pixel contributes
    // `rows` contiguous floats of x (or zeros where the tap falls in the padding).
    const bool oneTap = rows > 0 && ky[0] == ky[rows - 1] && kx[0] == kx[rows - 1];
    for (long q = 0; q < kc; q++) {
      float* dst = sliver + q * mr;
      const float* img = x + b * g.inH * g.inW * C;
      long by = oy * g.sH - g.padT, bx = ox * g.sW - g.padL;
      int r = 0;
      if (oneTap) {
        long iy = by + ky[0] * g.dH, ix = bx + kx[0] * g.dW;
        if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) {
          for (; r < rows; r++) dst[r] = 0.f;
        } else {
          const float* src = img + (iy * g.inW + ix) * C + ch[0];
          for (; r < rows; r++) dst[r] = src[r];
        }
      } else {
        for (; r < rows; r++) {
          long iy = by + ky[r] * g.dH, ix = bx + kx[r] * g.dW;
          dst[r] = (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) ? 0.f : img[(iy * g.inW + ix) * C + ch[r]];
        }
      }
      for (; r < mr; r++) dst[r] = 0.f;
      if (++ox == g.outW) {
        ox = 0;
        if (++oy == g.outH) {
          oy = 0;
          b++;
        }
      }
    }
  }
}

}  // namespace

void biasActivation(float* y, long m, long n, const float* bias, int activation, float alpha) {
  if (bias == nullptr && activation == kLinear) return;
  parallelFor(m, std::max(1L, 16384 / std::max(n, 1L)), [&](long r0, long r1, int) {
    for (long i = r0; i < r1; i++) {
      float* row = y + i * n;
      if (bias != nullptr)
        for (long j = 0; j < n; j++) row[j] += bias[j];
      switch (activation) {
        case kRelu:
          for (long j = 0; j < n; j++) row[j] = row[j] > 0.f ? row[j] : 0.f;
          break;
        case kRelu6:
          for (long j = 0; j < n; j++) row[j] = std::min(std::max(row[j], 0.f), 6.f);
          break;
        case kElu:
          for (long j = 0; j < n; j++) row[j] = row[j] >= 0.f ? row[j] : std::expm1(row[j]);
          break;
        case kLeakyRelu:
          for (long j = 0; j < n; j++) row[j] = row[j] < 0.f ? alpha * row[j] : row[j];
          break;
        case kSigmoid:
          for (long j = 0; j < n; j++) row[j] = 1.f / (1.f + std::exp(-row[j]));
          break;
        default:
          break;
      }
    }
  });
}

void conv2d(const ConvGeom& g, const float* x, const float* f, float* y) {
  const long M = g.batch * g.outH * g.outW, K = g.fH * g.fW * g.inC, N = g.outC;
  if (isPointwise(g)) {
    gemm(false, false, M, N, K, x, K, f, N, y, N, false);
    return;
  }
  gemmPacked([&](long i0, long k0, long mc, long kc, int mr, float* out) { packConvRows(g, x, i0, k0, mc, kc, mr, out); },
             false, M, N, K, f, N, y, N, false);
}

void conv2dBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* df) {
  const long M = g.batch * g.outH * g.outW, K = g.fH * g.fW * g.inC, N = g.outC;
  if (M == 0) {
    std::memset(df, 0, sizeof(float) * K * N);
    return;
  }
  if (isPointwise(g)) {
    gemm(true, false, K, N, M, x, K, dy, N, df, N, false);
    return;
  }
  gemmPacked([&](long i0, long p0, long mc, long kc, int mr, float* out) { packConvCols(g, x, i0, p0, mc, kc, mr, out); },
             false, K, N, M, dy, N, df, N, false);
}

void conv2dBackpropInput(const ConvGeom& g, const float* dy, const float* f, float* dx) {
  const long perImage = g.outH * g.outW, K = g.fH * g.fW * g.inC, N = g.outC;
  if (isPointwise(g)) {
    gemm(false, true, g.batch * perImage, K, N, dy, N, f, N, dx, K, false);
    return;
  }
  if (g.sH == 1 && g.sW == 1) {
    // Stride 1: dx is the forward convolution of dy with the filter rotated 180° and its channels swapped.
    std::vector<float> rotated(static_cast<size_t>(K * N));
    for (long ky = 0; ky < g.fH; ky++)
      for (long kx = 0; kx < g.fW; kx++)
        for (long c = 0; c < g.inC; c++)
          for (long o = 0; o < N; o++)
            rotated[((ky * g.fW + kx) * N + o) * g.inC + c] =
                f[(((g.fH - 1 - ky) * g.fW + (g.fW - 1 - kx)) * g.inC + c) * N + o];
    ConvGeom t{g.batch, g.outH, g.outW, N, g.inH, g.inW, g.inC, g.fH, g.fW, 1, 1, g.dH, g.dW,
               (g.fH - 1) * g.dH - g.padT, (g.fW - 1) * g.dW - g.padL};
    conv2d(t, dy, rotated.data(), dx);
    return;
  }
  // Whole images per pass, so the col2im gather below finds every row it needs in the pass.
  const long images = std::max(1L, std::min(g.batch, kColBudget / std::max(perImage * K, 1L)));
  std::vector<float> dcol(static_cast<size_t>(images * perImage * K));
  for (long b0 = 0; b0 < g.batch; b0 += images) {
    long b1 = std::min(g.batch, b0 + images);
    gemm(false, true, (b1 - b0) * perImage, K, N, dy + b0 * perImage * N, N, f, N, dcol.data(), K, false);
    const float* cols = dcol.data();
    parallelFor((b1 - b0) * g.inH, 1, [&](long r0, long r1, int) {
      for (long r = r0; r < r1; r++) {
        long b = r / g.inH, iy = r % g.inH;
        float* out = dx + ((b0 + b) * g.inH + iy) * g.inW * g.inC;
        std::memset(out, 0, sizeof(float) * g.inW * g.inC);
        for (long ky = 0; ky < g.fH; ky++) {
          long ty = iy + g.padT - ky * g.dH;
          if (ty < 0 || ty % g.sH != 0) continue;
          long oy = ty / g.sH;
          if (oy >= g.outH) continue;
          for (long ix = 0; ix < g.inW; ix++) {
            float* o = out + ix * g.inC;
            for (long kx = 0; kx < g.fW; kx++) {
              long tx = ix + g.padL - kx * g.dW;
              if (tx < 0 || tx % g.sW != 0) continue;
              long ox = tx / g.sW;
              if (ox >= g.outW) continue;
              const float* src = cols + ((b * g.outH + oy) * g.outW + ox) * K + (ky * g.fW + kx) * g.inC;
              for (long c = 0; c < g.inC; c++) o[c] += src[c];
            }
          }
        }
      }
    });
  }
}

void depthwiseConv2d(const ConvGeom& g, const float* x, const float* f, float* y) {
  const long mult = g.mult(), C = g.inC, OC = g.outC;
  parallelFor(g.batch * g.outH, 1, [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      long b = r / g.outH, oy = r % g.outH;
      for (long ox = 0; ox < g.outW; ox++) {
        float* out = y + ((b * g.outH + oy) * g.outW + ox) * OC;
        std::memset(out, 0, sizeof(float) * OC);
        for (long ky = 0; ky < g.fH; ky++) {
          long iy = oy * g.sH - g.padT + ky * g.dH;
          if (iy < 0 || iy >= g.inH) continue;
          for (long kx = 0; kx < g.fW; kx++) {
            long ix = ox * g.sW - g.padL + kx * g.dW;
            if (ix < 0 || ix >= g.inW) continue;
            const float* in = x + ((b * g.inH + iy) * g.inW + ix) * C;
            const float* w = f + (ky * g.fW + kx) * OC;
            if (mult == 1) {
              for (long c = 0; c < C; c++) out[c] += in[c] * w[c];
            } else {
              for (long c = 0; c < C; c++)
                for (long m = 0; m < mult; m++) out[c * mult + m] += in[c] * w[c * mult + m];
            }
          }
        }
      }
    }
  });
}

void depthwiseBackpropInput(const ConvGeom& g, const float* dy, const float* f, float* dx) {
  const long mult = g.mult(), C = g.inC, OC = g.outC;
  parallelFor(g.batch * g.inH, 1, [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      long b = r / g.inH, iy = r % g.inH;
      for (long ix = 0; ix < g.inW; ix++) {
        float* out = dx + ((b * g.inH + iy) * g.inW + ix) * C;
        std::memset(out, 0, sizeof(float) * C);
        for (long ky = 0; ky < g.fH; ky++) {
          long ty = iy + g.padT - ky * g.dH;
          if (ty < 0 || ty % g.sH != 0 || ty / g.sH >= g.outH) continue;
          long oy = ty / g.sH;
          for (long kx = 0; kx < g.fW; kx++) {
            long tx = ix + g.padL - kx * g.dW;
            if (tx < 0 || tx % g.sW != 0 || tx / g.sW >= g.outW) continue;
            long ox = tx / g.sW;
            const float* d = dy + ((b * g.outH + oy) * g.outW + ox) * OC;
            const float* w = f + (ky * g.fW + kx) * OC;
            if (mult == 1) {
              for (long c = 0; c < C; c++) out[c] += d[c] * w[c];
            } else {
              for (long c = 0; c < C; c++)
                for (long m = 0; m < mult; m++) out[c] += d[c * mult + m] * w[c * mult + m];
            }
          }
        }
      }
    }
  });
}

void depthwiseBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* df) {
  const long mult = g.mult(), C = g.inC, OC = g.outC, F = g.fH * g.fW * OC;
  const int threads = pool().size();
  std::vector<float> partial(static_cast<size_t>(threads) * F, 0.f);
  parallelFor(g.batch * g.outH, 1, [&](long r0, long r1, int worker) {
    float* acc = partial.data() + static_cast<size_t>(worker) * F;
    for (long r = r0; r < r1; r++) {
      long b = r / g.outH, oy = r % g.outH;
      for (long ox = 0; ox < g.outW; ox++) {
        const float* d = dy + ((b * g.outH + oy) * g.outW + ox) * OC;
        for (long ky = 0; ky < g.fH; ky++) {
          long iy = oy * g.sH - g.padT + ky * g.dH;
          if (iy < 0 || iy >= g.inH) continue;
          for (long kx = 0; kx < g.fW; kx++) {
            long ix = ox * g.sW - g.padL + kx * g.dW;
            if (ix < 0 || ix >= g.inW) continue;
            const float* in = x + ((b * g.inH + iy) * g.inW + ix) * C;
            float* w = acc + (ky * g.fW + kx) * OC;
            if (mult == 1) {
              for (long c = 0; c < C; c++) w[c] += in[c] * d[c];
            } else {
              for (long c = 0; c < C; c++)
                for (long m = 0; m < mult; m++) w[c * mult + m] += in[c] * d[c * mult + m];
            }
          }
        }
      }
    }
  });
  std::memcpy(df, partial.data(), sizeof(float) * F);
  for (int t = 1; t < threads; t++)
    for (long i = 0; i < F; i++) df[i] += partial[static_cast<size_t>(t) * F + i];
}

}  // namespace kiln
