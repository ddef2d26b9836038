import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Temp files live in `tempDir` (a run or experiment folder), never inside params/, metrics/ or
 * tags/, where MLflow would read a half-written temp file as an entry.
 */
function tempName(tempDir: string): string {
  return path.join(tempDir, `.kiln-tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** Writes `data` to `target` through a temp file and a rename: readers see the old or the new file, never half of one. */
export function writeFileAtomic(target: string, data: string | Buffer, tempDir = path.dirname(target)): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = tempName(tempDir);
  try {
    fs.writeFileSync(temp, data);
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * Creates `target` with `data` only if it does not exist yet (link(2) fails on an existing name,
 * atomically across processes). Returns false when the file already existed.
 */
export function createFileExclusive(target: string, data: string, tempDir: string): boolean {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = tempName(tempDir);
  fs.writeFileSync(temp, data);
  try {
    fs.linkSync(temp, target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * Appends in one write(2) on an O_APPEND descriptor: concurrent appenders interleave whole lines,
 * never bytes of one line inside another.
 */
export function appendWhole(target: string, data: string): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const bytes = Buffer.from(data, 'utf8');
  const fd = fs.openSync(target, 'a');
  try {
    const written = fs.writeSync(fd, bytes, 0, bytes.length);
    if (written !== bytes.length) throw new Error(`short append to ${target}: ${written} of ${bytes.length} bytes`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Copies a file or a folder tree, each file written atomically. */
export function copyTreeAtomic(source: string, target: string, tempDir: string): string[] {
  const stat = fs.statSync(source);
  if (stat.isDirectory()) {
    const copied: string[] = [];
    for (const entry of fs.readdirSync(source).sort()) {
      copied.push(...copyTreeAtomic(path.join(source, entry), path.join(target, entry), tempDir));
    }
    return copied;
  }
  writeFileAtomic(target, fs.readFileSync(source), tempDir);
  return [target];
}
