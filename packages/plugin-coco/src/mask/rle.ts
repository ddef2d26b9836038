/**
 * Run-length encoded binary masks with the semantics of the COCO toolbox's maskApi.c:
 * column-major runs that alternate 0s and 1s, starting with 0s. Written from the
 * definitions there so that areas, boxes and IoUs agree to the bit.
 */
export interface Rle {
  h: number;
  w: number;
  counts: Uint32Array;
}

/** A box as [x, y, width, height]. */
export type Box = ArrayLike<number>;

/** Decodes the LEB128-like 6-bits-per-character string of compressed RLE. */
export function rleFromString(text: string, h: number, w: number): Rle {
  const counts = new Uint32Array(text.length);
  let m = 0;
  let p = 0;
  while (p < text.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      const c = text.charCodeAt(p) - 48;
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      // sign extension: x | (-1 << 5k) on a value below 2^5k
      if (!more && (c & 0x10) !== 0) x -= 2 ** (5 * k);
    }
    if (m > 2) x += counts[m - 2]!;
    counts[m++] = x < 0 ? (x % 4294967296) + 4294967296 : x % 4294967296;
  }
  return { h, w, counts: counts.slice(0, m) };
}

/** Encodes counts as the compressed RLE string (the inverse of {@link rleFromString}). */
export function rleToString(rle: Rle): string {
  const out: string[] = [];
  const cnts = rle.counts;
  for (let i = 0; i < cnts.length; i++) {
    let x = cnts[i]!;
    if (i > 2) x -= cnts[i - 2]!;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x = Math.floor(x / 32);
      more = (c & 0x10) !== 0 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out.push(String.fromCharCode(c + 48));
    }
  }
  return out.join('');
}

export function rleArea(rle: Rle): number {
  let a = 0;
  const c = rle.counts;
  for (let j = 1; j < c.length; j += 2) a += c[j]!;
  return a;
}

/** Tight box of the mask; a run crossing a column boundary spans the full height (as maskApi.c). */
export function rleToBbox(rle: Rle): [number, number, number, number] {
  const { h, w } = rle;
  const m = Math.floor(rle.counts.length / 2) * 2;
  if (m === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc = (cc + rle.counts[j]!) >>> 0;
    const t = (cc - (j % 2)) >>> 0;
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/** Union (or intersection) of masks of one size; masks of different sizes give an empty 0×0 mask. */
export function rleMerge(rles: readonly Rle[], intersect = false): Rle {
  if (rles.length === 0) return { h: 0, w: 0, counts: new Uint32Array(0) };
  let { h, w } = rles[0]!;
  if (rles.length === 1) return { h, w, counts: rles[0]!.counts.slice() };
  let cnts: number[] = Array.from(rles[0]!.counts);
  for (let i = 1; i < rles.length; i++) {
    const B = rles[i]!;
    if (B.h !== h || B.w !== w) {
      h = w = 0;
      cnts = [];
      break;
    }
    const A = cnts;
    const out: number[] = [];
    let ca = A[0] ?? 0;
    let cb = B.counts[0] ?? 0;
    let v = false;
    let va = false;
    let vb = false;
    let a = 1;
    let b = 1;
    let cc = 0;
    let ct = 1;
    while (ct > 0) {
      const c = Math.min(ca, cb);
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < A.length) {
        ca = A[a++]!;
        va = !va;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < B.counts.length) {
        cb = B.counts[b++]!;
        vb = !vb;
      }
      ct += cb;
      const vp: boolean = v;
      v = intersect ? va && vb : va || vb;
      if (v !== vp || ct === 0) {
        out.push(cc);
        cc = 0;
      }
    }
    cnts = out;
  }
  return { h, w, counts: Uint32Array.from(cnts) };
}

/**
 * Rasterizes one polygon [x0,y0,x1,y1,…] the way maskApi.c rleFrPoly does: the boundary is
 * upsampled ×5, walked with integer steps, and pixel (x, y) is inside when its centre is.
 */
export function rleFromPolygon(xy: ArrayLike<number>, h: number, w: number): Rle {
  const k = Math.floor(xy.length / 2);
  const scale = 5;
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) x[j] = Math.trunc(scale * xy[j * 2]! + 0.5);
  x[k] = x[0]!;
  for (let j = 0; j < k; j++) y[j] = Math.trunc(scale * xy[j * 2 + 1]! + 0.5);
  y[k] = y[0]!;
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j]! - x[j + 1]!), Math.abs(y[j]! - y[j + 1]!)) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs;
      xs = xe;
      xe = t;
      t = ys;
      ys = ye;
      ye = t;
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = Math.trunc(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = Math.trunc(xs + s * t + 0.5);
        m++;
      }
    }
  }
  const n = m;
  // boundary points where the walk changes column, downsampled back to pixel coordinates
  const a = new Uint32Array(n + 1);
  let na = 0;
  for (let j = 1; j < n; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j]! < u[j - 1]! ? u[j]! : u[j]! - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j]! < v[j - 1]! ? v[j]! : v[j - 1]!;
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    a[na++] = Math.trunc(xd) * h + Math.trunc(yd);
  }
  a[na++] = h * w;
  const sorted = a.subarray(0, na).sort();
  let p = 0;
  for (let j = 0; j < na; j++) {
    const t = sorted[j]!;
    sorted[j] = t - p;
    p = t;
  }
  const b = new Uint32Array(na);
  let nb = 0;
  b[nb++] = sorted[0]!;
  let j = 1;
  while (j < na) {
    if (sorted[j]! > 0) b[nb++] = sorted[j++]!;
    else {
      j++;
      if (j < na) b[nb - 1] += sorted[j++]!;
    }
  }
  return { h, w, counts: b.slice(0, nb) };
}

/** A box rasterized as the polygon of its four corners (maskApi.c rleFrBbox). */
export function rleFromBox(box: Box, h: number, w: number): Rle {
  const xs = box[0]!;
  const xe = xs + box[2]!;
  const ys = box[1]!;
  const ye = ys + box[3]!;
  return rleFromPolygon([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

/** IoU of two boxes; for a crowd GT the union is the detection's area. */
export function boxIou(d: Box, g: Box, crowd: boolean): number {
  const w = Math.min(d[2]! + d[0]!, g[2]! + g[0]!) - Math.max(d[0]!, g[0]!);
  if (w <= 0) return 0;
  const h = Math.min(d[3]! + d[1]!, g[3]! + g[1]!) - Math.max(d[1]!, g[1]!);
  if (h <= 0) return 0;
  const i = w * h;
  const da = d[2]! * d[3]!;
  const u = crowd ? da : da + g[2]! * g[3]! - i;
  return i / u;
}

/** Mask IoU; -1 when the masks have different sizes (as maskApi.c). */
export function rleIou(dt: Rle, gt: Rle, crowd: boolean, dtBox?: Box, gtBox?: Box): number {
  if (boxIou(dtBox ?? rleToBbox(dt), gtBox ?? rleToBbox(gt), crowd) <= 0) return 0;
  if (dt.h !== gt.h || dt.w !== gt.w) return -1;
  const A = dt.counts;
  const B = gt.counts;
  let ca = A[0] ?? 0;
  let cb = B[0] ?? 0;
  let va = false;
  let vb = false;
  let a = 1;
  let b = 1;
  let inter = 0;
  let union = 0;
  let ct = 1;
  while (ct > 0) {
    const c = Math.min(ca, cb);
    if (va || vb) {
      union += c;
      if (va && vb) inter += c;
    }
    ct = 0;
    ca -= c;
    if (!ca && a < A.length) {
      ca = A[a++]!;
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && b < B.length) {
      cb = B[b++]!;
      vb = !vb;
    }
    ct += cb;
  }
  if (inter === 0) union = 1;
  else if (crowd) union = rleArea(dt);
  return inter / union;
}
