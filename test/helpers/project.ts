import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A temp project directory with the repo's node_modules linked in, so packages resolve as installed. */
export function tempProject(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-test-'));
  fs.symlinkSync(path.resolve(__dirname, '..', '..', 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return dir;
}

export function removeProject(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The committed `kiln` launcher, spawned by the end-to-end tests. */
export const KILN_BIN = path.resolve(__dirname, '..', '..', 'packages', 'cli', 'bin', 'kiln.js');

/** Epochs a run has logged so far (lines of its metrics.jsonl), for tests that interrupt a run. */
export function epochsLogged(runDir: string): number {
  const file = path.join(runDir, 'metrics.jsonl');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length : 0;
}
