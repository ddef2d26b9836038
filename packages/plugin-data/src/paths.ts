import * as path from 'node:path';

/** Resolves a config path against the directory relative paths are relative to. */
export function resolvePath(baseDir: string, file: string): string {
  return path.isAbsolute(file) ? file : path.resolve(baseDir, file);
}

/** The context a reader needs from the kernel (a subset of ComponentContext, so tests can build readers directly). */
export interface ReaderContext {
  baseDir: string;
  seed: number;
}
