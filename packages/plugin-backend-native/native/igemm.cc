// Indirect GEMM: the A rows are reached through pointers (one per row and tap), so convolutions run
// without an im2col matrix or packing of the image (XNNPACK's "indirect convolution" idea).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "threadpool.h"

namespace kiln {
namespace {

// Floats of K per block: the A rows of a tile group and one B sliver stay in L2/L1.
constexpr long kBlockK = 256;
// Register tiles per group: their pointers are gathered once, then every K block and B sliver runs over them.
constexpr long kGroupTiles = 8;

struct KBlock {
  long t0, nt, c0, cl, offset;
};

// Grows, never shrinks; one per JS thread (kernels are called from it one at a time).
float* packedB(size_t n) {
  thread_local float* data = nullptr;
  thread_local size_t size = 0;
  if (n > size) {
    std::free(data);
    size = (n + 1023) & ~static_cast<size_t>(1023);
    data = static_cast<float*>(std::aligned_alloc(64, size * sizeof(float)));
  }
  return data;
}

}  // namespace

void gemmRowsIndirect(long m, long n, long taps, long clen, const RowPointers& rowPtrs, const float* const* bTaps,
                      bool transposed, float* c) {
  if (m <= 0 || n <= 0) return;
  if (taps <= 0 || clen <= 0) {
    std::memset(c, 0, sizeof(float) * m * n);
    return;
  }
  const MicroKernel& uk = microKernel();
  const int mr = uk.mr, nr = uk.nr;
  if (transposed && uk.dots != nullptr && n <= 4) {
    // A few columns (the input gradient of a 3-channel stem): dot products along clen waste nothing on padding.
    const std::vector<float> zeros(static_cast<size_t>(clen), 0.f);
    constexpr long kRows = 256;
    parallelDynamic((m + kRows - 1) / kRows, [&](long chunk, int) {
      std::vector<const float*> row(static_cast<size_t>(taps));
      for (long r = chunk * kRows; r < std::min(m, (chunk + 1) * kRows); r++) {
        rowPtrs(r, row.data());
        for (long t = 0; t < taps; t++)
          if (row[t] == nullptr) row[t] = zeros.data();
        uk.dots(taps, clen, row.data(), bTaps, n, c + r * n);
      }
    });
    return;
  }
  const long slivers = (n + nr - 1) / nr, nPad = slivers * nr;
  std::vector<KBlock> blocks;
  long offset = 0;
  if (clen >= kBlockK) {
    long parts = (clen + kBlockK - 1) / kBlockK, step = (clen + parts - 1) / parts;
    for (long t = 0; t < taps; t++)
      for (long c0 = 0; c0 < clen; c0 += step) {
        long cl = std::min(step, clen - c0);
        blocks.push_back({t, 1, c0, cl, offset});
        offset += cl * nPad;
      }
  } else {
    // Whole taps per block, as even as possible (9 taps of 64 floats: 3+3+3, not 4+4+1).
    long group = std::max(1L, kBlockK / clen), count = (taps + group - 1) / group;
    group = (taps + count - 1) / count;
    for (long t0 = 0; t0 < taps; t0 += group) {
      long nt = std::min(group, taps - t0);
      blocks.push_back({t0, nt, 0, clen, offset});
      offset += nt * clen * nPad;
    }
  }
  float* bp = packedB(static_cast<size_t>(offset));
  parallelFor(static_cast<long>(blocks.size()), 1, [&](long q0, long q1, int) {
    for (long q = q0; q < q1; q++) {
      const KBlock& blk = blocks[q];
      const long len = blk.nt * blk.cl;
      for (long js = 0; js < slivers; js++) {
        float* dst = bp + blk.offset + js * len * nr;
        const long j0 = js * nr, cols = std::min<long>(nr, n - j0);
        for (long tt = 0; tt < blk.nt; tt++, dst += blk.cl * nr) {
          const float* bt = bTaps[blk.t0 + tt];
          if (transposed) {
            // Column j of the sliver is row j0+j of B_tᵀ: read it contiguously, write with stride nr.
            for (long j = 0; j < nr; j++) {
              if (j < cols) {
                const float* src = bt + (j0 + j) * clen + blk.c0;
                for (long k = 0; k < blk.cl; k++) dst[k * nr + j] = src[k];
              } else {
                for (long k = 0; k < blk.cl; k++) dst[k * nr + j] = 0.f;
              }
            }
          } else {
            for (long k = 0; k < blk.cl; k++) {
              const float* src = bt + (blk.c0 + k) * n + j0;
              long j = 0;
              for (; j < cols; j++) dst[k * nr + j] = src[j];
              for (; j < nr; j++) dst[k * nr + j] = 0.f;
            }
          }
        }
      }
    }
  });
  const std::vector<float> zeros(static_cast<size_t>(clen), 0.f);
  // Groups of up to kGroupTiles tiles, but at least ~4 per thread so small M (late layers) still balances.
  const long tiles = (m + mr - 1) / mr;
  const long groupTiles = std::max(1L, std::min(kGroupTiles, tiles / (4L * pool().size())));
  const long groups = (tiles + groupTiles - 1) / groupTiles;
  const int threads = pool().size();
  std::vector<std::vector<const float*>> ptrTables(static_cast<size_t>(threads)), rowTables(static_cast<size_t>(threads));
  parallelDynamic(groups, [&](long group, int worker) {
    std::vector<const float*>& ptrs = ptrTables[worker];
    std::vector<const float*>& row = rowTables[worker];
    ptrs.resize(static_cast<size_t>(kGroupTiles * taps * mr));
    row.resize(static_cast<size_t>(taps));
    alignas(64) float edge[16 * 32];
    {
      const long g0 = group * groupTiles, g1 = std::min(tiles, g0 + groupTiles);
      for (long tile = g0; tile < g1; tile++) {
        const float** dst = ptrs.data() + (tile - g0) * taps * mr;
        for (int i = 0; i < mr; i++) {
          long r = tile * mr + i;
          if (r < m) {
            rowPtrs(r, row.data());
            for (long t = 0; t < taps; t++) dst[t * mr + i] = row[t] != nullptr ? row[t] : zeros.data();
          } else {
            for (long t = 0; t < taps; t++) dst[t * mr + i] = zeros.data();
          }
        }
      }
      for (size_t kb = 0; kb < blocks.size(); kb++) {
        const KBlock& blk = blocks[kb];
        const long len = blk.nt * blk.cl;
        const bool acc = kb > 0;
        for (long js = 0; js < slivers; js++) {
          const float* bs = bp + blk.offset + js * len * nr;
          const long cols = std::min<long>(nr, n - js * nr);
          for (long tile = g0; tile < g1; tile++) {
            const float* const* a = ptrs.data() + ((tile - g0) * taps + blk.t0) * mr;
            const long rows = std::min<long>(mr, m - tile * mr);
            float* ct = c + tile * mr * n + js * nr;
            if (rows == mr && cols == nr) {
              uk.rows(blk.nt, blk.cl, a, blk.c0, bs, ct, n, acc);
            } else {
              uk.rows(blk.nt, blk.cl, a, blk.c0, bs, edge, nr, false);
              for (long i = 0; i < rows; i++)
                for (long j = 0; j < cols; j++) ct[i * n + j] = (acc ? ct[i * n + j] : 0.f) + edge[i * nr + j];
            }
          }
        }
      }
    }
  });
}

}  // namespace kiln
