#!/usr/bin/env node
// `npm run bench -- <name>` runs bench/<name>.js; with no name, lists the benchmarks.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const names = fs.readdirSync(__dirname).filter((f) => f.endsWith('.js') && f !== 'run.js').map((f) => f.slice(0, -3)).sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  if (name) console.error(`unknown benchmark '${name}'`);
  console.error(`benchmarks: ${names.join(', ') || 'none'}\nusage: npm run bench -- <name> [args]`);
  process.exit(name ? 1 : 0);
}
const r = spawnSync(process.execPath, [path.join(__dirname, `${name}.js`), ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
