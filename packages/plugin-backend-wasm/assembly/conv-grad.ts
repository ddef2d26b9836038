// Kiln's conv-gradient kernels for tfjs-wasm, in AssemblyScript (compiled by `npm run asbuild`
// in this package to src/kernels/kiln-wasm-binary.ts). The module imports tfjs-wasm's own
// memory: every pointer is a byte offset into tfjs-wasm's heap (tensor data and a scratch
// buffer the caller mallocs there). No static data, no allocation, no runtime: the module must
// not write anywhere it was not given.
//
// Both kernels are GEMMs with the im2col folded into the packing of small L1/L2-sized panels,
// and one 4×8 wasm-SIMD micro-kernel (8 f32x4 accumulators, splatted A, two B vectors), the
// shape of XNNPACK's wasmsimd "splat" GEMMs.

// @ts-ignore: decorator
@inline
function kernel4x8(a: usize, b: usize, c: usize, k: i32): void {
  let c00 = v128.load(c, 0);
  let c01 = v128.load(c, 16);
  let c10 = v128.load(c, 32);
  let c11 = v128.load(c, 48);
  let c20 = v128.load(c, 64);
  let c21 = v128.load(c, 80);
  let c30 = v128.load(c, 96);
  let c31 = v128.load(c, 112);
  for (let i = 0; i < k; i++) {
    const b0 = v128.load(b, 0);
    const b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a, 0);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    const a1 = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    const a2 = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(a2, b0));
    c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    const a3 = v128.load32_splat(a, 12);
    c30 = f32x4.add(c30, f32x4.mul(a3, b0));
    c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    a += 16;
    b += 32;
  }
  v128.store(c, c00, 0);
  v128.store(c, c01, 16);
  v128.store(c, c10, 32);
  v128.store(c, c11, 48);
  v128.store(c, c20, 64);
  v128.store(c, c21, 80);
  v128.store(c, c30, 96);
  v128.store(c, c31, 112);
}

function zero(p: usize, bytes: i32): void {
  memory.fill(p, 0, <usize>bytes);
}

/** Scratch bytes convBackpropFilter needs. */
export function filterScratchBytes(cin: i32, cout: i32, taps: i32, chunk: i32): i32 {
  const cin4 = (cin + 3) & ~3;
  const cout8 = (cout + 7) & ~7;
  return (chunk * cout8 + chunk * cin4 + taps * cin4 * cout8) * 4 + 64;
}

/**
 * dw[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh·sh + kh·dh − top, ow·sw + kw·dw − left, ci] · dy[b, oh, ow, co]
 * (zero outside x). NHWC x and dy, HWIO dw. Per chunk of output pixels: dy is packed into
 * 8-column panels once, x into 4-row panels once per tap, and every (ci, co) tile is one
 * micro-kernel call over the chunk, accumulating into a tile-major buffer.
 */
export function convBackpropFilter(
  x: usize, dy: usize, dw: usize, scratch: usize,
  batch: i32, inH: i32, inW: i32, cin: i32,
  outH: i32, outW: i32, cout: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dwl: i32, top: i32, left: i32,
  chunk: i32,
): void {
  const cin4 = (cin + 3) & ~3;
  const cout8 = (cout + 7) & ~7;
  const ciBlocks = cin4 >> 2;
  const coBlocks = cout8 >> 3;
  const taps = kh * kw;
  const base = (scratch + 15) & ~(<usize>15);
  const bPanel = base;                                      // [coBlocks][chunk][8]
  const aPanel = bPanel + <usize>(chunk * cout8 * 4);       // [ciBlocks][chunk][4]
  const acc = aPanel + <usize>(chunk * cin4 * 4);           // [taps][ciBlocks][coBlocks][4][8]
  zero(acc, taps * cin4 * cout8 * 4);
  const pixels = batch * outH * outW;
  for (let p0 = 0; p0 < pixels; p0 += chunk) {
    const n = min(chunk, pixels - p0);
    // dy rows p0 … p0+n → 8-wide column panels (zero past cout).
    if (cout8 != cout) zero(bPanel, coBlocks * n * 32);
    for (let i = 0; i < n; i++) {
      const src = dy + <usize>((p0 + i) * cout * 4);
      for (let cb = 0; cb < coBlocks; cb++) {
        const dst = bPanel + <usize>((cb * n + i) * 32);
        const c0 = cb << 3;
        if (c0 + 8 <= cout) {
          v128.store(dst, v128.load(src + <usize>(c0 * 4)), 0);
          v128.store(dst, v128.load(src + <usize>(c0 * 4), 16), 16);
        } else {
          for (let j = c0; j < cout; j++) store<f32>(dst + <usize>((j - c0) * 4), load<f32>(src + <usize>(j * 4)));
        }
      }
    }
    for (let ty = 0; ty < kh; ty++) {
      for (let tx = 0; tx < kw; tx++) {
        // The input pixel each output pixel of the chunk sees through tap (ty, tx) → 4-wide panels.
        let b = p0 / (outH * outW);
        let rem = p0 - b * outH * outW;
        let oy = rem / outW;
        let ox = rem - oy * outW;
        for (let i = 0; i < n; i++) {
          const iy = oy * sh + ty * dh - top;
          const ix = ox * sw + tx * dwl - left;
          if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
            const src = x + <usize>((((b * inH + iy) * inW + ix) * cin) * 4);
            let cb = 0;
            for (; (cb << 2) + 4 <= cin; cb++) {
              v128.store(aPanel + <usize>((cb * n + i) * 16), v128.load(src + <usize>(cb * 16)));
            }
            if (cb < ciBlocks) {
              const dst = aPanel + <usize>((cb * n + i) * 16);
              v128.store(dst, f32x4.splat(0));
              for (let j = cb << 2; j < cin; j++) store<f32>(dst + <usize>((j - (cb << 2)) * 4), load<f32>(src + <usize>(j * 4)));
            }
          } else {
            for (let cb = 0; cb < ciBlocks; cb++) v128.store(aPanel + <usize>((cb * n + i) * 16), f32x4.splat(0));
          }
          ox++;
          if (ox == outW) {
            ox = 0;
            oy++;
            if (oy == outH) {
              oy = 0;
              b++;
            }
          }
        }
        const tapAcc = acc + <usize>((ty * kw + tx) * cin4 * cout8 * 4);
        for (let cb = 0; cb < coBlocks; cb++) {
          const bp = bPanel + <usize>(cb * n * 32);
          for (let ab = 0; ab < ciBlocks; ab++) {
            kernel4x8(aPanel + <usize>(ab * n * 16), bp, tapAcc + <usize>((ab * coBlocks + cb) * 128), n);
          }
        }
      }
    }
  }
  // Tile-major accumulators → HWIO.
  for (let t = 0; t < taps; t++) {
    const tapAcc = acc + <usize>(t * cin4 * cout8 * 4);
    for (let ci = 0; ci < cin; ci++) {
      const ab = ci >> 2;
      const r = ci & 3;
      const dst = dw + <usize>(((t * cin + ci) * cout) * 4);
      for (let co = 0; co < cout; co++) {
        store<f32>(dst + <usize>(co * 4), load<f32>(tapAcc + <usize>((((ab * coBlocks + (co >> 3)) * 4 + r) * 8 + (co & 7)) * 4)));
      }
    }
  }
}

/** Scratch bytes convBackpropInput needs. */
export function inputScratchBytes(cin: i32, cout: i32, taps: i32, chunk: i32): i32 {
  const cin8 = (cin + 7) & ~7;
  const chunk4 = (chunk + 3) & ~3;
  return (taps * cin8 * cout + chunk4 * cout + 32) * 4 + 64;
}

/**
 * dx[b, iy, ix, ci] = Σ_{kh, kw, co} dy[b, oy, ox, co] · w[kh, kw, ci, co] over the (oy, ox, kh, kw)
 * with iy = oy·sh + kh·dh − top, ix = ox·sw + kw·dw − left (col2im of dy · wᵀ). Strided
 * convs cost no more than stride-1 ones: nothing is zero-upsampled. The filter is packed
 * once as [tap][ci/8][co][8]; dy per chunk as [pixel/4][co][4]; each 4×8 tile of dy·wᵀ is
 * added into dx at its pixels.
 */
export function convBackpropInput(
  dy: usize, w: usize, dx: usize, scratch: usize,
  batch: i32, inH: i32, inW: i32, cin: i32,
  outH: i32, outW: i32, cout: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dwl: i32, top: i32, left: i32,
  chunk: i32,
): void {
  const cin8 = (cin + 7) & ~7;
  const ciBlocks = cin8 >> 3;
  const taps = kh * kw;
  const base = (scratch + 15) & ~(<usize>15);
  const wPanel = base;                                            // [taps][ciBlocks][cout][8]
  const aPanel = wPanel + <usize>(taps * cin8 * cout * 4);        // [chunk/4][cout][4]
  const tile = aPanel + <usize>((((chunk + 3) & ~3) * cout) * 4); // [4][8]
  if (cin8 != cin) zero(wPanel, taps * cin8 * cout * 4);
  for (let t = 0; t < taps; t++) {
    for (let ci = 0; ci < cin; ci++) {
      const src = w + <usize>(((t * cin + ci) * cout) * 4);
      const dst = wPanel + <usize>((((t * ciBlocks + (ci >> 3)) * cout) * 8 + (ci & 7)) * 4);
      for (let co = 0; co < cout; co++) store<f32>(dst + <usize>(co * 32), load<f32>(src + <usize>(co * 4)));
    }
  }
  zero(dx, batch * inH * inW * cin * 4);
  const pixels = batch * outH * outW;
  const plane = outH * outW;
  for (let p0 = 0; p0 < pixels; p0 += chunk) {
    const n = min(chunk, pixels - p0);
    const blocks = (n + 3) >> 2;
    // dy rows → [block][co][4] (rows past n are zero).
    for (let pb = 0; pb < blocks; pb++) {
      const dst = aPanel + <usize>(pb * cout * 16);
      for (let r = 0; r < 4; r++) {
        const i = (pb << 2) + r;
        if (i < n) {
          const src = dy + <usize>((p0 + i) * cout * 4);
          for (let co = 0; co < cout; co++) store<f32>(dst + <usize>(co * 16 + r * 4), load<f32>(src + <usize>(co * 4)));
        } else {
          for (let co = 0; co < cout; co++) store<f32>(dst + <usize>(co * 16 + r * 4), 0);
        }
      }
    }
    for (let ty = 0; ty < kh; ty++) {
      for (let tx = 0; tx < kw; tx++) {
        const t = ty * kw + tx;
        for (let cb = 0; cb < ciBlocks; cb++) {
          const bp = wPanel + <usize>(((t * ciBlocks + cb) * cout) * 32);
          const c0 = cb << 3;
          const full = c0 + 8 <= cin;
          for (let pb = 0; pb < blocks; pb++) {
            zero(tile, 128);
            kernel4x8(aPanel + <usize>(pb * cout * 16), bp, tile, cout);
            for (let r = 0; r < 4; r++) {
              const p = p0 + (pb << 2) + r;
              if ((pb << 2) + r >= n) break;
              const b = p / plane;
              const rem = p - b * plane;
              const oy = rem / outW;
              const ox = rem - oy * outW;
              const iy = oy * sh + ty * dh - top;
              const ix = ox * sw + tx * dwl - left;
              if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
              const dst = dx + <usize>((((b * inH + iy) * inW + ix) * cin + c0) * 4);
              const row = tile + <usize>(r * 32);
              if (full) {
                v128.store(dst, f32x4.add(v128.load(dst), v128.load(row)));
                v128.store(dst, f32x4.add(v128.load(dst, 16), v128.load(row, 16)), 16);
              } else {
                for (let j = 0; j < cin - c0; j++) store<f32>(dst + <usize>(j * 4), load<f32>(dst + <usize>(j * 4)) + load<f32>(row + <usize>(j * 4)));
              }
            }
          }
        }
      }
    }
  }
}

// acc[i] += src[i] for i < n (SIMD, scalar tail).
function addInto(acc: usize, src: usize, n: i32): void {
  const vecEnd = n & ~3;
  let i = 0;
  for (; i < vecEnd; i += 4) {
    const p = <usize>(i * 4);
    v128.store(acc + p, f32x4.add(v128.load(acc + p), v128.load(src + p)));
  }
  for (; i < n; i++) {
    const p = <usize>(i * 4);
    store<f32>(acc + p, load<f32>(acc + p) + load<f32>(src + p));
  }
}

/**
 * out[o, i] = scale · Σ_r x[o, r, i] for x viewed as [outer, reduce, inner]: the sum or mean over
 * contiguous non-innermost axes (batch-norm statistics and gradients reduce [N, H, W] of NHWC),
 * which tfjs-wasm runs as a full transpose followed by an innermost reduction. Pairwise-style
 * blocking keeps float32 error small: rows are summed in blocks of 64 (`tmp`), blocks in
 * groups of 64 (`mid`, the next inner floats of scratch), groups into out.
 */
export function sumMiddle(x: usize, out: usize, tmp: usize, outer: i32, reduce: i32, inner: i32, scale: f32): void {
  const bytes = <usize>(inner * 4);
  const mid = tmp + bytes;
  for (let o = 0; o < outer; o++) {
    const dst = out + <usize>(o * inner * 4);
    zero(dst, inner * 4);
    const src0 = x + <usize>(o * reduce * inner * 4);
    for (let g0 = 0; g0 < reduce; g0 += 4096) {
      const g1 = min(reduce, g0 + 4096);
      zero(mid, inner * 4);
      for (let r0 = g0; r0 < g1; r0 += 64) {
        const r1 = min(g1, r0 + 64);
        memory.copy(tmp, src0 + <usize>(r0) * bytes, bytes);
        for (let r = r0 + 1; r < r1; r++) addInto(tmp, src0 + <usize>(r) * bytes, inner);
        addInto(mid, tmp, inner);
      }
      addInto(dst, mid, inner);
    }
    if (scale != 1) {
      const s = f32x4.splat(scale);
      const vecEnd = inner & ~3;
      let i = 0;
      for (; i < vecEnd; i += 4) v128.store(dst + <usize>(i * 4), f32x4.mul(v128.load(dst + <usize>(i * 4)), s));
      for (; i < inner; i++) store<f32>(dst + <usize>(i * 4), load<f32>(dst + <usize>(i * 4)) * scale);
    }
  }
}

/** Scratch bytes convForward needs: packed filter panels + one zero row. */
export function forwardScratchBytes(cin: i32, cout: i32, taps: i32): i32 {
  const cout8 = (cout + 7) & ~7;
  return (taps * cin * cout8 + cin + 8) * 4 + 64;
}

/**
 * Forward conv as an indirect GEMM (XNNPACK's igemm scheme), NHWC:
 * y[b, oy, ox, co] = act(bias[co] + Σ_{kh, kw, ci} x[b, oy·sh + kh·dh − top, ox·sw + kw·dw − left, ci] · w(kh, kw, ci, co)).
 * No im2col: the micro-kernel reads 4 output pixels' input rows through pointers (a zero row
 * where the window leaves x). The filter is packed once into 8-column panels, k-major.
 * mode 0: w is HWIO [kh, kw, ci, co] (forward conv). mode 1: w is the forward filter
 * [KH, KW, co, ci] of the conv whose input gradient this computes, read flipped and transposed
 * (the stride-1 input gradient is this conv over dy). bias = 0: none. relu != 0: max(·, 0).
 */
export function convForward(
  x: usize, w: usize, bias: usize, y: usize, scratch: usize,
  batch: i32, inH: i32, inW: i32, cin: i32,
  outH: i32, outW: i32, cout: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dwl: i32, top: i32, left: i32,
  mode: i32, relu: i32, chunk: i32,
): void {
  const cout8 = (cout + 7) & ~7;
  const coBlocks = cout8 >> 3;
  const taps = kh * kw;
  const k = taps * cin;
  const base = (scratch + 15) & ~(<usize>15);
  const wPanel = base;                                          // [coBlocks][tap][ci][8]
  const zeroRow = wPanel + <usize>(taps * cin * cout8 * 4);     // cin (+ 8) zeros
  zero(zeroRow, (cin + 8) * 4);
  if (cout8 != cout) zero(wPanel, taps * cin * cout8 * 4);
  for (let t = 0; t < taps; t++) {
    const ft = mode == 0 ? t : taps - 1 - t;
    for (let ci = 0; ci < cin; ci++) {
      for (let co = 0; co < cout; co++) {
        const src = mode == 0 ? w + <usize>(((ft * cin + ci) * cout + co) * 4) : w + <usize>(((ft * cout + co) * cin + ci) * 4);
        store<f32>(wPanel + <usize>(((((co >> 3) * taps + t) * cin + ci) * 8 + (co & 7)) * 4), load<f32>(src));
      }
    }
  }
  const pixels = batch * outH * outW;
  const plane = outH * outW;
  const relu0 = f32x4.splat(0);
  for (let p0 = 0; p0 < pixels; p0 += chunk) {
    const p1 = min(pixels, p0 + chunk);
    for (let cb = 0; cb < coBlocks; cb++) {
      const c0 = cb << 3;
      const bp0 = wPanel + <usize>(cb * k * 32);
      let b0v = f32x4.splat(0);
      let b1v = f32x4.splat(0);
      if (bias != 0) {
        if (c0 + 8 <= cout) {
          b0v = v128.load(bias + <usize>(c0 * 4));
          b1v = v128.load(bias + <usize>(c0 * 4), 16);
        } else {
          for (let j = c0; j < cout; j++) {
            const v = load<f32>(bias + <usize>(j * 4));
            const lane = j - c0;
            if (lane == 0) b0v = f32x4.replace_lane(b0v, 0, v);
            else if (lane == 1) b0v = f32x4.replace_lane(b0v, 1, v);
            else if (lane == 2) b0v = f32x4.replace_lane(b0v, 2, v);
            else if (lane == 3) b0v = f32x4.replace_lane(b0v, 3, v);
            else if (lane == 4) b1v = f32x4.replace_lane(b1v, 0, v);
            else if (lane == 5) b1v = f32x4.replace_lane(b1v, 1, v);
            else if (lane == 6) b1v = f32x4.replace_lane(b1v, 2, v);
          }
        }
      }
      for (let pb = p0; pb < p1; pb += 4) {
        // The 4 pixels (the last block may repeat pixel p1−1; its result is not stored).
        const q0 = pb;
        const q1 = min(pb + 1, p1 - 1);
        const q2 = min(pb + 2, p1 - 1);
        const q3 = min(pb + 3, p1 - 1);
        const n0 = q0 / plane; const r0 = q0 - n0 * plane; const y0 = r0 / outW; const x0 = r0 - y0 * outW;
        const n1 = q1 / plane; const r1 = q1 - n1 * plane; const y1 = r1 / outW; const x1 = r1 - y1 * outW;
        const n2 = q2 / plane; const r2 = q2 - n2 * plane; const y2 = r2 / outW; const x2 = r2 - y2 * outW;
        const n3 = q3 / plane; const r3 = q3 - n3 * plane; const y3 = r3 / outW; const x3 = r3 - y3 * outW;
        let c00 = b0v; let c01 = b1v; let c10 = b0v; let c11 = b1v;
        let c20 = b0v; let c21 = b1v; let c30 = b0v; let c31 = b1v;
        let bp = bp0;
        for (let ty = 0; ty < kh; ty++) {
          const dyo = ty * dh - top;
          const iy0 = y0 * sh + dyo; const iy1 = y1 * sh + dyo; const iy2 = y2 * sh + dyo; const iy3 = y3 * sh + dyo;
          for (let tx = 0; tx < kw; tx++) {
            const dxo = tx * dwl - left;
            const ix0 = x0 * sw + dxo; const ix1 = x1 * sw + dxo; const ix2 = x2 * sw + dxo; const ix3 = x3 * sw + dxo;
            let a0 = iy0 >= 0 && iy0 < inH && ix0 >= 0 && ix0 < inW ? x + <usize>((((n0 * inH + iy0) * inW + ix0) * cin) * 4) : zeroRow;
            let a1 = iy1 >= 0 && iy1 < inH && ix1 >= 0 && ix1 < inW ? x + <usize>((((n1 * inH + iy1) * inW + ix1) * cin) * 4) : zeroRow;
            let a2 = iy2 >= 0 && iy2 < inH && ix2 >= 0 && ix2 < inW ? x + <usize>((((n2 * inH + iy2) * inW + ix2) * cin) * 4) : zeroRow;
            let a3 = iy3 >= 0 && iy3 < inH && ix3 >= 0 && ix3 < inW ? x + <usize>((((n3 * inH + iy3) * inW + ix3) * cin) * 4) : zeroRow;
            for (let ci = 0; ci < cin; ci++) {
              const b0 = v128.load(bp, 0);
              const b1 = v128.load(bp, 16);
              const s0 = v128.load32_splat(a0);
              c00 = f32x4.add(c00, f32x4.mul(s0, b0));
              c01 = f32x4.add(c01, f32x4.mul(s0, b1));
              const s1 = v128.load32_splat(a1);
              c10 = f32x4.add(c10, f32x4.mul(s1, b0));
              c11 = f32x4.add(c11, f32x4.mul(s1, b1));
              const s2 = v128.load32_splat(a2);
              c20 = f32x4.add(c20, f32x4.mul(s2, b0));
              c21 = f32x4.add(c21, f32x4.mul(s2, b1));
              const s3 = v128.load32_splat(a3);
              c30 = f32x4.add(c30, f32x4.mul(s3, b0));
              c31 = f32x4.add(c31, f32x4.mul(s3, b1));
              a0 += 4; a1 += 4; a2 += 4; a3 += 4;
              bp += 32;
            }
          }
        }
        if (relu != 0) {
          c00 = f32x4.max(c00, relu0); c01 = f32x4.max(c01, relu0); c10 = f32x4.max(c10, relu0); c11 = f32x4.max(c11, relu0);
          c20 = f32x4.max(c20, relu0); c21 = f32x4.max(c21, relu0); c30 = f32x4.max(c30, relu0); c31 = f32x4.max(c31, relu0);
        }
        const count = min(4, p1 - pb);
        if (c0 + 8 <= cout) {
          const d0 = y + <usize>((pb * cout + c0) * 4);
          v128.store(d0, c00); v128.store(d0, c01, 16);
          if (count > 1) { const d1 = d0 + <usize>(cout * 4); v128.store(d1, c10); v128.store(d1, c11, 16); }
          if (count > 2) { const d2 = d0 + <usize>(cout * 8); v128.store(d2, c20); v128.store(d2, c21, 16); }
          if (count > 3) { const d3 = d0 + <usize>(cout * 12); v128.store(d3, c30); v128.store(d3, c31, 16); }
        } else {
          // Partial column block: lane by lane.
          storeTail(y + <usize>((pb * cout + c0) * 4), c00, c01, cout - c0);
          if (count > 1) storeTail(y + <usize>(((pb + 1) * cout + c0) * 4), c10, c11, cout - c0);
          if (count > 2) storeTail(y + <usize>(((pb + 2) * cout + c0) * 4), c20, c21, cout - c0);
          if (count > 3) storeTail(y + <usize>(((pb + 3) * cout + c0) * 4), c30, c31, cout - c0);
        }
      }
    }
  }
}

function storeTail(dst: usize, lo: v128, hi: v128, n: i32): void {
  if (n > 0) store<f32>(dst, f32x4.extract_lane(lo, 0));
  if (n > 1) store<f32>(dst, f32x4.extract_lane(lo, 1), 4);
  if (n > 2) store<f32>(dst, f32x4.extract_lane(lo, 2), 8);
  if (n > 3) store<f32>(dst, f32x4.extract_lane(lo, 3), 12);
  if (n > 4) store<f32>(dst, f32x4.extract_lane(hi, 0), 16);
  if (n > 5) store<f32>(dst, f32x4.extract_lane(hi, 1), 20);
  if (n > 6) store<f32>(dst, f32x4.extract_lane(hi, 2), 24);
}

/** Scratch bytes batchMatMul needs: one packed A panel (rows padded to 4) and one packed B (columns padded to 8). */
export function matMulScratchBytes(m: i32, k: i32, n: i32): i32 {
  return ((((m + 3) & ~3) + ((n + 7) & ~7)) * k) * 4 + 64;
}

/**
 * c[b] = a[b] · b[b] for b < batch, with element (i, k) of a[b] at a + 4·(b·aBatch + i·aRow + k·aCol)
 * and (k, j) of b[b] at bm + 4·(b·bBatch + k·bRow + j·bCol): any transposes and a broadcast
 * batch (stride 0) are read by the packing, never materialised. c is [batch, m, n] row-major.
 * Per batch: B is packed into 8-column k-major panels, A into 4-row panels, and every 4×8 tile is
 * one micro-kernel call.
 */
export function batchMatMul(
  a: usize, bm: usize, c: usize, scratch: usize,
  batch: i32, m: i32, k: i32, n: i32,
  aBatch: i32, aRow: i32, aCol: i32, bBatch: i32, bRow: i32, bCol: i32,
): void {
  const m4 = (m + 3) & ~3;
  const n8 = (n + 7) & ~7;
  const base = (scratch + 15) & ~(<usize>15);
  const bPanel = base;                                  // [n8/8][k][8]
  const aPanel = bPanel + <usize>(n8 * k * 4);          // [m4/4][k][4]
  let packedB = -1;
  for (let bi = 0; bi < batch; bi++) {
    const bOff = bi * bBatch;
    if (bi == 0 || bOff != packedB) {
      if (n8 != n) zero(bPanel, n8 * k * 4);
      for (let kk = 0; kk < k; kk++) {
        for (let j = 0; j < n; j++) {
          store<f32>(bPanel + <usize>((((j >> 3) * k + kk) * 8 + (j & 7)) * 4), load<f32>(bm + <usize>((bOff + kk * bRow + j * bCol) * 4)));
        }
      }
      packedB = bOff;
    }
    const aOff = bi * aBatch;
    const cb = c + <usize>(bi * m * n * 4);
    // Rows in chunks whose packed A (≈ 64 KB) stays in L2 while every B panel passes over it.
    const chunk = max(4, min(m4, ((16384 / max(k, 1)) >> 2) << 2));
    for (let i0 = 0; i0 < m; i0 += chunk) {
      const i1 = min(m, i0 + chunk);
      const rowsPadded = ((i1 - i0) + 3) & ~3;
      if (rowsPadded != i1 - i0) zero(aPanel + <usize>((rowsPadded - 4) * k * 4), 4 * k * 4);
      for (let i = i0; i < i1; i++) {
        const li = i - i0;
        const dst = aPanel + <usize>(((li >> 2) * k * 4 + (li & 3)) * 4);
        const src = a + <usize>((aOff + i * aRow) * 4);
        if (aCol == 1) {
          for (let kk = 0; kk < k; kk++) store<f32>(dst + <usize>(kk * 16), load<f32>(src + <usize>(kk * 4)));
        } else {
          for (let kk = 0; kk < k; kk++) store<f32>(dst + <usize>(kk * 16), load<f32>(src + <usize>(kk * aCol * 4)));
        }
      }
      for (let jb = 0; jb < n8; jb += 8) {
        const bp = bPanel + <usize>(jb * k * 4);
        for (let ib = i0; ib < i1; ib += 4) {
          const ap = aPanel + <usize>((ib - i0) * k * 4);
          let c00 = f32x4.splat(0); let c01 = f32x4.splat(0); let c10 = f32x4.splat(0); let c11 = f32x4.splat(0);
          let c20 = f32x4.splat(0); let c21 = f32x4.splat(0); let c30 = f32x4.splat(0); let c31 = f32x4.splat(0);
          let ap2 = ap;
          let bp2 = bp;
          for (let kk = 0; kk < k; kk++) {
            const b0 = v128.load(bp2, 0);
            const b1 = v128.load(bp2, 16);
            const a0 = v128.load32_splat(ap2, 0);
            c00 = f32x4.add(c00, f32x4.mul(a0, b0));
            c01 = f32x4.add(c01, f32x4.mul(a0, b1));
            const a1 = v128.load32_splat(ap2, 4);
            c10 = f32x4.add(c10, f32x4.mul(a1, b0));
            c11 = f32x4.add(c11, f32x4.mul(a1, b1));
            const a2 = v128.load32_splat(ap2, 8);
            c20 = f32x4.add(c20, f32x4.mul(a2, b0));
            c21 = f32x4.add(c21, f32x4.mul(a2, b1));
            const a3 = v128.load32_splat(ap2, 12);
            c30 = f32x4.add(c30, f32x4.mul(a3, b0));
            c31 = f32x4.add(c31, f32x4.mul(a3, b1));
            ap2 += 16;
            bp2 += 32;
          }
          const rows = min(4, i1 - ib);
          const cols = n - jb;
          const d0 = cb + <usize>((ib * n + jb) * 4);
          if (cols >= 8) {
            v128.store(d0, c00); v128.store(d0, c01, 16);
            if (rows > 1) { const d = d0 + <usize>(n * 4); v128.store(d, c10); v128.store(d, c11, 16); }
            if (rows > 2) { const d = d0 + <usize>(n * 8); v128.store(d, c20); v128.store(d, c21, 16); }
            if (rows > 3) { const d = d0 + <usize>(n * 12); v128.store(d, c30); v128.store(d, c31, 16); }
          } else {
            storeTail(d0, c00, c01, cols);
            if (rows > 1) storeTail(d0 + <usize>(n * 4), c10, c11, cols);
            if (rows > 2) storeTail(d0 + <usize>(n * 8), c20, c21, cols);
            if (rows > 3) storeTail(d0 + <usize>(n * 12), c30, c31, cols);
          }
        }
      }
    }
  }
}

/**
 * A transpose that keeps the innermost axis (attention's [B, S, H, D] ↔ [B, H, S, D]): rows of
 * `inner` floats are copied whole. `meta` holds 2·(rank − 1) i32s: the output's outer dims, then
 * for each of them the input's stride in elements. tfjs-wasm's Transpose moves element by element.
 */
export function transposeKeepInner(x: usize, out: usize, meta: usize, outerRank: i32, inner: i32): void {
  const dims = meta;
  const strides = meta + <usize>(outerRank * 4);
  const idx = meta + <usize>(outerRank * 8);            // odometer, outerRank i32s
  let rows = 1;
  for (let d = 0; d < outerRank; d++) {
    rows *= load<i32>(dims + <usize>(d * 4));
    store<i32>(idx + <usize>(d * 4), 0);
  }
  const bytes = <usize>(inner * 4);
  let src = 0;
  let dst = out;
  for (let r = 0; r < rows; r++) {
    memory.copy(dst, x + <usize>(src) * 4, bytes);
    dst += bytes;
    // Advance the odometer (last outer dim fastest) and the input offset with it.
    for (let d = outerRank - 1; d >= 0; d--) {
      const p = idx + <usize>(d * 4);
      const i = load<i32>(p) + 1;
      const stride = load<i32>(strides + <usize>(d * 4));
      if (i < load<i32>(dims + <usize>(d * 4))) {
        store<i32>(p, i);
        src += stride;
        break;
      }
      store<i32>(p, 0);
      src -= stride * (i - 1);
    }
  }
}

/** c[r, j] = act(c[r, j] + bias[j]) in place for r < rows (bias 0: none; relu != 0: max(·, 0)). */
export function biasActivation(c: usize, bias: usize, rows: i32, n: i32, relu: i32): void {
  const vecEnd = n & ~3;
  const zero4 = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const row = c + <usize>(r * n * 4);
    let j = 0;
    for (; j < vecEnd; j += 4) {
      const p = row + <usize>(j * 4);
      let v = v128.load(p);
      if (bias != 0) v = f32x4.add(v, v128.load(bias + <usize>(j * 4)));
      if (relu != 0) v = f32x4.max(v, zero4);
      v128.store(p, v);
    }
    for (; j < n; j++) {
      const p = row + <usize>(j * 4);
      let v = load<f32>(p);
      if (bias != 0) v += load<f32>(bias + <usize>(j * 4));
      if (relu != 0 && v < 0) v = 0;
      store<f32>(p, v);
    }
  }
}

/**
 * Σ x² over `n` floats at `x` (the gradient-norm monitor's kernel). Four f32x4 accumulators
 * over blocks of 4096 floats, each block's total added into an f64, so the float32 error stays
 * that of a 4096-term sum however large the tensor.
 */
export function sumSquares(x: usize, n: i32): f64 {
  let total: f64 = 0;
  for (let b0 = 0; b0 < n; b0 += 4096) {
    const b1 = min(n, b0 + 4096);
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let i = b0;
    for (; i + 16 <= b1; i += 16) {
      const p = x + <usize>(i * 4);
      const v0 = v128.load(p);
      const v1 = v128.load(p + 16);
      const v2 = v128.load(p + 32);
      const v3 = v128.load(p + 48);
      a0 = f32x4.add(a0, f32x4.mul(v0, v0));
      a1 = f32x4.add(a1, f32x4.mul(v1, v1));
      a2 = f32x4.add(a2, f32x4.mul(v2, v2));
      a3 = f32x4.add(a3, f32x4.mul(v3, v3));
    }
    const s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    let block: f64 = <f64>f32x4.extract_lane(s, 0) + <f64>f32x4.extract_lane(s, 1) + <f64>f32x4.extract_lane(s, 2) + <f64>f32x4.extract_lane(s, 3);
    for (; i < b1; i++) {
      const v = <f64>load<f32>(x + <usize>(i * 4));
      block += v * v;
    }
    total += block;
  }
  return total;
}
