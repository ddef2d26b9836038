import * as path from 'node:path';

/** Presets this package ships; each is importable as `@kiln/presets/<name>`. */
export const PRESETS = ['base', 'tabular-classification', 'tabular-regression', 'image-classification', 'image-classification-small', 'image-classification-sgd', 'text-classification', 'ner'] as const;
export type PresetName = (typeof PRESETS)[number];

/** Absolute path of a shipped preset's module (for tools that list or copy them). */
export function presetPath(name: PresetName): string {
  return path.join(__dirname, 'presets', `${name}.js`);
}
