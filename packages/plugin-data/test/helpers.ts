import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KilnError } from '@kiln/core';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-data-'));
}

export function write(dir: string, name: string, text: string | Buffer): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** Runs `fn` and returns the KilnError it throws (fails the test if none). */
export async function kilnError(fn: () => unknown): Promise<KilnError> {
  try {
    await fn();
  } catch (error) {
    if (KilnError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a KilnError');
}
