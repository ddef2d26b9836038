import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { KILN_BIN, removeProject, tempProject } from './helpers/project';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeProject));

function kiln(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [KILN_BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function project(files: Record<string, string>): string {
  const dir = tempProject(files);
  dirs.push(dir);
  return dir;
}

const LOCAL_PLUGIN = `
const { definePlugin, Tokens } = require('@kiln/core');
const { z } = require('zod');
module.exports = definePlugin({
  name: 'acme-models', version: '1.2.3', kiln: '^0.1.0',
  register(ctx) {
    ctx.provide(Tokens.Model, 'acme-net', (o) => ({ name: 'acme-net', o }),
      z.strictObject({ blocks: z.number().int().default(3).describe('residual blocks'), width: z.number().describe('channels') }),
      { description: 'the acme network' });
    ctx.command({ name: 'acme', description: 'say hello from a plugin', async run(args, opts, c) { c.stdout.write('hello from acme\\n'); return 0; } });
  },
});
`;

describe('kiln CLI', () => {
  it('lists a local plugin with its options, and its command in help', () => {
    const dir = project({ 'plugins/acme.js': LOCAL_PLUGIN, 'kiln.config.yaml': 'plugins: [./plugins/acme.js]\nmodel:\n  type: acme-net\n  width: 8\n' });
    const plugins = kiln(dir, 'plugins');
    expect(plugins.code).toBe(0);
    expect(plugins.stdout).toContain('acme-models@1.2.3');
    expect(plugins.stdout).toMatch(/acme-net {2}\(acme-models\) {2}the acme network\n {6}blocks: integer = 3 {2}residual blocks\n {6}width \(required\): number {2}channels/);
    const help = kiln(dir, 'help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/acme\s+say hello from a plugin/);
    expect(help.stdout).toMatch(/train\s/);
    expect(kiln(dir, 'acme').stdout).toBe('hello from acme\n');
  });

  it('kiln config shows preset composition, --set overrides and the origin of each value', () => {
    const dir = project({ 'kiln.config.yaml': "extends: '@kiln/presets/tabular-classification'\ntrainer:\n  epochs: 3\n" });
    const out = kiln(dir, 'config', '--set', 'optimizer.lr=0.01', '--set', 'trainer.batchSize=16');
    expect(out.code).toBe(0);
    const line = (key: string) => out.stdout.split('\n').find((l) => l.startsWith(`${key} `)) ?? '';
    expect(line('trainer.epochs')).toMatch(/3\s+# kiln\.config\.yaml:3$/);
    expect(line('optimizer.lr')).toMatch(/0\.01\s+# --set optimizer\.lr=0\.01$/);
    expect(line('trainer.batchSize')).toMatch(/16\s+# --set trainer\.batchSize=16$/);
    expect(line('model.type')).toMatch(/"mlp"\s+# @kiln\/presets\/tabular-classification$/);
    expect(line('seed')).toMatch(/42\s+# @kiln\/presets\/base$/);
    expect(line('trainer.gradAccumulation')).toMatch(/1\s+# default$/);
    const json = JSON.parse(kiln(dir, 'config', '--json').stdout);
    expect(json.sources).toEqual(['@kiln/presets/base', '@kiln/presets/tabular-classification', path.join(dir, 'kiln.config.yaml')]);
  });

  it('finds kiln.config.ts', () => {
    const dir = project({ 'kiln.config.ts': 'const config: { seed: number } = { seed: 1234 };\nexport default config;\n' });
    const out = kiln(dir, 'config', '--json');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).config.seed).toBe(1234);
  });

  it('kiln info selects the best available backend under auto, and names the install command for a missing backend', () => {
    const dir = project({});
    const info = kiln(dir, 'info', '--json');
    expect(info.code).toBe(0);
    const parsed = JSON.parse(info.stdout);
    type Listed = { name: string; priority: number; availability: { ok: boolean } };
    const best = (parsed.backends as Listed[]).filter((b) => b.availability.ok).sort((a, b) => b.priority - a.priority)[0];
    expect(parsed.backend.name).toBe(best.name);
    expect(['native', 'wasm']).toContain(best.name);
    const wasm = JSON.parse(kiln(dir, 'info', '--json', '--set', 'backend=wasm').stdout);
    expect(wasm.backend.name).toBe('wasm');
    expect(wasm.backend.simd).toBe(true);
    expect(parsed.backends.find((b: { name: string }) => b.name === 'tensorflow').availability.ok).toBe(false);
    const missing = kiln(dir, 'info', '--set', 'backend=tensorflow');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("backend 'tensorflow' is not available");
    expect(missing.stderr).toContain('hint: install it with: npm install @tensorflow/tfjs-node');
    const unknown = kiln(dir, 'info', '--set', 'backend=wsam');
    expect(unknown.stderr).toContain("unknown backend 'wsam'");
    expect(unknown.stderr).toContain("did you mean 'wasm'?");
  });

  it('prints its version', () => {
    const out = kiln(project({}), '--version');
    expect(out.code).toBe(0);
    expect(out.stdout.trim()).toBe('0.1.0');
  });

  describe('bad input: one paragraph naming file and key, non-zero exit, no stack unless --debug', () => {
    const cases: [string, Record<string, string>, string[], RegExp][] = [
      ['unknown type', { 'plugins/acme.js': LOCAL_PLUGIN, 'kiln.config.yaml': 'plugins: [./plugins/acme.js]\nmodel:\n  type: acme-nte\n  width: 8\n' }, ['train'],
        /^error E_CONFIG: kiln\.config\.yaml:3 model\.type: unknown Model type 'acme-nte'\n {2}hint: did you mean 'acme-net'\?/],
      ['wrong option type', { 'plugins/acme.js': LOCAL_PLUGIN, 'kiln.config.yaml': 'plugins: [./plugins/acme.js]\nmodel:\n  type: acme-net\n  width: wide\n' }, ['train'],
        /^error E_CONFIG: kiln\.config\.yaml:4 model\.width: invalid options for Model 'acme-net': expected number, got "wide"/],
      ['missing required option', { 'plugins/acme.js': LOCAL_PLUGIN, 'kiln.config.yaml': 'plugins: [./plugins/acme.js]\nmodel:\n  type: acme-net\n' }, ['train'],
        /^error E_CONFIG: kiln\.config\.yaml:2 model\.width: invalid options for Model 'acme-net': required option missing/],
      ['unknown plugin package', { 'kiln.config.yaml': 'plugins:\n  - kiln-plugin-nowhere\n' }, ['plugins'],
        /^error E_PLUGIN: kiln\.config\.yaml:2 plugins\.0: cannot find plugin 'kiln-plugin-nowhere'\n {2}hint: install it with: npm install kiln-plugin-nowhere/],
      ['extends cycle', { 'a.yaml': 'extends: ./kiln.config.yaml\n', 'kiln.config.yaml': 'extends: ./a.yaml\n' }, ['config'],
        /^error E_CONFIG: a\.yaml:1 extends: extends cycle: kiln\.config\.yaml → a\.yaml → kiln\.config\.yaml/],
    ];
    it.each(cases)('%s', (_name, files, args, expected) => {
      const dir = project(files);
      const out = kiln(dir, ...args);
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(expected);
      expect(out.stderr).not.toMatch(/\n\s+at /);
      const debug = kiln(dir, ...args, '--debug');
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/\n\s+at /);
    });
  });
});
