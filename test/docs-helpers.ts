import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';

/**
 * Every code block of docs/*.md and README.md runs in test/docs.test.ts and test/docs-guides.test.ts. A block's info string says how:
 *   ```ts test / ```js test        transpiled and run with node in the page's project dir
 *   ```yaml test                   a config: resolved and validated (types and options of every block)
 *   ```yaml test file=kiln.config.yaml   the same, written to that file of the project dir first
 *   ```js test file=plugins/x.js   written to that file (later blocks use it)
 *   ```bash test                   run with bash -euo pipefail in the project dir
 *   ```bash no-test <reason>       not run: only for commands that install from the registry or take minutes
 * Blocks of one page share one project dir (with the repository's node_modules), in page order.
 */
export const REPO = path.resolve(__dirname, '..');
export const CODE = new Set(['ts', 'typescript', 'js', 'javascript', 'yaml', 'yml', 'json', 'bash', 'sh']);
/** Pages whose snippets run in test/docs-guides.test.ts; the rest run in test/docs.test.ts (two files, so Jest runs them in parallel). */
export const GUIDES = ['docs/backends.md', 'docs/tuning.md', 'docs/tracking.md', 'docs/export.md'];
export const PAGES = [...fs.readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'README.md'];

export interface Block {
  page: string;
  line: number;
  lang: string;
  flags: string[];
  body: string;
}

export function blocks(page: string): Block[] {
  const text = fs.readFileSync(path.join(REPO, page), 'utf8');
  const out: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^```(\S*)\s*(.*)$/);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && !lines[i].startsWith('```')) body.push(lines[i]);
    out.push({ page, line: start + 1, lang: open[1], flags: open[2].split(/\s+/).filter(Boolean), body: `${body.join('\n')}\n` });
  }
  return out;
}

export function exec(file: string, args: string[], cwd: string, timeout = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', PATH: `${path.join(REPO, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` },
      timeout,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Leading import declarations stay at the top; the rest runs in an async function (so snippets may await). */
export function toScript(source: string): string {
  const parsed = ts.createSourceFile('snippet.ts', source, ts.ScriptTarget.ES2022, true);
  let split = 0;
  for (const statement of parsed.statements) {
    if (!ts.isImportDeclaration(statement)) break;
    split = statement.end;
  }
  const wrapped = `${source.slice(0, split)}\nasync function snippet() {\n${source.slice(split)}\n}\nsnippet().catch((error) => { console.error(error); process.exitCode = 1; });\n`;
  return ts.transpileModule(wrapped, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
}

const dirs: string[] = [];

/** Removes the project dirs made so far (call in afterAll). */
export function removeProjectDirs(): void {
  dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
}

export function projectDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-docs-'));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  dirs.push(dir);
  return dir;
}

/** One test per runnable block of each page, in page order, sharing the page's project dir. */
export function describeSnippets(pages: string[]): void {
  describe.each(pages)('snippets of %s', (page) => {
    const runnable = blocks(page).filter((b) => b.flags.includes('test'));
    let dir: string;
    beforeAll(() => {
      dir = projectDir();
    });
    if (runnable.length === 0) {
      it('has no runnable snippets', () => undefined);
      return;
    }

    it.each(runnable.map((b) => [`line ${b.line} (${b.lang})`, b] as const))('%s', async (_name, block) => {
      const file = block.flags.find((f) => f.startsWith('file='))?.slice(5);
      const where = `${block.page}:${block.line}`;
      if (file) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), block.body);
      }
      if (block.lang === 'yaml' || block.lang === 'yml') {
        const configFile = file ? path.join(dir, file) : path.join(dir, `.snippet-${block.line}.yaml`);
        if (!file) fs.writeFileSync(configFile, block.body);
        const r = await exec(process.execPath, [path.join(__dirname, 'docs-runner.js'), configFile], dir);
        expect({ where, code: r.code, stderr: r.stderr }).toEqual({ where, code: 0, stderr: '' });
      } else if (block.lang === 'json') {
        expect(() => JSON.parse(block.body)).not.toThrow();
      } else if (['ts', 'typescript', 'js', 'javascript'].includes(block.lang) && !file) {
        const script = path.join(dir, `.snippet-${block.line}.js`);
        fs.writeFileSync(script, toScript(block.body));
        const r = await exec(process.execPath, [script], dir);
        expect({ where, code: r.code, stderr: r.stderr.slice(-3000) }).toEqual({ where, code: 0, stderr: expect.any(String) });
      } else if (block.lang === 'bash' || block.lang === 'sh') {
        // `npx kiln` runs the binary npx would find, without npm's start-up on every call.
        const npx = `npx() { if [ "$1" = kiln ]; then shift; node ${JSON.stringify(path.join(REPO, 'packages', 'cli', 'bin', 'kiln.js'))} "$@"; else command npx "$@"; fi; }\n`;
        const r = await exec('bash', ['-euo', 'pipefail', '-c', npx + block.body], dir);
        expect({ where, code: r.code, out: r.code === 0 ? '' : `${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}` }).toEqual({ where, code: 0, out: '' });
      }
    });
  });
}
