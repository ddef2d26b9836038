#!/usr/bin/env node
// The benchmark lives at the repository root (bench/coco.js, run by `npm run bench -- coco`); this forwards to it.
require('../../../bench/coco.js');
