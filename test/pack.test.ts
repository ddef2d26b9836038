import * as fs from 'node:fs';
import * as path from 'node:path';
import { kilnBin, lastJson, packedInstall, run, workDir, type PackedInstall } from './pack-helpers';

jest.setTimeout(300_000);

interface PackEntry {
  name: string;
  filename: string;
  files: { path: string }[];
}

const REPO = path.resolve(__dirname, '..');
/** Files a package may publish besides dist/, README.md and package.json. */
const EXTRA: Record<string, RegExp> = {
  '@kiln/cli': /^(bin\/kiln\.js|templates\/.+)$/,
  'create-kiln': /^bin\/create-kiln\.js$/,
};
/** tsc -b writes dist/.tsbuildinfo into every package's dist; every package excludes it (`"!dist/.tsbuildinfo"` in `files`). */
const BUILD_INFO = /^dist\/\.tsbuildinfo$/;

let install: PackedInstall;
let packed: PackEntry[];
beforeAll(async () => {
  install = await packedInstall();
  packed = JSON.parse(fs.readFileSync(path.join(install.root, 'pack.json'), 'utf8')) as PackEntry[];
});

describe('npm pack of the published packages', () => {
  it('each tarball holds dist (with types), package.json and README, and no sources or tests', () => {
    expect(packed.map((p) => p.name)).toEqual(expect.arrayContaining(['@kiln/core', '@kiln/cli', '@kiln/presets', '@kiln/plugin-train-basics', '@kiln/plugin-data', '@kiln/plugin-backend-wasm', 'create-kiln']));
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'packages', p.name.replace(/^@kiln\//, ''), 'package.json'), 'utf8'));
      expect({ name: p.name, hasPackageJson: files.includes('package.json') }).toEqual({ name: p.name, hasPackageJson: true });
      const stray = files.filter((f) => !(f === 'package.json' || f === 'README.md' || f === 'LICENSE' || (f.startsWith('dist/') && !BUILD_INFO.test(f) && !/\.test\.|\/test\//.test(f)) || EXTRA[p.name]?.test(f)));
      expect({ name: p.name, stray }).toEqual({ name: p.name, stray: [] });
      expect(files.filter((f) => !f.startsWith('templates/')).some((f) => /^(src|test)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toBe(false);
      if (fs.existsSync(path.join(REPO, 'packages', p.name.replace(/^@kiln\//, ''), 'README.md'))) expect(files).toContain('README.md');
      if (manifest.main) {
        expect(files).toContain(manifest.main);
        expect(files).toContain(manifest.types);
        expect(manifest.exports['.']).toEqual({ types: `./${manifest.types}`, default: `./${manifest.main}` });
      }
      if (p.name.startsWith('@kiln/plugin-') || p.name === '@kiln/presets') expect(manifest.peerDependencies?.['@kiln/core']).toMatch(/^\^/);
    }
    const cli = packed.find((p) => p.name === '@kiln/cli')!.files.map((f) => f.path);
    for (const t of ['image-classification', 'text-classification', 'ner', 'tuning', 'plugin']) expect(cli).toContain(`templates/${t}/template.json`);
  });

  it('installs with no workspace links', () => {
    for (const name of Object.keys(install.tarballs)) {
      const dir = path.join(install.root, 'node_modules', name);
      expect(fs.lstatSync(dir).isSymbolicLink()).toBe(false);
      expect(fs.existsSync(path.join(dir, 'src'))).toBe(false);
    }
    expect(fs.realpathSync(path.join(install.root, 'node_modules', '@kiln', 'core'))).not.toContain(REPO);
  });

  it('kiln init reads the templates shipped inside the installed @kiln/cli', async () => {
    const r = await run(process.execPath, ['-e', "process.stdout.write(require('@kiln/cli').templatesDir())"], install.root);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(path.join(install.root, 'node_modules', '@kiln', 'cli', 'templates'));
  });

  it('the installed create-kiln scaffolds a project (what npm create kiln runs)', async () => {
    const work = workDir(install.root, 'create');
    try {
      const r = await run(path.join(install.root, 'node_modules', '.bin', 'create-kiln'), ['my-app', '--template', 'ner'], work);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Next:\n {2}cd my-app && npm install\n {2}npx kiln train\n$/);
      expect(fs.readFileSync(path.join(work, 'my-app', 'kiln.config.yaml'), 'utf8')).toContain("extends: '@kiln/presets/ner'");
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('the plugin template builds, passes its own tests, packs, and loads by package name from a config', async () => {
    const kiln = kilnBin(install.root);
    const work = workDir(install.root, 'plugin');
    try {
      const init = await run(process.execPath, [kiln, 'init', 'kiln-plugin-acme', '--template', 'plugin'], work);
      expect(init.stderr).toBe('');
      expect(init.code).toBe(0);
      expect(init.stdout).toContain('cd kiln-plugin-acme && npm install\n  npm test');
      const pluginDir = path.join(work, 'kiln-plugin-acme');

      const tests = await run('npm', ['test'], pluginDir);
      expect({ code: tests.code, out: tests.stdout.match(/^# (pass|fail) \d+$/gm) }).toEqual({ code: 0, out: ['# pass 4', '# fail 0'] });

      const pack = await run('npm', ['pack', '--json'], pluginDir);
      expect(pack.code).toBe(0);
      const [tarball] = JSON.parse(pack.stdout) as PackEntry[];
      expect(tarball.files.map((f) => f.path).sort()).toEqual([
        'README.md', 'dist/callback.d.ts', 'dist/callback.js', 'dist/index.d.ts', 'dist/index.js', 'dist/model.d.ts', 'dist/model.js', 'package.json',
      ]);

      // A project that installed the plugin's tarball: node_modules/kiln-plugin-acme, Kiln from the shared install.
      const project = path.join(work, 'project');
      const installed = path.join(project, 'node_modules', 'kiln-plugin-acme');
      fs.mkdirSync(installed, { recursive: true });
      const untar = await run('tar', ['-xzf', path.join(pluginDir, tarball.filename), '-C', installed, '--strip-components=1'], work);
      expect(untar.code).toBe(0);
      fs.writeFileSync(path.join(project, 'kiln.config.yaml'), [
        "extends: '@kiln/presets/tabular-classification'",
        'plugins: [kiln-plugin-acme]',
        'data: { type: synthetic-tabular, trainSize: 256, valSize: 128 }',
        'model: { type: acme-mlp, hiddenUnits: 16 }',
        'optimizer: { type: adam, lr: 0.03 }',
        'callbacks: [{ type: checkpoint }, { type: acme-timer }]',
        'trainer: { epochs: 3, batchSize: 32 }',
        '',
      ].join('\n'));

      const plugins = await run(process.execPath, [kiln, 'plugins'], project);
      expect(plugins.code).toBe(0);
      expect(plugins.stdout).toContain(`kiln-plugin-acme@0.1.0  ${fs.realpathSync(installed)}`);
      expect(plugins.stdout).toMatch(/acme-mlp {2}\(kiln-plugin-acme\) .*\n {6}hiddenUnits: integer = 32/);
      expect(plugins.stdout).toMatch(/acme-timer {2}\(kiln-plugin-acme\)/);

      const train = await run(process.execPath, [kiln, 'train', '--json'], project);
      expect(train.code).toBe(0);
      expect(train.stderr).toMatch(/^epoch 1 took \d+\.\d\d s\nepoch 2 took .*\nepoch 3 took .*\n$/);
      const result = lastJson<{ runDir: string; logs: Record<string, number>; checkpoints: { best?: string } }>(train.stdout);
      expect(result.logs['val/accuracy']).toBeGreaterThan(0.5);
      expect(fs.readFileSync(path.join(result.runDir, 'timing.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
      expect(fs.existsSync(result.checkpoints.best!)).toBe(true);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
