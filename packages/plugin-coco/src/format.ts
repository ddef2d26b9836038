/** The COCO JSON shapes this package reads (instances ground truth and result lists). */

export type CocoId = number | string;

/** Uncompressed (`counts` a list) or compressed (`counts` a string) RLE. */
export interface CocoRleObject {
  size: [number, number];
  counts: number[] | string;
}

/** A list of polygons [x0,y0,x1,y1,…] or an RLE object. */
export type CocoSegmentation = number[][] | CocoRleObject;

export interface CocoImage {
  id: CocoId;
  width?: number;
  height?: number;
  file_name?: string;
  [key: string]: unknown;
}

export interface CocoCategory {
  id: CocoId;
  name?: string;
  supercategory?: string;
  keypoints?: string[];
  [key: string]: unknown;
}

export interface CocoAnnotation {
  id: CocoId;
  image_id: CocoId;
  category_id: CocoId;
  bbox?: number[];
  area?: number;
  iscrowd?: number | boolean;
  segmentation?: CocoSegmentation;
  keypoints?: number[];
  num_keypoints?: number;
  [key: string]: unknown;
}

/** A COCO "instances" (or "person_keypoints") file. */
export interface CocoDataset {
  images: CocoImage[];
  categories: CocoCategory[];
  annotations: CocoAnnotation[];
  [key: string]: unknown;
}

/** One entry of a results file. */
export interface CocoResult {
  image_id: CocoId;
  category_id: CocoId;
  score: number;
  bbox?: number[];
  segmentation?: CocoSegmentation;
  keypoints?: number[];
  [key: string]: unknown;
}

export type IouType = 'bbox' | 'segm' | 'keypoints';
