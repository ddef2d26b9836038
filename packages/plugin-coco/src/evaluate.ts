import { ConfigError } from '@kiln/core';
import type { CocoDataset, CocoId, CocoResult, IouType } from './format';
import { boxIou, rleIou, rleToBbox } from './mask/rle';
import { defaultParams, statNames, type CocoParams, type ResolvedParams } from './params';
import { compareIds, indexGroundTruth, prepareGroundTruth, prepareResults, type AnnotationTable, type InputSources } from './prepare';
import { mean, pairwiseSum } from './numeric';

/** One image × category × area-range record, as pycocotools' `evalImgs` entries. */
export interface EvalImg {
  imageId: CocoId;
  categoryId: CocoId;
  aRng: [number, number];
  maxDet: number;
  dtIds: CocoId[];
  gtIds: CocoId[];
  /** Per IoU threshold, the matched GT id of each detection (0 when unmatched). */
  dtMatches: CocoId[][];
  /** Per IoU threshold, the matching detection id of each GT (0 when unmatched). */
  gtMatches: CocoId[][];
  dtScores: number[];
  gtIgnore: boolean[];
  dtIgnore: boolean[][];
}

export interface CategoryResult {
  id: CocoId;
  name: string;
  /** The summary stats restricted to this category, by name (`AP`, `AP50`, …). */
  [stat: string]: number | string | CocoId;
}

export interface CocoEvalResult {
  iouType: IouType;
  /** The 12 (keypoints: 10) summary numbers of pycocotools' `COCOeval.stats`; -1 where undefined. */
  stats: number[];
  statNames: readonly string[];
  /** Summary stats per category, keyed by category name (empty when useCats is false). */
  perCategory: Record<string, CategoryResult>;
  /** T×R×K×A×M, C order, -1 where undefined (pycocotools `eval['precision']`). */
  precision: Float64Array;
  /** T×K×A×M (pycocotools `eval['recall']`). */
  recall: Float64Array;
  counts: { T: number; R: number; K: number; A: number; M: number };
  params: ResolvedParams & { imgIds: CocoId[]; catIds: CocoId[] };
  evalImgs?: Array<EvalImg | null>;
}

const TP = 1;
const IGNORED = 2;

function resolveParams(p: CocoParams): ResolvedParams {
  const d = defaultParams(p.iouType);
  const out: ResolvedParams = {
    iouType: p.iouType,
    iouThrs: p.iouThrs ? [...p.iouThrs] : d.iouThrs,
    recThrs: p.recThrs ? [...p.recThrs] : d.recThrs,
    maxDets: p.maxDets ? [...p.maxDets].sort((a, b) => a - b) : d.maxDets,
    areaRng: p.areaRng ? p.areaRng.map((r) => [r[0], r[1]] as [number, number]) : d.areaRng,
    areaRngLbl: p.areaRngLbl ? [...p.areaRngLbl] : d.areaRngLbl,
    useCats: p.useCats ?? true,
    kptOksSigmas: p.kptOksSigmas ? [...p.kptOksSigmas] : d.kptOksSigmas,
  };
  if (!['bbox', 'segm', 'keypoints'].includes(out.iouType)) throw new ConfigError(`unknown iouType "${String(out.iouType)}"`, { where: 'iouType', hint: 'use bbox, segm or keypoints' });
  if (out.maxDets.length === 0 || out.maxDets.some((m) => !Number.isInteger(m) || m < 0)) throw new ConfigError('maxDets must be non-negative integers', { where: 'maxDets', hint: 'e.g. [1, 10, 100]' });
  if (out.iouThrs.length === 0) throw new ConfigError('iouThrs is empty', { where: 'iouThrs', hint: 'e.g. [0.5, 0.75]' });
  return out;
}

const uniqueSorted = (ids: CocoId[]): CocoId[] => [...new Set(ids)].sort(compareIds);

/**
 * COCO evaluation with pycocotools' COCOeval rules (evaluate + accumulate + summarize).
 * `gt` is an instances file, `dt` a results list; `params` overrides pycocotools' defaults.
 */
export function evaluateCoco(gt: CocoDataset, dt: CocoResult[], params: CocoParams | IouType = 'bbox', sources: InputSources = {}): CocoEvalResult {
  const user: CocoParams = typeof params === 'string' ? { iouType: params } : params;
  const p = resolveParams(user);
  const index = indexGroundTruth(gt, sources.gt);
  const imgIds = uniqueSorted(user.imgIds ?? index.imageIds);
  // pycocotools only uniques/sorts catIds when useCats is on; otherwise it keeps the given order
  const catIds = p.useCats ? uniqueSorted(user.catIds ?? index.categoryIds) : [...new Set(user.catIds ?? [...index.categoryIds].sort(compareIds))];
  const imgSlot = new Map<CocoId, number>(imgIds.map((id, i) => [id, i]));
  const catSlot = new Map<CocoId, number>(catIds.map((id, i) => [id, i]));
  const keep = (imageId: CocoId, categoryId: CocoId): boolean => imgSlot.has(imageId) && catSlot.has(categoryId);
  const numKpts = p.kptOksSigmas.length;

  const gts = prepareGroundTruth(gt, index, p.iouType, keep, numKpts, sources.gt);
  const dts = prepareResults(dt, index, p.iouType, keep, numKpts, user.unknownCategories ?? 'error', sources.dt);

  const I = imgIds.length;
  const K = p.useCats ? catIds.length : 1;
  const groupsGt = groupRows(gts, imgSlot, catSlot, I, p.useCats);
  const groupsDt = groupRows(dts, imgSlot, catSlot, I, p.useCats);

  const T = p.iouThrs.length;
  const R = p.recThrs.length;
  const A = p.areaRng.length;
  const M = p.maxDets.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const maxDetMax = p.maxDets[M - 1]!;
  const thresholds = p.iouThrs.map((t) => Math.min(t, 1 - 1e-10));
  const evalImgs: Array<EvalImg | null> | undefined = user.keepEvalImgs ? [] : undefined;
  const maskBoxes = p.iouType === 'segm' ? { gt: new Map<number, number[]>(), dt: new Map<number, number[]>() } : undefined;
  const boxOfRle = (tableRle: AnnotationTable, cache: Map<number, number[]>, row: number): number[] => {
    let b = cache.get(row);
    if (!b) cache.set(row, (b = rleToBbox(tableRle.rle[row]!)));
    return b;
  };

  for (let k = 0; k < K; k++) {
    // detections of this category, concatenated in image order then score rank
    let nk = 0;
    for (let i = 0; i < I; i++) nk += Math.min(groupsDt.offsets[k * I + i + 1]! - groupsDt.offsets[k * I + i]!, maxDetMax);
    const kScore = new Float64Array(nk);
    const kRank = new Int32Array(nk);
    const kFlags = new Uint8Array(A * T * nk);
    const npig = new Float64Array(A);
    const records: Array<Array<EvalImg | null>> | undefined = evalImgs ? Array.from({ length: A }, () => []) : undefined;
    let pos = 0;
    for (let i = 0; i < I; i++) {
      const g = k * I + i;
      const g0 = groupsGt.offsets[g]!;
      const G = groupsGt.offsets[g + 1]! - g0;
      const d0 = groupsDt.offsets[g]!;
      const nD = groupsDt.offsets[g + 1]! - d0;
      if (G === 0 && nD === 0) {
        if (records) for (const r of records) r.push(null);
        continue;
      }
      const gtRows = groupsGt.rows.subarray(g0, g0 + G);
      const dtRows = sortByScore(groupsDt.rows.subarray(d0, d0 + nD), dts.score).subarray(0, Math.min(nD, maxDetMax));
      const D = dtRows.length;
      // ious[d * G + j]: detection d (score order) against GT j (file order)
      let ious: Float64Array | undefined;
      if (D > 0 && G > 0) {
        ious = new Float64Array(D * G);
        if (p.iouType === 'bbox') {
          for (let d = 0; d < D; d++) {
            const db = dts.box.subarray(4 * dtRows[d]!, 4 * dtRows[d]! + 4);
            for (let j = 0; j < G; j++) ious[d * G + j] = boxIou(db, gts.box.subarray(4 * gtRows[j]!, 4 * gtRows[j]! + 4), gts.crowd[gtRows[j]!] === 1);
          }
        } else if (p.iouType === 'segm') {
          for (let d = 0; d < D; d++) {
            const dr = dtRows[d]!;
            for (let j = 0; j < G; j++) {
              const gr = gtRows[j]!;
              ious[d * G + j] = rleIou(dts.rle[dr]!, gts.rle[gr]!, gts.crowd[gr] === 1, boxOfRle(dts, maskBoxes!.dt, dr), boxOfRle(gts, maskBoxes!.gt, gr));
            }
          }
        } else {
          computeOks(ious, dtRows, gtRows, dts, gts, p.kptOksSigmas);
        }
      }
      for (let d = 0; d < D; d++) {
        kScore[pos + d] = dts.score[dtRows[d]!]!;
        kRank[pos + d] = d;
      }
      for (let a = 0; a < A; a++) {
        const [lo, hi] = p.areaRng[a]!;
        // GT order: not ignored first, file order kept (stable sort on the ignore flag)
        const order = new Int32Array(G);
        const ig = new Uint8Array(G);
        let q = 0;
        for (let pass = 0; pass < 2; pass++) {
          for (let j = 0; j < G; j++) {
            const r = gtRows[j]!;
            const ignored = gts.ignore[r] === 1 || gts.area[r]! < lo || gts.area[r]! > hi ? 1 : 0;
            if (ignored === pass) {
              order[q] = j;
              ig[q] = ignored;
              q++;
            }
          }
        }
        for (let j = 0; j < G; j++) if (ig[j] === 0) npig[a]++;
        const record = records ? newRecord(imgIds[i]!, p.useCats ? catIds[k]! : -1, p.areaRng[a]!, maxDetMax, dtRows, order, gtRows, ig, dts, gts, T) : undefined;
        const gtm = new Uint8Array(G);
        for (let t = 0; t < T; t++) {
          gtm.fill(0);
          const flags = kFlags.subarray((a * T + t) * nk + pos, (a * T + t) * nk + pos + D);
          for (let d = 0; d < D; d++) {
            let iou = thresholds[t]!;
            let m = -1;
            if (ious) {
              for (let qq = 0; qq < G; qq++) {
                const j = order[qq]!;
                if (gtm[qq] && !gts.crowd[gtRows[j]!]) continue;
                if (m > -1 && ig[m] === 0 && ig[qq] === 1) break;
                const v = ious[d * G + j]!;
                if (v < iou) continue;
                iou = v;
                m = qq;
              }
            }
            const dArea = dts.area[dtRows[d]!]!;
            const outside = dArea < lo || dArea > hi;
            let matched = false;
            let ignored = false;
            if (m > -1) {
              gtm[m] = 1;
              ignored = ig[m] === 1;
              const gtId = gts.id[gtRows[order[m]!]!]!;
              // pycocotools stores the GT id and tests it for truth: a GT with id 0 reads as unmatched
              matched = gtId !== 0;
              if (record) {
                record.dtMatches[t]![d] = gtId;
                record.gtMatches[t]![m] = dts.id[dtRows[d]!]!;
              }
            }
            if (!matched && outside) ignored = true;
            flags[d] = ignored ? IGNORED : matched ? TP : 0;
            if (record) record.dtIgnore[t]![d] = ignored;
          }
        }
        records?.[a]!.push(record!);
      }
      pos += D;
    }
    if (records) for (const r of records) evalImgs!.push(...r);
    accumulateCategory(k, nk, kScore, kRank, kFlags, npig, p, K, precision, recall);
  }

  const counts = { T, R, K, A, M };
  const stats = summarize(precision, recall, counts, p);
  const perCategory: Record<string, CategoryResult> = {};
  if (p.useCats) {
    const names = statNames(p.iouType);
    catIds.forEach((id, k) => {
      const s = summarize(precision, recall, counts, p, k);
      const name = index.categories.get(id)?.name ?? String(id);
      const key = perCategory[name] ? `${name} (${String(id)})` : name;
      const entry: CategoryResult = { id, name };
      names.forEach((n, i) => (entry[n] = s[i]!));
      perCategory[key] = entry;
    });
  }
  return { iouType: p.iouType, stats, statNames: statNames(p.iouType), perCategory, precision, recall, counts, params: { ...p, imgIds, catIds }, evalImgs };
}

interface Groups {
  /** rows of the table grouped by (category slot, image slot), CSR style. */
  offsets: Int32Array;
  rows: Int32Array;
}

function groupRows(t: AnnotationTable, imgSlot: Map<CocoId, number>, catSlot: Map<CocoId, number>, I: number, useCats: boolean): Groups {
  const K = useCats ? catSlot.size : 1;
  const key = new Int32Array(t.n);
  const offsets = new Int32Array(K * I + 1);
  for (let r = 0; r < t.n; r++) {
    key[r] = (useCats ? catSlot.get(t.categoryId[r]!)! : 0) * I + imgSlot.get(t.imageId[r]!)!;
    offsets[key[r]! + 1]++;
  }
  for (let g = 0; g < K * I; g++) offsets[g + 1] += offsets[g]!;
  let input: ArrayLike<number> = Array.from({ length: t.n }, (_, r) => r);
  if (!useCats) {
    // pooled categories: pycocotools concatenates them in catIds order, file order within
    const c = Int32Array.from({ length: t.n }, (_, r) => catSlot.get(t.categoryId[r]!)!);
    input = (input as number[]).sort((x, y) => c[x]! - c[y]!);
  }
  const rows = new Int32Array(t.n);
  const fill = offsets.slice(0, K * I);
  for (let n = 0; n < t.n; n++) {
    const r = input[n]!;
    rows[fill[key[r]!]!++] = r;
  }
  return { offsets, rows };
}

/** Stable sort by descending score (numpy argsort of -score, kind='mergesort'). */
function sortByScore(rows: Int32Array, score: Float64Array): Int32Array {
  const out = Array.from(rows);
  out.sort((x, y) => {
    const sx = score[x]!;
    const sy = score[y]!;
    return sx > sy ? -1 : sx < sy ? 1 : 0;
  });
  return Int32Array.from(out);
}

const EPS = 2.220446049250313e-16; // np.spacing(1)

function computeOks(out: Float64Array, dtRows: Int32Array, gtRows: Int32Array, dts: AnnotationTable, gts: AnnotationTable, sigmas: number[]): void {
  const k = sigmas.length;
  const vars = sigmas.map((s) => (s * 2) ** 2);
  const G = gtRows.length;
  const e = new Float64Array(k);
  for (let j = 0; j < G; j++) {
    const gr = gtRows[j]!;
    const g = gts.keypoints.subarray(gr * 3 * k, (gr + 1) * 3 * k);
    let k1 = 0;
    for (let q = 0; q < k; q++) if (g[3 * q + 2]! > 0) k1++;
    const bx = gts.box[4 * gr]!;
    const by = gts.box[4 * gr + 1]!;
    const bw = gts.box[4 * gr + 2]!;
    const bh = gts.box[4 * gr + 3]!;
    const x0 = bx - bw;
    const x1 = bx + bw * 2;
    const y0 = by - bh;
    const y1 = by + bh * 2;
    const area = gts.area[gr]! + EPS;
    for (let d = 0; d < dtRows.length; d++) {
      const dr = dtRows[d]!;
      const kp = dts.keypoints.subarray(dr * 3 * k, (dr + 1) * 3 * k);
      let n = 0;
      for (let q = 0; q < k; q++) {
        const xd = kp[3 * q]!;
        const yd = kp[3 * q + 1]!;
        let dx: number;
        let dy: number;
        if (k1 > 0) {
          if (!(g[3 * q + 2]! > 0)) continue;
          dx = xd - g[3 * q]!;
          dy = yd - g[3 * q + 1]!;
        } else {
          dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
          dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
        }
        e[n++] = Math.exp(-((dx * dx + dy * dy) / vars[q]! / area / 2));
      }
      out[d * G + j] = pairwiseSum(e, n) / n;
    }
  }
}

function accumulateCategory(
  k: number,
  nk: number,
  score: Float64Array,
  rank: Int32Array,
  flags: Uint8Array,
  npig: Float64Array,
  p: ResolvedParams,
  K: number,
  precision: Float64Array,
  recall: Float64Array,
): void {
  const T = p.iouThrs.length;
  const R = p.recThrs.length;
  const A = p.areaRng.length;
  const M = p.maxDets.length;
  if (nk === 0 && npig.every((v) => v === 0)) return;
  const order = Array.from({ length: nk }, (_, j) => j);
  order.sort((x, y) => (score[x]! > score[y]! ? -1 : score[x]! < score[y]! ? 1 : 0));
  const rc = new Float64Array(nk);
  const pr = new Float64Array(nk);
  const sel = new Int32Array(nk);
  for (let m = 0; m < M; m++) {
    const maxDet = p.maxDets[m]!;
    let nd = 0;
    for (let j = 0; j < nk; j++) if (rank[order[j]!]! < maxDet) sel[nd++] = order[j]!;
    for (let a = 0; a < A; a++) {
      const np = npig[a]!;
      if (np === 0) continue;
      for (let t = 0; t < T; t++) {
        const f = flags.subarray((a * T + t) * nk, (a * T + t + 1) * nk);
        let tp = 0;
        let fp = 0;
        for (let j = 0; j < nd; j++) {
          const v = f[sel[j]!]!;
          if (v === TP) tp++;
          else if (v === 0) fp++;
          rc[j] = tp / np;
          pr[j] = tp / (fp + tp + EPS);
        }
        recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1]! : 0;
        for (let j = nd - 1; j > 0; j--) if (pr[j]! > pr[j - 1]!) pr[j - 1] = pr[j]!;
        // np.searchsorted(rc, recThrs, side='left'); thresholds past the last recall stay 0
        let j = 0;
        for (let r = 0; r < R; r++) {
          const thr = p.recThrs[r]!;
          while (j < nd && rc[j]! < thr) j++;
          precision[(((t * R + r) * K + k) * A + a) * M + m] = j < nd ? pr[j]! : 0;
        }
      }
    }
  }
}

/** pycocotools summarize(): means of the defined entries of the selected slices; `k` restricts to one category. */
export function summarize(
  precision: Float64Array,
  recall: Float64Array,
  counts: { T: number; R: number; K: number; A: number; M: number },
  p: ResolvedParams,
  k?: number,
): number[] {
  const { T, R, K, A, M } = counts;
  const one = (ap: boolean, iouThr: number | undefined, areaLbl: string, maxDets: number | undefined): number => {
    const aind = p.areaRngLbl.findIndex((l, i) => l === areaLbl && i < A);
    const mind = p.maxDets.findIndex((m) => m === maxDets);
    const ts = iouThr === undefined ? [...Array(T).keys()] : [...Array(T).keys()].filter((t) => p.iouThrs[t] === iouThr);
    if (aind < 0 || mind < 0) return -1;
    const ks = k === undefined ? [...Array(K).keys()] : [k];
    const values: number[] = [];
    for (const t of ts) {
      if (ap) {
        for (let r = 0; r < R; r++) for (const kk of ks) values.push(precision[(((t * R + r) * K + kk) * A + aind) * M + mind]!);
      } else {
        for (const kk of ks) values.push(recall[((t * K + kk) * A + aind) * M + mind]!);
      }
    }
    return mean(values.filter((v) => v > -1));
  };
  const md = p.maxDets;
  if (p.iouType === 'keypoints') {
    return [
      one(true, undefined, 'all', 20),
      one(true, 0.5, 'all', 20),
      one(true, 0.75, 'all', 20),
      one(true, undefined, 'medium', 20),
      one(true, undefined, 'large', 20),
      one(false, undefined, 'all', 20),
      one(false, 0.5, 'all', 20),
      one(false, 0.75, 'all', 20),
      one(false, undefined, 'medium', 20),
      one(false, undefined, 'large', 20),
    ];
  }
  return [
    one(true, undefined, 'all', 100),
    one(true, 0.5, 'all', md[2]),
    one(true, 0.75, 'all', md[2]),
    one(true, undefined, 'small', md[2]),
    one(true, undefined, 'medium', md[2]),
    one(true, undefined, 'large', md[2]),
    one(false, undefined, 'all', md[0]),
    one(false, undefined, 'all', md[1]),
    one(false, undefined, 'all', md[2]),
    one(false, undefined, 'small', md[2]),
    one(false, undefined, 'medium', md[2]),
    one(false, undefined, 'large', md[2]),
  ];
}

function newRecord(
  imageId: CocoId,
  categoryId: CocoId,
  aRng: [number, number],
  maxDet: number,
  dtRows: Int32Array,
  order: Int32Array,
  gtRows: Int32Array,
  ig: Uint8Array,
  dts: AnnotationTable,
  gts: AnnotationTable,
  T: number,
): EvalImg {
  const D = dtRows.length;
  const G = gtRows.length;
  return {
    imageId,
    categoryId,
    aRng: [aRng[0], aRng[1]],
    maxDet,
    dtIds: Array.from(dtRows, (r) => dts.id[r]!),
    gtIds: Array.from(order, (j) => gts.id[gtRows[j]!]!),
    dtMatches: Array.from({ length: T }, () => new Array<CocoId>(D).fill(0)),
    gtMatches: Array.from({ length: T }, () => new Array<CocoId>(G).fill(0)),
    dtScores: Array.from(dtRows, (r) => dts.score[r]!),
    gtIgnore: Array.from(ig, (v) => v === 1),
    dtIgnore: Array.from({ length: T }, () => new Array<boolean>(D).fill(false)),
  };
}
