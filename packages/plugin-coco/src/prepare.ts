import { DataError } from '@kiln/core';
import type { CocoDataset, CocoId, CocoResult, CocoSegmentation, IouType } from './format';
import { rleArea, rleFromBox, rleFromPolygon, rleFromString, rleMerge, rleToBbox, type Rle } from './mask/rle';

/** Where the inputs came from, for error messages (`instances_val.json`). */
export interface InputSources {
  gt?: string;
  dt?: string;
}

/** Annotations (GT or detections) as columns; one row per annotation. */
export interface AnnotationTable {
  n: number;
  imageId: CocoId[];
  categoryId: CocoId[];
  id: CocoId[];
  /** x, y, w, h per row. */
  box: Float64Array;
  area: Float64Array;
  /** GT only: iscrowd. */
  crowd: Uint8Array;
  /** GT only: crowd, or no labelled keypoint when evaluating keypoints. */
  ignore: Uint8Array;
  /** Detections only. */
  score: Float64Array;
  /** Filled for segm. */
  rle: Rle[];
  /** Filled for keypoints: 3 × K numbers per row. */
  keypoints: Float64Array;
}

function table(n: number, withKeypoints: number): AnnotationTable {
  return {
    n,
    imageId: new Array<CocoId>(n),
    categoryId: new Array<CocoId>(n),
    id: new Array<CocoId>(n),
    box: new Float64Array(4 * n),
    area: new Float64Array(n),
    crowd: new Uint8Array(n),
    ignore: new Uint8Array(n),
    score: new Float64Array(n),
    rle: [],
    keypoints: new Float64Array(withKeypoints * n),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export interface GroundTruthIndex {
  images: Map<CocoId, { width?: number; height?: number }>;
  imageIds: CocoId[];
  categories: Map<CocoId, { name?: string }>;
  categoryIds: CocoId[];
}

export function indexGroundTruth(gt: CocoDataset, source = 'ground truth'): GroundTruthIndex {
  if (!isObject(gt)) throw new DataError('ground truth is not a JSON object', { where: source, hint: 'pass a COCO instances file: { images, categories, annotations }' });
  for (const key of ['images', 'categories'] as const) {
    if (!Array.isArray(gt[key])) throw new DataError(`ground truth has no "${key}" array`, { where: source, hint: 'pass a COCO instances file: { images, categories, annotations }' });
  }
  if (gt.annotations !== undefined && !Array.isArray(gt.annotations)) {
    throw new DataError('"annotations" is not an array', { where: source, hint: 'pass a COCO instances file: { images, categories, annotations }' });
  }
  const images = new Map<CocoId, { width?: number; height?: number }>();
  gt.images.forEach((img, i) => {
    if (!isObject(img) || (typeof img.id !== 'number' && typeof img.id !== 'string')) {
      throw new DataError(`images[${i}] has no id`, { where: `${source} images[${i}]`, hint: 'every image needs a numeric "id"' });
    }
    images.set(img.id, { width: img.width, height: img.height });
  });
  const categories = new Map<CocoId, { name?: string }>();
  gt.categories.forEach((cat, i) => {
    if (!isObject(cat) || (typeof cat.id !== 'number' && typeof cat.id !== 'string')) {
      throw new DataError(`categories[${i}] has no id`, { where: `${source} categories[${i}]`, hint: 'every category needs a numeric "id"' });
    }
    categories.set(cat.id, { name: typeof cat.name === 'string' ? cat.name : undefined });
  });
  return { images, imageIds: [...images.keys()], categories, categoryIds: [...categories.keys()] };
}

/** Ascending order for ids as numpy sorts them (numbers numerically). */
export function compareIds(a: CocoId, b: CocoId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function segmentationToRle(seg: unknown, image: { width?: number; height?: number } | undefined, where: string): Rle {
  const h = image?.height;
  const w = image?.width;
  const needSize = (): [number, number] => {
    if (!isFiniteNumber(h) || !isFiniteNumber(w)) {
      throw new DataError('polygon segmentation on an image without width/height', { where, hint: 'give the image "width" and "height" in the ground truth' });
    }
    return [h, w];
  };
  if (Array.isArray(seg)) {
    const first = seg[0] as unknown;
    if (!Array.isArray(first) || first.length < 4) {
      throw new DataError('segmentation is an empty or malformed polygon list', { where, hint: 'polygons are [[x0,y0,x1,y1,x2,y2,…], …] with at least 3 points' });
    }
    const [hh, ww] = needSize();
    for (const poly of seg as unknown[]) {
      if (!Array.isArray(poly) || !poly.every(isFiniteNumber)) throw new DataError('polygon with a non-numeric coordinate', { where, hint: 'polygons are lists of numbers' });
    }
    const polys = seg as number[][];
    // pycocotools' frPyObjects reads a 4-number first entry as boxes
    const parts = first.length === 4 ? polys.map((p) => rleFromBox(p, hh, ww)) : polys.map((p) => rleFromPolygon(p, hh, ww));
    return rleMerge(parts);
  }
  if (isObject(seg) && Array.isArray(seg.size) && seg.size.length === 2) {
    const [sh, sw] = seg.size as [number, number];
    if (typeof seg.counts === 'string') return rleFromString(seg.counts, sh, sw);
    if (Array.isArray(seg.counts) && seg.counts.every(isFiniteNumber)) return { h: sh, w: sw, counts: Uint32Array.from(seg.counts as number[]) };
  }
  throw new DataError('segmentation is neither polygons nor an RLE { size, counts }', { where, hint: 'use COCO polygons or (compressed) RLE' });
}

function readBox(value: unknown, where: string): [number, number, number, number] {
  if (!Array.isArray(value) || value.length !== 4 || !value.every(isFiniteNumber)) {
    throw new DataError(`bbox must be 4 finite numbers [x, y, width, height], got ${JSON.stringify(value)?.slice(0, 80)}`, { where, hint: 'COCO boxes are [x, y, width, height] in pixels' });
  }
  if (value[2] < 0 || value[3] < 0) {
    throw new DataError(`bbox has a negative size ${JSON.stringify(value)}`, { where, hint: 'COCO boxes are [x, y, width, height]; convert [x1, y1, x2, y2] boxes first' });
  }
  return value as [number, number, number, number];
}

/** Ground-truth annotations of the evaluated images/categories, in file order. */
export function prepareGroundTruth(
  gt: CocoDataset,
  index: GroundTruthIndex,
  iouType: IouType,
  keep: (imageId: CocoId, categoryId: CocoId) => boolean,
  numKeypoints: number,
  source = 'ground truth',
): AnnotationTable {
  const anns = gt.annotations ?? [];
  const selected: number[] = [];
  for (let i = 0; i < anns.length; i++) {
    const a = anns[i] as unknown;
    if (!isObject(a)) throw new DataError(`annotations[${i}] is not an object`, { where: `${source} annotations[${i}]`, hint: 'each annotation is { id, image_id, category_id, bbox, area, iscrowd, … }' });
    if (keep(a.image_id as CocoId, a.category_id as CocoId)) selected.push(i);
  }
  const t = table(selected.length, iouType === 'keypoints' ? 3 * numKeypoints : 0);
  selected.forEach((src, row) => {
    const a = anns[src]!;
    const where = `${source} annotations[${src}] (id ${String(a.id)})`;
    t.imageId[row] = a.image_id;
    t.categoryId[row] = a.category_id;
    t.id[row] = a.id;
    if (!isFiniteNumber(a.area)) throw new DataError('annotation has no numeric "area"', { where, hint: 'COCO ground truth needs "area" (pycocotools reads it for the area ranges)' });
    t.area[row] = a.area;
    const crowd = a.iscrowd ? 1 : 0;
    t.crowd[row] = crowd;
    let ignore = crowd;
    if (iouType === 'bbox' || (iouType === 'keypoints' && a.bbox !== undefined)) t.box.set(readBox(a.bbox, where), 4 * row);
    if (iouType === 'segm') {
      t.rle[row] = segmentationToRle(a.segmentation, index.images.get(a.image_id), where);
    } else if (iouType === 'keypoints') {
      const kp = a.keypoints;
      if (!Array.isArray(kp) || kp.length !== 3 * numKeypoints || !kp.every(isFiniteNumber)) {
        throw new DataError(`keypoints must be ${3 * numKeypoints} numbers (x, y, v per keypoint)`, { where, hint: 'person keypoints are 17 × [x, y, visibility]' });
      }
      t.keypoints.set(kp, row * 3 * numKeypoints);
      let labelled = 0;
      for (let k = 2; k < kp.length; k += 3) if (kp[k]! > 0) labelled++;
      const numKeypointsField = isFiniteNumber(a.num_keypoints) ? a.num_keypoints : labelled;
      if (numKeypointsField === 0) ignore = 1;
      if (labelled === 0 && a.bbox === undefined) throw new DataError('annotation without labelled keypoints needs a bbox', { where, hint: 'OKS of unlabelled GT uses its bbox' });
    }
    t.ignore[row] = ignore;
  });
  return t;
}

/**
 * Results as pycocotools' loadRes reads them: the first entry decides the kind (a non-empty
 * bbox → area w*h; else segmentation → mask area; else keypoints → extent of the keypoints),
 * ids are 1..n in file order.
 */
export function prepareResults(
  results: CocoResult[],
  index: GroundTruthIndex,
  iouType: IouType,
  keep: (imageId: CocoId, categoryId: CocoId) => boolean,
  numKeypoints: number,
  unknownCategories: 'error' | 'ignore',
  source = 'results',
): AnnotationTable {
  if (!Array.isArray(results)) throw new DataError('results are not a JSON array', { where: source, hint: 'a results file is a list of { image_id, category_id, bbox | segmentation | keypoints, score }' });
  const first = results[0] as unknown;
  const kind: 'bbox' | 'segm' | 'keypoints' | undefined =
    first === undefined
      ? undefined
      : isObject(first) && Array.isArray(first.bbox) && first.bbox.length > 0
        ? 'bbox'
        : isObject(first) && 'segmentation' in first
          ? 'segm'
          : isObject(first) && 'keypoints' in first
            ? 'keypoints'
            : undefined;
  if (first !== undefined && kind === undefined) {
    throw new DataError('results[0] has no bbox, segmentation or keypoints', { where: `${source} results[0]`, hint: 'each result needs bbox, segmentation or keypoints (the first entry decides which)' });
  }
  const selected: number[] = [];
  for (let i = 0; i < results.length; i++) {
    const r = results[i] as unknown;
    const where = `${source} results[${i}]`;
    if (!isObject(r)) throw new DataError(`results[${i}] is not an object`, { where, hint: 'each result is { image_id, category_id, bbox | segmentation | keypoints, score }' });
    if (!index.images.has(r.image_id as CocoId)) {
      throw new DataError(`Results do not correspond to current coco set: image_id ${JSON.stringify(r.image_id)} is not in the ground truth`, {
        where,
        hint: 'results must name images of the ground-truth file (check you evaluate against the right split)',
      });
    }
    if (!index.categories.has(r.category_id as CocoId)) {
      if (unknownCategories === 'ignore') continue;
      throw new DataError(`category_id ${JSON.stringify(r.category_id)} is not a category of the ground truth`, {
        where,
        hint: 'map class indices to COCO category ids (or set unknownCategories: "ignore" to drop them like pycocotools)',
      });
    }
    if (typeof r.score !== 'number' || Number.isNaN(r.score)) {
      throw new DataError(`score is ${JSON.stringify(r.score) ?? 'missing'} (NaN or not a number)`, { where, hint: 'every result needs a numeric "score"' });
    }
    if (keep(r.image_id as CocoId, r.category_id as CocoId)) selected.push(i);
  }
  const K3 = 3 * numKeypoints;
  const t = table(selected.length, iouType === 'keypoints' ? K3 : 0);
  selected.forEach((src, row) => {
    const r = results[src]!;
    const where = `${source} results[${src}]`;
    t.imageId[row] = r.image_id;
    t.categoryId[row] = r.category_id;
    t.id[row] = src + 1;
    t.score[row] = r.score;
    const image = index.images.get(r.image_id);
    if (kind === 'bbox') {
      const box = readBox(r.bbox, where);
      t.box.set(box, 4 * row);
      t.area[row] = box[2] * box[3];
      if (iouType === 'segm') {
        t.rle[row] =
          r.segmentation === undefined
            ? segmentationToRle([[box[0], box[1], box[0], box[1] + box[3], box[0] + box[2], box[1] + box[3], box[0] + box[2], box[1]]], image, where)
            : segmentationToRle(r.segmentation, image, where);
      }
    } else if (kind === 'segm') {
      if (r.segmentation === undefined) throw new DataError('result has no segmentation', { where, hint: 'results[0] has a segmentation, so every result needs one' });
      const rle = segmentationToRle(r.segmentation as CocoSegmentation, image, where);
      t.area[row] = rleArea(rle);
      t.box.set(r.bbox !== undefined ? readBox(r.bbox, where) : rleToBbox(rle), 4 * row);
      if (iouType === 'segm') t.rle[row] = rle;
    } else {
      const kp = r.keypoints;
      if (!Array.isArray(kp) || kp.length === 0 || !kp.every(isFiniteNumber)) throw new DataError('keypoints must be a list of numbers', { where, hint: 'keypoints are [x1, y1, v1, x2, y2, v2, …]' });
      let x0 = Infinity;
      let x1 = -Infinity;
      let y0 = Infinity;
      let y1 = -Infinity;
      for (let k = 0; k < kp.length; k += 3) {
        x0 = Math.min(x0, kp[k]!);
        x1 = Math.max(x1, kp[k]!);
      }
      for (let k = 1; k < kp.length; k += 3) {
        y0 = Math.min(y0, kp[k]!);
        y1 = Math.max(y1, kp[k]!);
      }
      t.area[row] = (x1 - x0) * (y1 - y0);
      t.box.set([x0, y0, x1 - x0, y1 - y0], 4 * row);
    }
    if (iouType === 'keypoints') {
      const kp = r.keypoints;
      if (!Array.isArray(kp) || kp.length !== K3 || !kp.every(isFiniteNumber)) {
        throw new DataError(`keypoints must be ${K3} numbers (x, y, v per keypoint)`, { where, hint: 'person keypoints are 17 × [x, y, score]' });
      }
      t.keypoints.set(kp, row * K3);
    }
  });
  return t;
}
