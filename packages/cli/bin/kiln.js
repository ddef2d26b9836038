#!/usr/bin/env node
// Committed launcher, so npm can link the `kiln` bin before the TypeScript build has run.
require('../dist/bin.js');
