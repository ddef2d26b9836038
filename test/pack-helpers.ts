import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..');

export interface PackedInstall {
  /** Directory whose node_modules holds the installed tarballs (no workspace links). */
  root: string;
  tarballs: Record<string, string>;
  reused: boolean;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell; never rejects, so tests assert on the code and output. */
export function run(file: string, args: string[], cwd: string, timeout = 170_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, encoding: 'utf8', timeout, maxBuffer: 64 << 20, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let install: Promise<PackedInstall> | undefined;

/**
 * The @kiln packages packed and installed once (scripts/pack-install.js), shared by the pack and
 * end-to-end tests and reused across runs while the tarballs are unchanged. `flock` serializes
 * concurrent callers: packing copies templates/ into packages/cli for the tarball.
 */
export function packedInstall(): Promise<PackedInstall> {
  const attempt = () => run('flock', [path.join(os.tmpdir(), 'kiln-pack-install.lock'), process.execPath, path.join(REPO, 'scripts', 'pack-install.js')], REPO, 300_000);
  install ??= (async () => {
    let r = await attempt();
    // A package rebuilt while npm pack reads it (tsc rewriting dist) fails the pack once; the next attempt sees the finished build.
    if (r.code !== 0) r = await attempt();
    if (r.code !== 0) throw new Error(`scripts/pack-install.js failed (${r.code}):\n${r.stderr.slice(-4000)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as PackedInstall;
  })();
  return install;
}

/** A fresh directory inside the install, so Node resolves packages from its node_modules. */
export function workDir(root: string, prefix: string): string {
  fs.mkdirSync(path.join(root, 'work'), { recursive: true });
  return fs.mkdtempSync(path.join(root, 'work', `${prefix}-`));
}

/** The installed `kiln` binary. */
export function kilnBin(root: string): string {
  return path.join(root, 'node_modules', '@kiln', 'cli', 'bin', 'kiln.js');
}

/** The JSON object a command printed last on stdout (callbacks may log lines before it). */
export function lastJson<T>(stdout: string): T {
  const start = stdout.lastIndexOf('\n{') + 1;
  return JSON.parse(stdout.slice(start)) as T;
}
