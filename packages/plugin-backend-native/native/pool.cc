#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"
#include "threadpool.h"

namespace kiln {

namespace {
template <typename Visit>
void eachWindow(const ConvGeom& g, long oy, long ox, Visit visit) {
  for (long ky = 0; ky < g.fH; ky++) {
    long iy = oy * g.sH - g.padT + ky * g.dH;
    if (iy < 0 || iy >= g.inH) continue;
    for (long kx = 0; kx < g.fW; kx++) {
      long ix = ox * g.sW - g.padL + kx * g.dW;
      if (ix < 0 || ix >= g.inW) continue;
      visit(iy, ix);
    }
  }
}
}  // namespace

void maxPool(const ConvGeom& g, const float* x, float* y) {
  const long C = g.inC;
  parallelFor(g.batch * g.outH, 1, [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      long b = r / g.outH, oy = r % g.outH;
      for (long ox = 0; ox < g.outW; ox++) {
        float* out = y + ((b * g.outH + oy) * g.outW + ox) * C;
        for (long c = 0; c < C; c++) out[c] = -std::numeric_limits<float>::infinity();
        eachWindow(g, oy, ox, [&](long iy, long ix) {
          const float* in = x + ((b * g.inH + iy) * g.inW + ix) * C;
          for (long c = 0; c < C; c++) out[c] = in[c] > out[c] ? in[c] : out[c];
        });
      }
    }
  });
}

void avgPool(const ConvGeom& g, const float* x, float* y) {
  const long C = g.inC;
  parallelFor(g.batch * g.outH, 1, [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      long b = r / g.outH, oy = r % g.outH;
      for (long ox = 0; ox < g.outW; ox++) {
        float* out = y + ((b * g.outH + oy) * g.outW + ox) * C;
        std::memset(out, 0, sizeof(float) * C);
        long count = 0;
        eachWindow(g, oy, ox, [&](long iy, long ix) {
          const float* in = x + ((b * g.inH + iy) * g.inW + ix) * C;
          for (long c = 0; c < C; c++) out[c] += in[c];
          count++;
        });
        float scale = 1.f / static_cast<float>(std::max(count, 1L));
        for (long c = 0; c < C; c++) out[c] *= scale;
      }
    }
  });
}

// Scatter form, one image per task (no two tasks write the same dx); the first maximum in window order wins, as in tfjs.
void maxPoolGrad(const ConvGeom& g, const float* x, const float* dy, float* dx) {
  const long C = g.inC;
  parallelFor(g.batch, 1, [&](long b0, long b1, int) {
    std::vector<float> best(C);
    std::vector<long> where(C);
    for (long b = b0; b < b1; b++) {
      float* dxb = dx + b * g.inH * g.inW * C;
      std::memset(dxb, 0, sizeof(float) * g.inH * g.inW * C);
      for (long oy = 0; oy < g.outH; oy++) {
        for (long ox = 0; ox < g.outW; ox++) {
          std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
          std::fill(where.begin(), where.end(), -1L);
          eachWindow(g, oy, ox, [&](long iy, long ix) {
            long at = (iy * g.inW + ix) * C;
            const float* in = x + b * g.inH * g.inW * C + at;
            for (long c = 0; c < C; c++)
              if (in[c] > best[c]) {
                best[c] = in[c];
                where[c] = at + c;
              }
          });
          const float* d = dy + ((b * g.outH + oy) * g.outW + ox) * C;
          for (long c = 0; c < C; c++)
            if (where[c] >= 0) dxb[where[c]] += d[c];
        }
      }
    }
  });
}

void avgPoolGrad(const ConvGeom& g, const float* dy, float* dx) {
  const long C = g.inC;
  parallelFor(g.batch, 1, [&](long b0, long b1, int) {
    for (long b = b0; b < b1; b++) {
      float* dxb = dx + b * g.inH * g.inW * C;
      std::memset(dxb, 0, sizeof(float) * g.inH * g.inW * C);
      for (long oy = 0; oy < g.outH; oy++) {
        for (long ox = 0; ox < g.outW; ox++) {
          long count = 0;
          eachWindow(g, oy, ox, [&](long, long) { count++; });
          float scale = 1.f / static_cast<float>(std::max(count, 1L));
          const float* d = dy + ((b * g.outH + oy) * g.outW + ox) * C;
          eachWindow(g, oy, ox, [&](long iy, long ix) {
            float* o = dxb + (iy * g.inW + ix) * C;
            for (long c = 0; c < C; c++) o[c] += d[c] * scale;
          });
        }
      }
    }
  });
}

}  // namespace kiln
