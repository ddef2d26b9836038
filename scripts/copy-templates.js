#!/usr/bin/env node
// Copies the repository's templates/ into a package before `npm pack` (so `kiln init` works from an
// installed @kiln/cli), and removes the copy afterwards: `copy-templates.js [--remove] <dest>`.
const fs = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
const remove = args.includes('--remove');
const dest = args.find((a) => !a.startsWith('--'));
if (!dest) {
  process.stderr.write('usage: copy-templates.js [--remove] <destination>\n');
  process.exit(2);
}
const target = path.resolve(process.cwd(), dest);
const source = path.resolve(__dirname, '..', 'templates');
fs.rmSync(target, { recursive: true, force: true });
if (!remove) {
  fs.cpSync(source, target, { recursive: true, filter: (src) => !/[\\/](node_modules|dist)$/.test(src) });
}
