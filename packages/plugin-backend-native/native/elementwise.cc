#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "threadpool.h"

namespace kiln {
namespace {

constexpr long kGrain = 1L << 14;

template <typename F>
void binaryLoop(F f, const float* a, const float* b, float* out, int rank, const long* shape, const long* as,
                const long* bs) {
  const long inner = shape[rank - 1], sa = as[rank - 1], sb = bs[rank - 1];
  long outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= shape[d];
  auto row = [&](long o, long j0, long j1) {
    long ao = 0, bo = 0, rest = o;
    for (int d = rank - 2; d >= 0; d--) {
      long i = rest % shape[d];
      rest /= shape[d];
      ao += i * as[d];
      bo += i * bs[d];
    }
    const float* pa = a + ao;
    const float* pb = b + bo;
    float* po = out + o * inner;
    if (sa == 1 && sb == 1) {
      for (long j = j0; j < j1; j++) po[j] = f(pa[j], pb[j]);
    } else if (sa == 1 && sb == 0) {
      // A value broadcast along the row (scalars, per-channel parameters): hoisted so the loop vectorises.
      const float vb = pb[0];
      for (long j = j0; j < j1; j++) po[j] = f(pa[j], vb);
    } else if (sa == 0 && sb == 1) {
      const float va = pa[0];
      for (long j = j0; j < j1; j++) po[j] = f(va, pb[j]);
    } else if (sa == 1)
      for (long j = j0; j < j1; j++) po[j] = f(pa[j], pb[j * sb]);
    else if (sb == 1)
      for (long j = j0; j < j1; j++) po[j] = f(pa[j * sa], pb[j]);
    else
      for (long j = j0; j < j1; j++) po[j] = f(pa[j * sa], pb[j * sb]);
  };
  if (outer == 1) {
    parallelFor(inner, kGrain, [&](long j0, long j1, int) { row(0, j0, j1); });
  } else {
    parallelFor(outer, std::max(1L, kGrain / std::max(inner, 1L)), [&](long o0, long o1, int) {
      for (long o = o0; o < o1; o++) row(o, 0, inner);
    });
  }
}

}  // namespace

void binary(int op, const float* a, const float* b, float* out, int rank, const long* shape, const long* as,
            const long* bs) {
  switch (op) {
    case kAdd: return binaryLoop([](float x, float y) { return x + y; }, a, b, out, rank, shape, as, bs);
    case kSub: return binaryLoop([](float x, float y) { return x - y; }, a, b, out, rank, shape, as, bs);
    case kMul: return binaryLoop([](float x, float y) { return x * y; }, a, b, out, rank, shape, as, bs);
    case kDiv: return binaryLoop([](float x, float y) { return x / y; }, a, b, out, rank, shape, as, bs);
    case kMaximum: return binaryLoop([](float x, float y) { return std::isnan(x) || x > y ? x : y; }, a, b, out, rank, shape, as, bs);
    case kMinimum: return binaryLoop([](float x, float y) { return std::isnan(x) || x < y ? x : y; }, a, b, out, rank, shape, as, bs);
    case kSquaredDifference: return binaryLoop([](float x, float y) { return (x - y) * (x - y); }, a, b, out, rank, shape, as, bs);
    // dy · step(x), as tfjs's Relu gradient computes it (NaN in x gives NaN).
    // Branch-free (selects, no jumps): a branch on the sign of x mispredicts half the time on activations.
    case kReluGradOp: return binaryLoop([](float dy, float x) {
      float step = x > 0.f ? 1.f : 0.f;
      step = x != x ? x : step;
      return dy * step;
    }, a, b, out, rank, shape, as, bs);
    default: return;
  }
}

void unary(int op, const float* x, float* y, long n, float alpha) {
  (void)alpha;
  parallelFor(n, kGrain, [&](long i0, long i1, int) {
    switch (op) {
      case kReluOp:
        // tfjs: x < 0 ? 0 : x (NaN passes through); branch-free so it vectorises.
        for (long i = i0; i < i1; i++) y[i] = x[i] < 0.f ? 0.f : x[i];
        break;
      case kStepOp: {
        const float below = alpha;  // a local copy: y cannot alias it, so the loop vectorises
        for (long i = i0; i < i1; i++) {
          float v = x[i] > 0.f ? 1.f : below;
          y[i] = x[i] != x[i] ? x[i] : v;
        }
        break;
      }
      case kExpOp:
        for (long i = i0; i < i1; i++) y[i] = std::exp(x[i]);
        break;
      case kSqrtOp:
        for (long i = i0; i < i1; i++) y[i] = std::sqrt(x[i]);
        break;
      case kRsqrtOp:
        for (long i = i0; i < i1; i++) y[i] = 1.f / std::sqrt(x[i]);
        break;
      case kSquareOp:
        for (long i = i0; i < i1; i++) y[i] = x[i] * x[i];
        break;
      case kNegOp:
        for (long i = i0; i < i1; i++) y[i] = -x[i];
        break;
      case kErfOp:
        for (long i = i0; i < i1; i++) y[i] = std::erf(x[i]);
        break;
      case kFloorOp:
        for (long i = i0; i < i1; i++) y[i] = std::floor(x[i]);
        break;
      default:
        break;
    }
  });
}

void batchNorm(const float* x, float* y, long n, long c, const float* mean, long meanLen, const float* variance,
               long varLen, const float* offset, long offsetLen, const float* scale, long scaleLen, float eps) {
  std::vector<float> mul(c), add(c);
  for (long j = 0; j < c; j++) {
    float s = scale != nullptr ? scale[scaleLen == 1 ? 0 : j] : 1.f;
    float o = offset != nullptr ? offset[offsetLen == 1 ? 0 : j] : 0.f;
    float inv = 1.f / std::sqrt(variance[varLen == 1 ? 0 : j] + eps);
    mul[j] = s * inv;
    add[j] = o - mean[meanLen == 1 ? 0 : j] * s * inv;
  }
  long rows = n / c;
  parallelFor(rows, std::max(1L, kGrain / std::max(c, 1L)), [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      const float* in = x + r * c;
      float* out = y + r * c;
      for (long j = 0; j < c; j++) out[j] = in[j] * mul[j] + add[j];
    }
  });
}

void batchNormGrad(const float* x, const float* dy, long n, long c, const float* mean, const float* variance,
                   const float* scale, float eps, float* dx, float* dmean, float* dvar, float* dscale, float* doffset) {
  std::vector<float> inv(c), gain(c);
  for (long j = 0; j < c; j++) {
    inv[j] = 1.f / std::sqrt(variance[j] + eps);
    gain[j] = (scale != nullptr ? scale[j] : 1.f) * inv[j];
  }
  const long rows = n / c;
  const int threads = pool().size();
  std::vector<double> sums(static_cast<size_t>(threads) * 2 * c, 0.0);
  parallelFor(rows, std::max(1L, kGrain / std::max(c, 1L)), [&](long r0, long r1, int worker) {
    double* s1 = sums.data() + static_cast<size_t>(worker) * 2 * c;
    double* s2 = s1 + c;
    std::vector<float> a1(c, 0.f), a2(c, 0.f);
    for (long r = r0; r < r1; r++) {
      const float* xr = x + r * c;
      const float* dr = dy + r * c;
      float* o = dx + r * c;
      for (long j = 0; j < c; j++) {
        o[j] = dr[j] * gain[j];
        a1[j] += dr[j];
        a2[j] += dr[j] * (xr[j] - mean[j]);
      }
      if ((r - r0) % 256 == 255) {
        for (long j = 0; j < c; j++) {
          s1[j] += a1[j];
          s2[j] += a2[j];
          a1[j] = a2[j] = 0.f;
        }
      }
    }
    for (long j = 0; j < c; j++) {
      s1[j] += a1[j];
      s2[j] += a2[j];
    }
  });
  for (long j = 0; j < c; j++) {
    double t1 = 0.0, t2 = 0.0;
    for (int t = 0; t < threads; t++) {
      t1 += sums[static_cast<size_t>(t) * 2 * c + j];
      t2 += sums[static_cast<size_t>(t) * 2 * c + c + j];
    }
    float s = scale != nullptr ? scale[j] : 1.f, r = inv[j];
    doffset[j] = static_cast<float>(t1);
    dscale[j] = static_cast<float>(t2) * r;
    dmean[j] = -s * r * static_cast<float>(t1);
    dvar[j] = -0.5f * s * r * r * r * static_cast<float>(t2);
  }
}

namespace {

// Per-channel Σf(row) over the rows of [rows × c], in float blocks of 256 rows flushed to per-thread doubles.
template <int Sums, typename Row>
void channelSums(long rows, long c, Row row, std::vector<double>& total) {
  const int threads = pool().size();
  std::vector<double> partial(static_cast<size_t>(threads) * Sums * c, 0.0);
  parallelFor(rows, std::max(1L, kGrain / std::max(c, 1L)), [&](long r0, long r1, int worker) {
    double* sums = partial.data() + static_cast<size_t>(worker) * Sums * c;
    std::vector<float> acc(static_cast<size_t>(Sums * c), 0.f);
    for (long r = r0; r < r1; r++) {
      row(r, acc.data());
      if ((r - r0) % 256 == 255 || r == r1 - 1) {
        for (long j = 0; j < Sums * c; j++) {
          sums[j] += acc[j];
          acc[j] = 0.f;
        }
      }
    }
  });
  total.assign(static_cast<size_t>(Sums * c), 0.0);
  for (int t = 0; t < threads; t++)
    for (long j = 0; j < Sums * c; j++) total[j] += partial[static_cast<size_t>(t) * Sums * c + j];
}

}  // namespace

void batchNormTrain(const float* x, long n, long c, const float* scale, const float* offset, float eps, float* y,
                    float* mean, float* variance) {
  const long rows = n / c;
  // Sums of x − x[0] (the first row): shifted sums keep the variance accurate when |mean| ≫ std.
  std::vector<float> shift(x, x + c);
  std::vector<double> s;
  channelSums<2>(rows, c, [&](long r, float* acc) {
    const float* xr = x + r * c;
    float* a1 = acc;
    float* a2 = acc + c;
    for (long j = 0; j < c; j++) {
      float d = xr[j] - shift[j];
      a1[j] += d;
      a2[j] += d * d;
    }
  }, s);
  std::vector<float> mul(c);
  for (long j = 0; j < c; j++) {
    double m = s[j] / rows, v = s[c + j] / rows - m * m;
    mean[j] = static_cast<float>(shift[j] + m);
    variance[j] = static_cast<float>(v > 0.0 ? v : 0.0);
    float inv = 1.f / std::sqrt(variance[j] + eps);
    mul[j] = scale[j] * inv;
  }
  // (x − mean)·mul + offset, not x·mul + (offset − mean·mul): the latter cancels badly when |mean| ≫ std.
  parallelFor(rows, std::max(1L, kGrain / std::max(c, 1L)), [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      const float* in = x + r * c;
      float* out = y + r * c;
      for (long j = 0; j < c; j++) out[j] = (in[j] - mean[j]) * mul[j] + offset[j];
    }
  });
}

void batchNormTrainGrad(const float* dy, const float* x, long n, long c, const float* scale, const float* mean,
                        const float* variance, const float* dmean, const float* dvariance, float eps, float* dx,
                        float* dscale, float* doffset) {
  const long rows = n / c;
  std::vector<double> s;
  channelSums<2>(rows, c, [&](long r, float* acc) {
    const float* xr = x + r * c;
    const float* dr = dy + r * c;
    float* a1 = acc;
    float* a2 = acc + c;
    for (long j = 0; j < c; j++) {
      a1[j] += dr[j];
      a2[j] += dr[j] * (xr[j] - mean[j]);
    }
  }, s);
  // dx = γ·r·dy − γ·r·Σdy/N − γ·r³·(x − μ)·Σdy(x − μ)/N + dμ/N + 2·dσ²·(x − μ)/N = a·dy + k·(x − μ) + b.
  std::vector<float> a(c), k(c), b(c);
  for (long j = 0; j < c; j++) {
    double r = 1.0 / std::sqrt(static_cast<double>(variance[j]) + eps), g = scale[j];
    double sdy = s[j], sdyx = s[c + j];
    double kk = -g * r * r * r * sdyx / rows + (dvariance != nullptr ? 2.0 * dvariance[j] / rows : 0.0);
    double b0 = -g * r * sdy / rows + (dmean != nullptr ? dmean[j] / static_cast<double>(rows) : 0.0);
    a[j] = static_cast<float>(g * r);
    k[j] = static_cast<float>(kk);
    b[j] = static_cast<float>(b0);
    dscale[j] = static_cast<float>(sdyx * r);
    doffset[j] = static_cast<float>(sdy);
  }
  parallelFor(rows, std::max(1L, kGrain / std::max(c, 1L)), [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      const float* xr = x + r * c;
      const float* dr = dy + r * c;
      float* o = dx + r * c;
      for (long j = 0; j < c; j++) o[j] = a[j] * dr[j] + k[j] * (xr[j] - mean[j]) + b[j];
    }
  });
}

void softmax(const float* x, float* y, long rows, long cols) {
  parallelFor(rows, std::max(1L, kGrain / std::max(cols, 1L)), [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      const float* in = x + r * cols;
      float* out = y + r * cols;
      float m = -INFINITY;
      for (long j = 0; j < cols; j++) m = std::max(m, in[j]);
      float sum = 0.f;
      for (long j = 0; j < cols; j++) {
        out[j] = std::exp(in[j] - m);
        sum += out[j];
      }
      float inv = 1.f / sum;
      for (long j = 0; j < cols; j++) out[j] *= inv;
    }
  });
}

void reduceSum(const float* x, float* y, long outer, long reduce, long inner) {
  if (inner == 1) {
    parallelFor(outer, std::max(1L, kGrain / std::max(reduce, 1L)), [&](long o0, long o1, int) {
      for (long o = o0; o < o1; o++) {
        const float* in = x + o * reduce;
        float s = 0.f;
        for (long r = 0; r < reduce; r++) s += in[r];
        y[o] = s;
      }
    });
    return;
  }
  if (outer == 1 && reduce >= 2 * pool().size()) {
    // Column sums of a tall [reduce × inner] matrix: per-thread partial rows, then one pass adding them.
    int threads = pool().size();
    std::vector<float> partial(static_cast<size_t>(threads) * inner, 0.f);
    parallelFor(reduce, std::max(1L, kGrain / inner), [&](long r0, long r1, int worker) {
      float* acc = partial.data() + static_cast<size_t>(worker) * inner;
      for (long r = r0; r < r1; r++) {
        const float* in = x + r * inner;
        for (long i = 0; i < inner; i++) acc[i] += in[i];
      }
    });
    std::memcpy(y, partial.data(), sizeof(float) * inner);
    for (int t = 1; t < threads; t++)
      for (long i = 0; i < inner; i++) y[i] += partial[static_cast<size_t>(t) * inner + i];
    return;
  }
  parallelFor(outer * inner, kGrain, [&](long q0, long q1, int) {
    // A run of output positions: walk each outer slab's rows once.
    long q = q0;
    while (q < q1) {
      long o = q / inner, i0 = q % inner, i1 = std::min(inner, i0 + (q1 - q));
      float* out = y + o * inner;
      for (long i = i0; i < i1; i++) out[i] = 0.f;
      for (long r = 0; r < reduce; r++) {
        const float* in = x + (o * reduce + r) * inner;
        for (long i = i0; i < i1; i++) out[i] += in[i];
      }
      q += i1 - i0;
    }
  });
}

void transpose(const float* x, float* y, int rank, const long* shape, const long* perm) {
  long inStrides[8];
  long s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= shape[d];
  }
  long outShape[8], strides[8];
  for (int d = 0; d < rank; d++) {
    outShape[d] = shape[perm[d]];
    strides[d] = inStrides[perm[d]];
  }
  const long inner = outShape[rank - 1], innerStride = strides[rank - 1];
  long outer = s / std::max(inner, 1L);
  parallelFor(outer, std::max(1L, kGrain / std::max(inner, 1L)), [&](long o0, long o1, int) {
    for (long o = o0; o < o1; o++) {
      long off = 0, rest = o;
      for (int d = rank - 2; d >= 0; d--) {
        off += (rest % outShape[d]) * strides[d];
        rest /= outShape[d];
      }
      const float* in = x + off;
      float* out = y + o * inner;
      if (innerStride == 1)
        std::memcpy(out, in, sizeof(float) * inner);
      else
        for (long j = 0; j < inner; j++) out[j] = in[j * innerStride];
    }
  });
}

void stridedCopy(const float* x, long xOffset, const long* xs, float* y, long yOffset, const long* ys, int rank,
                 const long* shape) {
  const long inner = shape[rank - 1], sx = xs[rank - 1], sy = ys[rank - 1];
  long outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= shape[d];
  parallelFor(outer, std::max(1L, kGrain / std::max(inner, 1L)), [&](long o0, long o1, int) {
    for (long o = o0; o < o1; o++) {
      long xo = xOffset, yo = yOffset, rest = o;
      for (int d = rank - 2; d >= 0; d--) {
        long i = rest % shape[d];
        rest /= shape[d];
        xo += i * xs[d];
        yo += i * ys[d];
      }
      const float* in = x + xo;
      float* out = y + yo;
      if (sx == 1 && sy == 1)
        std::memcpy(out, in, sizeof(float) * inner);
      else if (sx == 0)
        for (long j = 0; j < inner; j++) out[j * sy] = in[0];
      else
        for (long j = 0; j < inner; j++) out[j * sy] = in[j * sx];
    }
  });
}

void fill(float* y, long n, float value) {
  parallelFor(n, kGrain, [&](long i0, long i1, int) {
    for (long i = i0; i < i1; i++) y[i] = value;
  });
}

}  // namespace kiln
