#!/usr/bin/env node
// Install step: use a prebuilt binary from prebuilds/ when one matches, else build with node-gyp.
// A failed build must not fail `npm install`: Kiln then runs on wasm, and `kiln info` / backend: auto say why.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const bin = require.resolve('node-gyp-build/bin.js');
const result = spawnSync(process.execPath, [bin], { cwd: path.join(__dirname, '..'), stdio: 'inherit', env: process.env });
if (result.status !== 0) {
  console.warn(
    '@kiln/plugin-backend-native: the native addon did not build (see above); Kiln will use the wasm backend. ' +
      'Install a C++17 compiler and python3, then run `npm rebuild @kiln/plugin-backend-native`.',
  );
}
process.exit(0);
