import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KILN_VERSION, KilnError } from '@kiln/core';
import { initProject, listTemplates, packageNameFrom, placeholders } from '../src/commands/init';

const REPO = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(REPO, 'packages', 'cli', 'bin', 'kiln.js');
const CREATE = path.join(REPO, 'packages', 'create-kiln', 'bin', 'create-kiln.js');
const TEMPLATES = ['image-classification', 'ner', 'plugin', 'text-classification', 'tuning'];

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-init-'));
  dirs.push(dir);
  return dir;
}

function run(bin: string, cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.relative(dir, path.join(d.parentPath, d.name)));
}

describe('kiln init', () => {
  it('lists every template with a description', () => {
    const templates = listTemplates();
    expect(templates.map((t) => t.name)).toEqual(TEMPLATES);
    for (const t of templates) {
      expect(t.description.length).toBeGreaterThan(20);
      expect(t.next).toHaveLength(2);
    }
  });

  it.each(TEMPLATES)('scaffolds %s with every placeholder filled and valid JSON/YAML', (template) => {
    const cwd = tempDir();
    const result = initProject({ dir: 'My Project', template, cwd });
    expect(result.name).toBe('my-project');
    expect(result.files).toContain('package.json');
    expect(result.files).toContain('.gitignore');
    expect(result.files).not.toContain('template.json');
    for (const file of filesUnder(result.dir)) {
      const text = fs.readFileSync(path.join(result.dir, file), 'utf8');
      expect({ file, left: text.match(/\{\{\w+\}\}/g) }).toEqual({ file, left: null });
      if (file.endsWith('.json')) expect(() => JSON.parse(text)).not.toThrow();
      if (file.endsWith('.yaml')) expect(parseYaml(text)).toMatchObject({ name: 'my-project' });
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(result.dir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('my-project');
    const kilnDeps = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies }).filter(([n]) => n.startsWith('@kiln/'));
    expect(kilnDeps.length).toBeGreaterThan(0);
    for (const [, range] of kilnDeps) expect(range).toBe(`^${KILN_VERSION}`);
    expect(result.next[0]).toBe('cd "My Project" && npm install');
  });

  it('derives names and identifiers for a plugin package', () => {
    expect(packageNameFrom('My App!')).toBe('my-app');
    expect(placeholders('@acme/kiln-plugin-fancy-net')).toMatchObject({ name: '@acme/kiln-plugin-fancy-net', id: 'fancy-net', Id: 'FancyNet' });
    expect(placeholders('3d-models').Id).toBe('K3dModels');
  });

  it('refuses a non-empty directory without --force, and writes over it with --force', () => {
    const cwd = tempDir();
    fs.mkdirSync(path.join(cwd, 'app'));
    fs.writeFileSync(path.join(cwd, 'app', 'notes.txt'), 'keep me');
    let error: unknown;
    try {
      initProject({ dir: 'app', template: 'tuning', cwd });
    } catch (e) {
      error = e;
    }
    expect(KilnError.is(error)).toBe(true);
    expect((error as KilnError).code).toBe('E_USAGE');
    expect((error as KilnError).message).toContain('not empty (notes.txt)');
    expect((error as KilnError).hint).toContain('--force');
    expect(fs.readdirSync(path.join(cwd, 'app'))).toEqual(['notes.txt']);
    const result = initProject({ dir: 'app', template: 'tuning', cwd, force: true });
    expect(fs.readFileSync(path.join(cwd, 'app', 'notes.txt'), 'utf8')).toBe('keep me');
    expect(fs.readFileSync(path.join(result.dir, 'kiln.config.yaml'), 'utf8')).toContain('study: app');
  });

  it('scaffolds into an empty current directory, named after it, with no cd in the next commands', () => {
    const cwd = path.join(tempDir(), 'Here');
    fs.mkdirSync(cwd);
    const result = initProject({ dir: '.', template: 'image-classification', cwd });
    expect(result.name).toBe('here');
    expect(result.next).toEqual(['npm install', 'npx kiln train']);
    expect(() => initProject({ dir: '.', template: 'image-classification', cwd })).toThrow(/not empty/);
  });

  it('rejects an invalid --name', () => {
    expect(() => initProject({ dir: 'x', template: 'plugin', name: 'Bad Name', cwd: tempDir() })).toThrow(/not a valid npm package name/);
  });

  it('the binary scaffolds, prints the next two commands, and lists templates with a suggestion for an unknown name', () => {
    const cwd = tempDir();
    const ok = run(BIN, cwd, 'init', 'acme', '--template', 'plugin', '--name', 'kiln-plugin-acme');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Created kiln-plugin-acme from the plugin template');
    expect(ok.stdout).toMatch(/Next:\n {2}cd acme && npm install\n {2}npm test\n$/);
    const index = fs.readFileSync(path.join(cwd, 'acme', 'src', 'index.ts'), 'utf8');
    expect(index).toContain("ctx.provide(Tokens.Model, 'acme-mlp'");
    expect(index).toContain('AcmeMlpOptions');

    const again = run(BIN, cwd, 'init', 'acme', '--template', 'plugin');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/error E_USAGE: .*acme: directory acme is not empty/);

    const unknown = run(BIN, cwd, 'init', 'other', '--template', 'image-clasification');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown template 'image-clasification'");
    expect(unknown.stderr).toContain("did you mean 'image-classification'?");
    for (const name of TEMPLATES) expect(unknown.stderr).toMatch(new RegExp(`\\n {2}${name} +\\S`));
    expect(fs.existsSync(path.join(cwd, 'other'))).toBe(false);

    const list = run(BIN, cwd, 'init', '--list');
    expect(list.code).toBe(0);
    expect(list.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[0])).toEqual(TEMPLATES);
  });

  it('create-kiln runs the same scaffolding', () => {
    const cwd = tempDir();
    const ok = run(CREATE, cwd, 'study', '--template', 'tuning');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Next:\n {2}cd study && npm install\n {2}npx kiln tune\n$/);
    expect(fs.readFileSync(path.join(cwd, 'study', 'package.json'), 'utf8')).toContain('"name": "study"');
    const bad = run(CREATE, cwd, 'x', '-t', 'nerr');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("did you mean 'ner'?");
    expect(run(CREATE, cwd, '--list').stdout).toContain('text-classification');
  });
});
