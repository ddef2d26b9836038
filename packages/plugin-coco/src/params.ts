import type { CocoId, IouType } from './format';

/** Evaluation parameters; every field but `iouType` defaults to pycocotools' `Params`. */
export interface CocoParams {
  iouType: IouType;
  /** Images to evaluate (default: every image of the ground truth). */
  imgIds?: CocoId[];
  /** Categories to evaluate (default: every category of the ground truth). */
  catIds?: CocoId[];
  /** false pools all categories into one (pycocotools `useCats = 0`). */
  useCats?: boolean;
  iouThrs?: number[];
  recThrs?: number[];
  maxDets?: number[];
  areaRng?: Array<[number, number]>;
  areaRngLbl?: string[];
  /** Per-keypoint OKS sigmas (default: the 17 COCO person sigmas). */
  kptOksSigmas?: number[];
  /** Results with a category absent from the ground truth: `error` (default) or `ignore` (pycocotools). */
  unknownCategories?: 'error' | 'ignore';
  /** Keep the per image × category × area records (pycocotools `evalImgs`). */
  keepEvalImgs?: boolean;
}

/** np.linspace(start, stop, num): i * step + start, with the last point exactly `stop`. */
export function linspace(start: number, stop: number, num: number): number[] {
  const out: number[] = [];
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out.push(i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** np.linspace(.5, 0.95, 10) */
export const DEFAULT_IOU_THRS: readonly number[] = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
/** np.linspace(.0, 1.00, 101) */
export const DEFAULT_REC_THRS: readonly number[] = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);

export const COCO_KEYPOINT_SIGMAS: readonly number[] = [
  0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89,
].map((s) => s / 10.0);

export interface ResolvedParams {
  iouType: IouType;
  iouThrs: number[];
  recThrs: number[];
  maxDets: number[];
  areaRng: Array<[number, number]>;
  areaRngLbl: string[];
  useCats: boolean;
  kptOksSigmas: number[];
}

export function defaultParams(iouType: IouType): ResolvedParams {
  const keypoints = iouType === 'keypoints';
  return {
    iouType,
    iouThrs: [...DEFAULT_IOU_THRS],
    recThrs: [...DEFAULT_REC_THRS],
    maxDets: keypoints ? [20] : [1, 10, 100],
    areaRng: keypoints
      ? [
          [0 ** 2, 1e5 ** 2],
          [32 ** 2, 96 ** 2],
          [96 ** 2, 1e5 ** 2],
        ]
      : [
          [0 ** 2, 1e5 ** 2],
          [0 ** 2, 32 ** 2],
          [32 ** 2, 96 ** 2],
          [96 ** 2, 1e5 ** 2],
        ],
    areaRngLbl: keypoints ? ['all', 'medium', 'large'] : ['all', 'small', 'medium', 'large'],
    useCats: true,
    kptOksSigmas: [...COCO_KEYPOINT_SIGMAS],
  };
}

/** Names of the summary stats, in `stats` order. */
export const DETECTION_STAT_NAMES = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const;
export const KEYPOINT_STAT_NAMES = ['AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm', 'ARl'] as const;

export function statNames(iouType: IouType): readonly string[] {
  return iouType === 'keypoints' ? KEYPOINT_STAT_NAMES : DETECTION_STAT_NAMES;
}
