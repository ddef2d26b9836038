#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

namespace kiln {
namespace {

bool isPointwise(const ConvGeom& g) {
  return g.fH == 1 && g.fW == 1 && g.sH == 1 && g.sW == 1 && g.padT == 0 && g.padL == 0 && g.outH == g.inH &&
         g.outW == g.inW;
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


// Grows, never shrinks; per JS thread (kernels run on it one at a time). slot 0..3.
float* scratch(int slot, size_t n) {
  thread_local std::vector<float> buffers[4];
  std::vector<float>& v = buffers[slot];
  if (v.size() < n) v.resize(n);
  return v.data();
}

// dW[t][c][o] = Σ_p x[pixel(p, t)][c] · dy[p][o], computed transposed (rows o, columns c of tap t) so that the
// image is read in place: B rows are pointers to nr channels of x, A is dy packed once per pixel block.
void conv2dBackpropFilterIndirect(const ConvGeom& g, const float* x, const float* dy, float* df) {
  const MicroKernel& uk = microKernel();
  const int mr = uk.mr, nr = uk.nr;
  const long C = g.inC, O = g.outC, T = g.fH * g.fW, P = g.batch * g.outH * g.outW, plane = g.outH * g.outW;
  const long oTiles = (O + mr - 1) / mr, oPad = oTiles * mr, cSlivers = C / nr;
  const int threads = pool().size();
  const size_t dwtSize = static_cast<size_t>(T * oPad * C);
  const long jobs = T * cSlivers;
  // Small dW, many pixels (early layers): pixel blocks go to whichever thread is free, each summing into its
  // own dWᵀ (added at the end). Big dW, few pixels (late layers): each thread takes a share of dW's columns
  // over every pixel, so nothing is summed twice (dy is then packed by every thread, cheap there).
  const bool byPixels = dwtSize <= static_cast<size_t>(P * O) || jobs < threads;
  const long kcP = std::max(16L, std::min(512L, (P + threads - 1) / threads));
  float* dwt = scratch(0, dwtSize * (byPixels ? threads : 1));
  std::vector<char> used(static_cast<size_t>(threads), 0);
  const std::vector<float> zeros(static_cast<size_t>(C), 0.f);
  std::vector<std::vector<float>> packs(static_cast<size_t>(threads));
  std::vector<std::vector<const float*>> tables(static_cast<size_t>(threads));
  // dWᵀ columns of jobs [j0, j1) (job = tap × nr-channel sliver) from pixels [p0, p0 + kc).
  auto run = [&](long p0, long kc, long j0, long j1, float* out, bool acc, int worker) {
    std::vector<float>& ap = packs[worker];
    std::vector<const float*>& ptrs = tables[worker];
    ap.resize(static_cast<size_t>(kcP * oPad));
    ptrs.resize(static_cast<size_t>(T * kcP));
    for (long ot = 0; ot < oTiles; ot++) {
      float* dst = ap.data() + ot * kc * mr;
      const long o0 = ot * mr, rows = std::min<long>(mr, O - o0);
      for (long k = 0; k < kc; k++, dst += mr) {
        const float* src = dy + (p0 + k) * O + o0;
        long i = 0;
        for (; i < rows; i++) dst[i] = src[i];
        for (; i < mr; i++) dst[i] = 0.f;
      }
    }
    for (long t = j0 / cSlivers; t <= (j1 - 1) / cSlivers; t++) {
      const long ky = t / g.fW, kx = t % g.fW;
      const float** pt = ptrs.data() + t * kcP;
      long b = p0 / plane, rem = p0 % plane, oy = rem / g.outW, ox = rem % g.outW;
      for (long k = 0; k < kc; k++) {
        long iy = oy * g.sH - g.padT + ky * g.dH, ix = ox * g.sW - g.padL + kx * g.dW;
        pt[k] = (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) ? zeros.data() : x + ((b * g.inH + iy) * g.inW + ix) * C;
        if (++ox == g.outW) {
          ox = 0;
          if (++oy == g.outH) {
            oy = 0;
            b++;
          }
        }
      }
    }
    for (long j = j0; j < j1; j++) {
      const long t = j / cSlivers, cs = j % cSlivers;
      for (long ot = 0; ot < oTiles; ot++)
        uk.cols(kc, ap.data() + ot * kc * mr, ptrs.data() + t * kcP, cs * nr, out + (t * oPad + ot * mr) * C + cs * nr, C, acc);
    }
  };
  if (byPixels) {
    // Static: each worker's partial filter gradient sums the same pixel blocks in the same order every run.
    parallelStatic((P + kcP - 1) / kcP, [&](long block, int worker) {
      const long p0 = block * kcP;
      run(p0, std::min(kcP, P - p0), 0, jobs, dwt + dwtSize * worker, used[worker] != 0, worker);
      used[worker] = 1;
    });
  } else {
    used[0] = 1;
    parallelFor(jobs, 1, [&](long j0, long j1, int worker) {
      for (long p0 = 0; p0 < P; p0 += kcP) run(p0, std::min(kcP, P - p0), j0, j1, dwt, p0 > 0, worker);
    });
  }
  std::vector<const float*> parts;
  for (int w = 0; w < threads; w++)
    if (used[w]) parts.push_back(dwt + dwtSize * w);
  parallelFor(T * C, 64, [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      const long t = r / C, c = r % C;
      float* out = df + r * O;
      for (long o = 0; o < O; o++) {
        float s = 0.f;
        for (const float* part : parts) s += part[(t * oPad + o) * C + c];
        out[o] = s;
      }
    }
  });
}

// Input gradient, one output phase at a time (a single phase at stride 1): the input pixels with (iy + padT) ≡ ry (mod sH) and
// likewise in x receive exactly the taps with ky·dH ≡ ry, so each phase is an indirect GEMM over dy with the
// filter transposed (rows (tap, o), columns c); rows of no tap are zero.
void conv2dBackpropInputPhases(const ConvGeom& g, const float* dy, const float* f, float* dx) {
  const long C = g.inC, O = g.outC;
  auto mod = [](long a, long m) { return ((a % m) + m) % m; };
  for (long ry = 0; ry < g.sH; ry++) {
    const long iy0 = mod(ry - g.padT, g.sH), nY = iy0 < g.inH ? (g.inH - iy0 + g.sH - 1) / g.sH : 0;
    if (nY == 0) continue;
    std::vector<long> kys;
    for (long ky = 0; ky < g.fH; ky++)
      if (mod(ry - ky * g.dH, g.sH) == 0) kys.push_back(ky);
    for (long rx = 0; rx < g.sW; rx++) {
      const long ix0 = mod(rx - g.padL, g.sW), nX = ix0 < g.inW ? (g.inW - ix0 + g.sW - 1) / g.sW : 0;
      if (nX == 0) continue;
      std::vector<long> kxs;
      for (long kx = 0; kx < g.fW; kx++)
        if (mod(rx - kx * g.dW, g.sW) == 0) kxs.push_back(kx);
      const long T = static_cast<long>(kys.size() * kxs.size()), per = nY * nX, Mp = g.batch * per;
      auto target = [&](long r) {
        long b = r / per, rem = r % per, iy = iy0 + (rem / nX) * g.sH, ix = ix0 + (rem % nX) * g.sW;
        return dx + ((b * g.inH + iy) * g.inW + ix) * C;
      };
      if (T == 0) {
        parallelFor(Mp, 256, [&](long r0, long r1, int) {
          for (long r = r0; r < r1; r++) std::memset(target(r), 0, sizeof(float) * C);
        });
        continue;
      }
      std::vector<const float*> bTaps;
      for (long ky : kys)
        for (long kx : kxs) bTaps.push_back(f + (ky * g.fW + kx) * C * O);
      // One phase (stride 1) covers every pixel in order: write dx directly.
      const bool direct = g.sH == 1 && g.sW == 1;
      float* tmp = direct ? dx : scratch(2, static_cast<size_t>(Mp * C));
      gemmRowsIndirect(Mp, C, T, O, [&](long r, const float** p) {
        long b = r / per, rem = r % per, iy = iy0 + (rem / nX) * g.sH, ix = ix0 + (rem % nX) * g.sW;
        for (size_t a = 0; a < kys.size(); a++) {
          long ty = iy + g.padT - kys[a] * g.dH, oy = ty / g.sH;
          bool rowOk = ty >= 0 && oy < g.outH;
          for (size_t q = 0; q < kxs.size(); q++) {
            long tx = ix + g.padL - kxs[q] * g.dW, ox = tx / g.sW;
            p[a * kxs.size() + q] = rowOk && tx >= 0 && ox < g.outW ? dy + ((b * g.outH + oy) * g.outW + ox) * O : nullptr;
          }
        }
      }, bTaps.data(), true, tmp);
      if (direct) continue;
      parallelFor(Mp, 256, [&](long r0, long r1, int) {
        for (long r = r0; r < r1; r++) std::memcpy(target(r), tmp + r * C, sizeof(float) * C);
      });
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
  if (winogradApplies(g.fH, g.fW, g.sH, g.sW, g.dH, g.dW, g.padT, g.padL, g.inC, g.outC, g.outH, g.outW)) {
    winogradConv3x3(g.batch, g.inH, g.inW, g.inC, g.outH, g.outW, g.outC, g.padT, g.padL, x, f, false, y);
    return;
  }
  // Indirect GEMM: each output pixel's row of the im2col matrix is fH·fW pointers into the image.
  const long plane = g.outH * g.outW, C = g.inC;
  std::vector<const float*> taps(static_cast<size_t>(g.fH * g.fW));
  for (size_t t = 0; t < taps.size(); t++) taps[t] = f + static_cast<long>(t) * C * N;
  gemmRowsIndirect(M, N, g.fH * g.fW, C, [&](long r, const float** p) {
    long b = r / plane, rem = r % plane, oy = rem / g.outW, ox = rem % g.outW;
    for (long ky = 0; ky < g.fH; ky++) {
      long iy = oy * g.sH - g.padT + ky * g.dH;
      for (long kx = 0; kx < g.fW; kx++) {
        long ix = ox * g.sW - g.padL + kx * g.dW;
        p[ky * g.fW + kx] = (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) ? nullptr : x + ((b * g.inH + iy) * g.inW + ix) * C;
      }
    }
  }, taps.data(), false, y);
}

// The filter gradient by Winograd: tile-blocked (per-thread sums, the `cols` micro-kernel) when the output channels
// fill the micro-kernel's width, else with all tiles' transforms in memory, worth it up to this many output pixels
// (CPU time against the direct kernel, one thread: blocked 1.3–1.9× at every ResNet stage; unblocked 1.2–1.8× at
// 8×8 and 4×4, 0.6–0.9× above).
constexpr long kWinogradFilterPixels = 64;

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
  if (winogradApplies(g.fH, g.fW, g.sH, g.sW, g.dH, g.dW, g.padT, g.padL, g.inC, g.outC, g.outH, g.outW)) {
    if (g.outC % microKernel().nr == 0) {
      winogradBackpropFilterBlocked3x3(g.batch, g.inH, g.inW, g.inC, g.outH, g.outW, g.outC, g.padT, g.padL, x, dy, df);
      return;
    }
    if (g.outH * g.outW <= kWinogradFilterPixels) {
      winogradBackpropFilter3x3(g.batch, g.inH, g.inW, g.inC, g.outH, g.outW, g.outC, g.padT, g.padL, x, dy, df);
      return;
    }
  }
  if (g.inC % microKernel().nr == 0) {
    conv2dBackpropFilterIndirect(g, x, dy, df);
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
  // Stride 1: dx is the forward convolution of dy with the filter rotated 180° and its channels swapped.
  const long padT = (g.fH - 1) * g.dH - g.padT, padL = (g.fW - 1) * g.dW - g.padL;
  if (winogradApplies(g.fH, g.fW, g.sH, g.sW, g.dH, g.dW, padT, padL, g.outC, g.inC, g.inH, g.inW)) {
    winogradConv3x3(g.batch, g.outH, g.outW, g.outC, g.inH, g.inW, g.inC, padT, padL, dy, f, true, dx);
    return;
  }
  conv2dBackpropInputPhases(g, dy, f, dx);
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
