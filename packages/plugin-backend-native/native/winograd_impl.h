// The Winograd kernels' implementation, included twice by winograd.cc: as namespace kiln::base (baseline ISA) and,
// on x86-64, as kiln::avx512 under `#pragma GCC target("avx512f,…")`, where the channel-wise transform loops
// vectorise 16 wide. Only functions defined here get the target; std templates stay baseline (no ODR mix).
// NOLINT(build/header_guard): meant to be included more than once.
namespace kiln {
namespace KILN_WINO_NS {
namespace {

float* buffer(int slot, size_t n) {
  thread_local std::vector<float> buffers[4];
  std::vector<float>& v = buffers[slot];
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace

// The 16 rows (C channels each) under the 4×4 input window of tile (b, ty, tx) (tiles step 2), `zeros` outside
// the image.
inline __attribute__((always_inline)) void tileWindow(const float* x, const float* zeros, long b, long ty, long tx, long inH,
                                                      long inW, long C, long padT, long padL, const float* src[16]) {
  for (int r = 0; r < 4; r++)
    for (int s = 0; s < 4; s++) {
      const long iy = 2 * ty - padT + r, ix = 2 * tx - padL + s;
      src[r * 4 + s] = (iy < 0 || iy >= inH || ix < 0 || ix >= inW) ? zeros : x + ((b * inH + iy) * inW + ix) * C;
    }
}

// Input transform V = Bᵀ·d·B (Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]) of one tile, vectorised over channels:
// dst[e][j] for the 16 positions e and channels j < C.
inline __attribute__((always_inline)) void inputTransform(const float* const src[16], float* const dst[16], long C) {
#pragma GCC ivdep
  for (long j = 0; j < C; j++) {
    float u[16];
    for (int s = 0; s < 4; s++) {
      const float d0 = src[s][j], d1 = src[4 + s][j], d2 = src[8 + s][j], d3 = src[12 + s][j];
      u[0 + s] = d0 - d2;
      u[4 + s] = d1 + d2;
      u[8 + s] = d2 - d1;
      u[12 + s] = d1 - d3;
    }
    for (int r = 0; r < 4; r++) {
      dst[r * 4 + 0][j] = u[r * 4 + 0] - u[r * 4 + 2];
      dst[r * 4 + 1][j] = u[r * 4 + 1] + u[r * 4 + 2];
      dst[r * 4 + 2][j] = u[r * 4 + 2] - u[r * 4 + 1];
      dst[r * 4 + 3][j] = u[r * 4 + 1] - u[r * 4 + 3];
    }
  }
}


// The 2×2 of dy (O channels each) that tile (b, ty, tx) produced, `zeros` past the output's edge.
inline __attribute__((always_inline)) void dyWindow(const float* dy, const float* zeros, long b, long ty, long tx, long outH,
                                                    long outW, long O, const float* g[4]) {
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < 2; k++) {
      const long oy = 2 * ty + i, ox = 2 * tx + k;
      g[i * 2 + k] = oy < outH && ox < outW ? dy + ((b * outH + oy) * outW + ox) * O : zeros;
    }
}

// E = A·e·Aᵀ (A = [1 0; 1 1; 1 −1; 0 −1]) of a tile's 2×2 of dy, vectorised over channels: dst[e][j] for the 16
// positions e and channels j < O.
inline __attribute__((always_inline)) void dyTransform(const float* const g[4], float* const dst[16], long O) {
#pragma GCC ivdep
  for (long j = 0; j < O; j++) {
    const float e00 = g[0][j], e01 = g[1][j], e10 = g[2][j], e11 = g[3][j];
    const float v[4][2] = {{e00, e01}, {e00 + e10, e01 + e11}, {e00 - e10, e01 - e11}, {-e10, -e11}};
    for (int a = 0; a < 4; a++) {
      dst[a * 4 + 0][j] = v[a][0];
      dst[a * 4 + 1][j] = v[a][0] + v[a][1];
      dst[a * 4 + 2][j] = v[a][0] - v[a][1];
      dst[a * 4 + 3][j] = -v[a][1];
    }
  }
}

// y[b, oy, ox, o] = Σ x[b, oy − padT + ky, ox − padL + kx, c] · w(ky, kx, c, o), w = f[ky][kx][c][o] or, for the
// input gradient (rotated), f[2 − ky][2 − kx][o][c] (f then has C·O laid out as [O][C]).
void winogradConv3x3Impl(long batch, long inH, long inW, long C, long outH, long outW, long O, long padT, long padL,
                     const float* x, const float* f, bool rotated, float* y) {
  const long tH = (outH + 1) / 2, tW = (outW + 1) / 2, P = batch * tH * tW;
  float* U = buffer(0, static_cast<size_t>(16 * C * O));
  // Filter transform U = G·g·Gᵀ (G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]), stored [e][row][col] with (row, col) = (c, o) for
  // the forward and (o', c') = f's own [O][C] order for the rotated case, so both read f contiguously.
  const long rows = rotated ? O : C, cols = rotated ? C : O;
  parallelFor(rows, 8, [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      const float* g[9];
      for (int k = 0; k < 9; k++) g[k] = f + (rotated ? 8 - k : k) * rows * cols + r * cols;
      float* u[16];
      for (int e = 0; e < 16; e++) u[e] = U + e * rows * cols + r * cols;
#pragma GCC ivdep
      for (long q = 0; q < cols; q++) {
        // t = G·g (4×3), then u = t·Gᵀ (4×4).
        float t[4][3];
        for (int k = 0; k < 3; k++) {
          float g0 = g[k][q], g1 = g[3 + k][q], g2 = g[6 + k][q];
          t[0][k] = g0;
          t[1][k] = 0.5f * (g0 + g1 + g2);
          t[2][k] = 0.5f * (g0 - g1 + g2);
          t[3][k] = g2;
        }
        for (int i = 0; i < 4; i++) {
          u[i * 4 + 0][q] = t[i][0];
          u[i * 4 + 1][q] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
          u[i * 4 + 2][q] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
          u[i * 4 + 3][q] = t[i][2];
        }
      }
    }
  });
  const std::vector<float> zeros(static_cast<size_t>(C), 0.f);
  if (C * O > (1L << 17)) {
    // U bigger than ~8 MB (512×512 channels): the 16 GEMMs over all tiles at once, each reading U_e once.
    float* V = buffer(1, static_cast<size_t>(16 * P * C));
    float* M = buffer(2, static_cast<size_t>(16 * P * O));
    // Input transform V = Bᵀ·d·B (Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]) per tile, vectorised over channels.
    parallelFor(P, 16, [&](long p0, long p1, int) {
      for (long p = p0; p < p1; p++) {
        const long b = p / (tH * tW), rem = p % (tH * tW), ty = rem / tW, tx = rem % tW;
        const float* src[16];
        tileWindow(x, zeros.data(), b, ty, tx, inH, inW, C, padT, padL, src);
        float* dst[16];
        for (int e = 0; e < 16; e++) dst[e] = V + (e * P + p) * C;
        inputTransform(src, dst, C);
      }
    });
    // The 16 GEMMs are independent and equal: one per thread at a time (each then runs serially inside)
    // balances better than splitting each small-M GEMM over the threads.
    parallelDynamic(16, [&](long e, int) {
      const float* ve = V + e * P * C;
      const float* ue = U + e * C * O;
      gemmRowsIndirect(P, O, 1, C, [&](long r, const float** p) { p[0] = ve + r * C; }, &ue, rotated, M + e * P * O);
    });
    // Output transform Y = Aᵀ·m·A (Aᵀ = [1 1 1 0; 0 1 −1 −1]), keeping the tile's pixels inside the output.
    parallelFor(P, 16, [&](long p0, long p1, int) {
      std::vector<float> scratchRow(static_cast<size_t>(O));  // where the pixels outside the output go
      for (long p = p0; p < p1; p++) {
        const long b = p / (tH * tW), rem = p % (tH * tW), ty = rem / tW, tx = rem % tW;
        const float* m[16];
        for (int e = 0; e < 16; e++) m[e] = M + (e * P + p) * O;
        float* out[4];
        bool ok[4];
        for (int i = 0; i < 2; i++)
          for (int j = 0; j < 2; j++) {
            long oy = 2 * ty + i, ox = 2 * tx + j;
            ok[i * 2 + j] = oy < outH && ox < outW;
            out[i * 2 + j] = y + ((b * outH + std::min(oy, outH - 1)) * outW + std::min(ox, outW - 1)) * O;
          }
        float* o00 = ok[0] ? out[0] : scratchRow.data();
        float* o01 = ok[1] ? out[1] : scratchRow.data();
        float* o10 = ok[2] ? out[2] : scratchRow.data();
        float* o11 = ok[3] ? out[3] : scratchRow.data();
  #pragma GCC ivdep
        for (long j = 0; j < O; j++) {
          float s[2][4];
          for (int c = 0; c < 4; c++) {
            float a0 = m[c][j], a1 = m[4 + c][j], a2 = m[8 + c][j], a3 = m[12 + c][j];
            s[0][c] = a0 + a1 + a2;
            s[1][c] = a1 - a2 - a3;
          }
          o00[j] = s[0][0] + s[0][1] + s[0][2];
          o01[j] = s[0][1] - s[0][2] - s[0][3];
          o10[j] = s[1][0] + s[1][1] + s[1][2];
          o11[j] = s[1][1] - s[1][2] - s[1][3];
        }
      }
    });
    return;
  }
  // Pack U for the micro-kernel once: per e, K blocks of ≤ 256 channels, nr-column slivers (zero-padded).
  const MicroKernel& uk = microKernel();
  const int mr = uk.mr, nr = uk.nr;
  const long slivers = (O + nr - 1) / nr, oPad = slivers * nr;
  const long kParts = (C + 255) / 256, kc = (C + kParts - 1) / kParts;
  float* Up = buffer(1, static_cast<size_t>(16 * C * oPad));
  parallelFor(16 * slivers, 1, [&](long q0, long q1, int) {
    for (long q = q0; q < q1; q++) {
      const long e = q / slivers, js = q % slivers, j0 = js * nr, cols = std::min<long>(nr, O - j0);
      const float* ue = U + e * C * O;
      for (long c0 = 0; c0 < C; c0 += kc) {
        const long cl = std::min(kc, C - c0);
        float* dst = Up + e * C * oPad + c0 * oPad + js * cl * nr;
        for (long k = 0; k < cl; k++)
          for (long j = 0; j < nr; j++)
            dst[k * nr + j] = j >= cols ? 0.f : rotated ? ue[(j0 + j) * C + c0 + k] : ue[(c0 + k) * O + j0 + j];
      }
    }
  });
  // Tiles in blocks of 4 register tiles: the block's 16 transformed inputs and 16 products stay in L2.
  const long tb = 4L * mr, blocks = (P + tb - 1) / tb;
  const int threads = pool().size();
  std::vector<std::vector<float>> vBufs(static_cast<size_t>(threads)), mBufs(static_cast<size_t>(threads));
  parallelDynamic(blocks, [&](long block, int worker) {
    std::vector<float>& vb = vBufs[worker];
    std::vector<float>& mb = mBufs[worker];
    vb.resize(static_cast<size_t>(16 * tb * C));
    mb.resize(static_cast<size_t>(16 * tb * oPad));
    float* V = vb.data();
    float* M = mb.data();
    const long first = block * tb, count = std::min(tb, P - first);
    // Input transform V = Bᵀ·d·B (Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]) per tile, vectorised over channels.
    for (long t = 0; t < count; t++) {
      const long p = first + t, b = p / (tH * tW), rem = p % (tH * tW), ty = rem / tW, tx = rem % tW;
      const float* src[16];
      tileWindow(x, zeros.data(), b, ty, tx, inH, inW, C, padT, padL, src);
      float* dst[16];
      for (int e = 0; e < 16; e++) dst[e] = V + (e * tb + t) * C;
      inputTransform(src, dst, C);
    }
    // The 16 products M_e = V_e · U_e, register tile by register tile; rows past `count` read zeros.
    const float* rows[16 * 32];
    for (long c0 = 0; c0 < C; c0 += kc) {
      const long cl = std::min(kc, C - c0);
      for (int e = 0; e < 16; e++) {
        for (long t = 0; t < tb; t++) rows[t] = t < count ? V + (e * tb + t) * C : zeros.data();
        const float* ue = Up + e * C * oPad + c0 * oPad;
        for (long js = 0; js < slivers; js++)
          for (long t0 = 0; t0 < tb; t0 += mr)
            uk.rows(1, cl, rows + t0, c0, ue + js * cl * nr, M + (e * tb + t0) * oPad + js * nr, oPad, c0 > 0);
      }
    }
    // Output transform Y = Aᵀ·m·A (Aᵀ = [1 1 1 0; 0 1 −1 −1]), keeping the tile's pixels inside the output.
    std::vector<float> spill(static_cast<size_t>(O));
    for (long t = 0; t < count; t++) {
      const long p = first + t, b = p / (tH * tW), rem = p % (tH * tW), ty = rem / tW, tx = rem % tW;
      const float* m[16];
      for (int e = 0; e < 16; e++) m[e] = M + (e * tb + t) * oPad;
      float* out[4];
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
          long oy = 2 * ty + i, ox = 2 * tx + j;
          out[i * 2 + j] = oy < outH && ox < outW ? y + ((b * outH + oy) * outW + ox) * O : spill.data();
        }
      float* o00 = out[0];
      float* o01 = out[1];
      float* o10 = out[2];
      float* o11 = out[3];
#pragma GCC ivdep
      for (long j = 0; j < O; j++) {
        float s[2][4];
        for (int c = 0; c < 4; c++) {
          float a0 = m[c][j], a1 = m[4 + c][j], a2 = m[8 + c][j], a3 = m[12 + c][j];
          s[0][c] = a0 + a1 + a2;
          s[1][c] = a1 - a2 - a3;
        }
        o00[j] = s[0][0] + s[0][1] + s[0][2];
        o01[j] = s[0][1] - s[0][2] - s[0][3];
        o10[j] = s[1][0] + s[1][1] + s[1][2];
        o11[j] = s[1][1] - s[1][2] - s[1][3];
      }
    }
  });
}

// dW[ky][kx] = Σ_ab G[a][ky]·G[b][kx]·X_ab (G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]) from the 16 summed products X [16][C][O].
void filterFromProducts(const float* X, long C, long O, float* df) {
  parallelFor(C, 4, [&](long c0, long c1, int) {
    for (long c = c0; c < c1; c++) {
      const float* xs[16];
      for (int e = 0; e < 16; e++) xs[e] = X + (e * C + c) * O;
      float* out[9];
      for (int k = 0; k < 9; k++) out[k] = df + (k * C + c) * O;
#pragma GCC ivdep
      for (long j = 0; j < O; j++) {
        float s[4][3];
        for (int a = 0; a < 4; a++) {
          float x0 = xs[a * 4][j], x1 = xs[a * 4 + 1][j], x2 = xs[a * 4 + 2][j], x3 = xs[a * 4 + 3][j];
          s[a][0] = x0 + 0.5f * (x1 + x2);
          s[a][1] = 0.5f * (x1 - x2);
          s[a][2] = 0.5f * (x1 + x2) + x3;
        }
        for (int k = 0; k < 3; k++) {
          out[k][j] = s[0][k] + 0.5f * (s[1][k] + s[2][k]);
          out[3 + k][j] = 0.5f * (s[1][k] - s[2][k]);
          out[6 + k][j] = 0.5f * (s[1][k] + s[2][k]) + s[3][k];
        }
      }
    }
  });
}

// The filter gradient by F(3×3, 2×2), the transpose of the forward algorithm (Lavin & Gray §5):
// dW = Gᵀ·[Σ_tiles (A·dy·Aᵀ) ⊙ (Bᵀ·x·B)]·G per channel pair, i.e. 16 GEMMs X_e = V_eᵀ · E_e over the tiles.
void winogradBackpropFilter3x3Impl(long batch, long inH, long inW, long C, long outH, long outW, long O, long padT,
                               long padL, const float* x, const float* dy, float* df) {
  const long tH = (outH + 1) / 2, tW = (outW + 1) / 2, P = batch * tH * tW;
  float* V = buffer(1, static_cast<size_t>(16 * P * C));
  float* E = buffer(2, static_cast<size_t>(16 * P * O));
  float* X = buffer(3, static_cast<size_t>(16 * C * O));
  const std::vector<float> zeros(static_cast<size_t>(std::max(C, O)), 0.f);
  parallelFor(P, 16, [&](long p0, long p1, int) {
    for (long p = p0; p < p1; p++) {
      const long b = p / (tH * tW), rem = p % (tH * tW), ty = rem / tW, tx = rem % tW;
      const float* src[16];
      tileWindow(x, zeros.data(), b, ty, tx, inH, inW, C, padT, padL, src);
      float* dst[16];
      for (int e = 0; e < 16; e++) dst[e] = V + (e * P + p) * C;
      inputTransform(src, dst, C);
      // E = A·e·Aᵀ with A = [1 0; 1 1; 1 −1; 0 −1] on the tile's 2×2 of dy (zero outside the output).
      const float* g[4];
      dyWindow(dy, zeros.data(), b, ty, tx, outH, outW, O, g);
      for (int e = 0; e < 16; e++) dst[e] = E + (e * P + p) * O;
      dyTransform(g, dst, O);
    }
  });
  parallelDynamic(16, [&](long e, int) { gemm(true, false, C, O, P, V + e * P * C, C, E + e * P * O, O, X + e * C * O, O, false); });
  filterFromProducts(X, C, O, df);
}

// The same in blocks of 64 tiles for many pixels and few channels (the 32×32 and 16×16 stages): each block's
// transforms stay in L2, packed for the `cols` micro-kernel (A = V slivers of mr channels, B rows = E per tile),
// and each thread sums its blocks into its own X; needs O to be a multiple of the micro-kernel width.
void winogradBackpropFilterBlocked3x3Impl(long batch, long inH, long inW, long C, long outH, long outW, long O, long padT,
                                      long padL, const float* x, const float* dy, float* df) {
  const MicroKernel& uk = microKernel();
  const int mr = uk.mr, nr = uk.nr;
  const long tH = (outH + 1) / 2, tW = (outW + 1) / 2, P = batch * tH * tW;
  const long cTiles = (C + mr - 1) / mr, cPad = cTiles * mr, oSlivers = O / nr;
  constexpr long tb = 64;
  const int threads = pool().size();
  const size_t xSize = static_cast<size_t>(16 * cPad * O);
  float* parts = buffer(3, xSize * threads);
  std::vector<char> used(static_cast<size_t>(threads), 0);
  const std::vector<float> zeros(static_cast<size_t>(std::max(C, O)), 0.f);
  std::vector<std::vector<float>> scratch(static_cast<size_t>(threads));
  // Static: each worker's partial sum X covers the same tile blocks in the same order every run (deterministic).
  parallelStatic((P + tb - 1) / tb, [&](long block, int worker) {
    std::vector<float>& s = scratch[worker];
    s.resize(static_cast<size_t>(16 * cPad * tb + 16 * tb * O + 16 * C));
    float* Vp = s.data();                // [e][c tile][t][mr]
    float* E = Vp + 16 * cPad * tb;      // [e][t][O]
    float* row = E + 16 * tb * O;        // one tile's 16 transformed rows of C
    const long first = block * tb, count = std::min(tb, P - first);
    for (long t = 0; t < count; t++) {
      const long p = first + t, b = p / (tH * tW), rem = p % (tH * tW), ty = rem / tW, tx = rem % tW;
      const float* src[16];
      tileWindow(x, zeros.data(), b, ty, tx, inH, inW, C, padT, padL, src);
      float* dst[16];
      for (int e = 0; e < 16; e++) dst[e] = row + e * C;
      inputTransform(src, dst, C);
      for (int e = 0; e < 16; e++)
        for (long ct = 0; ct < cTiles; ct++) {
          float* to = Vp + ((e * cTiles + ct) * tb + t) * mr;
          const long c0 = ct * mr, cn = std::min<long>(mr, C - c0);
          long i = 0;
          for (; i < cn; i++) to[i] = row[e * C + c0 + i];
          for (; i < mr; i++) to[i] = 0.f;
        }
      const float* g[4];
      dyWindow(dy, zeros.data(), b, ty, tx, outH, outW, O, g);
      for (int e = 0; e < 16; e++) dst[e] = E + (e * tb + t) * O;
      dyTransform(g, dst, O);
    }
    float* X = parts + xSize * worker;
    const bool acc = used[worker] != 0;
    used[worker] = 1;
    const float* rowsE[tb];
    for (int e = 0; e < 16; e++) {
      for (long t = 0; t < count; t++) rowsE[t] = E + (e * tb + t) * O;
      for (long ct = 0; ct < cTiles; ct++)
        for (long os = 0; os < oSlivers; os++)
          uk.cols(count, Vp + (e * cTiles + ct) * tb * mr, rowsE, os * nr, X + (e * cPad + ct * mr) * O + os * nr, O, acc);
    }
  });
  // Sum the threads' X (rows c < C of each) into the first used one's layout [16][C][O], then invert.
  float* X = buffer(2, static_cast<size_t>(16 * C * O));
  parallelFor(16 * C, 16, [&](long r0, long r1, int) {
    for (long r = r0; r < r1; r++) {
      const long e = r / C, c = r % C;
      float* out = X + r * O;
      bool first = true;
      for (int w = 0; w < threads; w++) {
        if (!used[w]) continue;
        const float* in = parts + xSize * w + (e * cPad + c) * O;
        if (first)
          for (long j = 0; j < O; j++) out[j] = in[j];
        else
          for (long j = 0; j < O; j++) out[j] += in[j];
        first = false;
      }
    }
  });
  filterFromProducts(X, C, O, df);
}

}  // namespace KILN_WINO_NS
}  // namespace kiln
