#!/usr/bin/env node
// Packs the published @kiln/* packages (and create-kiln) with `npm pack`, and installs the tarballs
// into one directory outside the workspace: what a user gets from npm, with no workspace links.
// The install is keyed by a fingerprint of the packed files and reused while they do not change; older installs
// are removed (all but the most recently used other one).
// Run it under a lock (packing copies templates/ into packages/cli), as test/pack-helpers.ts does:
//   flock "$TMPDIR/kiln-pack-install.lock" node scripts/pack-install.js
// Prints {"root", "tarballs": {name: file}, "reused"} as JSON on stdout.
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
/** core, cli and everything the cli installs with it, plus plugin-bert (text templates) and create-kiln. */
const PACKAGES = [
  'core', 'cli', 'presets', 'plugin-backend-wasm', 'plugin-backend-node', 'plugin-train-basics', 'plugin-data',
  'plugin-coco', 'plugin-mlflow', 'plugin-tuners', 'plugin-export', 'plugin-resnet', 'plugin-bert', 'create-kiln',
];
/** What the plugin template needs to build and test, besides the Kiln packages. */
const TOOLS = { typescript: '~5.9.3', '@types/node': '^20.17.0' };

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });

/** Every file a package publishes (its `files`, package.json), and templates/ for the cli. */
function publishedFiles(dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const roots = [...(manifest.files ?? []), 'package.json'].filter((f) => !f.startsWith('!')).map((f) => path.join(dir, f));
  if (manifest.name === '@kiln/cli') roots.push(path.join(REPO, 'templates'));
  const out = [];
  const walk = (p) => {
    if (!fs.existsSync(p)) return;
    const stat = fs.statSync(p);
    if (stat.isDirectory()) for (const entry of fs.readdirSync(p).sort()) walk(path.join(p, entry));
    else if (!p.endsWith('.tsbuildinfo')) out.push(`${path.relative(REPO, p)}:${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
  };
  roots.forEach(walk);
  return out;
}

function main() {
  // The key is a fingerprint of what would be packed (paths and contents), so an unchanged build reuses the install without packing.
  const hash = crypto.createHash('sha256');
  for (const p of PACKAGES) for (const line of publishedFiles(path.join(REPO, 'packages', p))) hash.update(`${line}\n`);
  const root = path.join(os.tmpdir(), `kiln-pack-${hash.digest('hex').slice(0, 12)}`);
  const reused = fs.existsSync(path.join(root, '.done'));
  let packed;
  if (reused) packed = JSON.parse(fs.readFileSync(path.join(root, 'pack.json'), 'utf8'));
  if (!reused) {
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-pack-staging-'));
    packed = JSON.parse(npm(['pack', '--json', '--pack-destination', staging, ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])], REPO));
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(path.join(root, 'tarballs'), { recursive: true });
    for (const p of packed) fs.renameSync(path.join(staging, p.filename), path.join(root, 'tarballs', p.filename));
    fs.rmSync(staging, { recursive: true, force: true });
    fs.writeFileSync(path.join(root, 'pack.json'), JSON.stringify(packed, null, 2));
    const dependencies = { ...Object.fromEntries(packed.map((p) => [p.name, `file:tarballs/${p.filename}`])), ...TOOLS };
    fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'kiln-pack-install', private: true, dependencies }, null, 2));
    // onnxruntime-node's postinstall would download CUDA libraries; its CPU binaries ship in the package.
    fs.writeFileSync(path.join(root, '.npmrc'), 'onnxruntime-node-install=skip\n');
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], root);
    fs.writeFileSync(path.join(root, '.done'), new Date().toISOString());
  }
  const tarballs = Object.fromEntries(packed.map((p) => [p.name, path.join(root, 'tarballs', p.filename)]));
  // Each install is ~700 MB: keep this one and the most recently used other (a concurrent run may use it).
  const others = fs.readdirSync(os.tmpdir())
    .filter((d) => /^kiln-pack-[0-9a-f]{12}$/.test(d))
    .map((d) => path.join(os.tmpdir(), d))
    .filter((dir) => dir !== root)
    .map((dir) => ({ dir, used: fs.existsSync(path.join(dir, '.done')) ? fs.statSync(path.join(dir, '.done')).mtimeMs : fs.statSync(dir).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const { dir } of others.slice(1)) fs.rmSync(dir, { recursive: true, force: true });
  fs.utimesSync(path.join(root, '.done'), new Date(), new Date());
  process.stdout.write(`${JSON.stringify({ root, tarballs, reused })}\n`);
}

main();
