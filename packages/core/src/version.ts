import * as fs from 'node:fs';
import * as path from 'node:path';

/** Version of this @kiln/core (read from its package.json, valid from src/ and dist/). */
export const KILN_VERSION: string = (
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;
