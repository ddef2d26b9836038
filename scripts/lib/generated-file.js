// Shared by the docs generators: write a generated file, print it (--stdout), or check that the
// committed copy is current (--check: exit 1 and show the first differing line).
const fs = require('node:fs');
const path = require('node:path');

/** `what` names the source ("the schemas"), for the message; `script` is the generator's path. */
function writeOrCheck(out, text, { what, script }) {
  const rel = path.relative(path.join(__dirname, '..', '..'), out);
  if (process.argv.includes('--check')) {
    const committed = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
    if (committed !== text) {
      const a = committed.split('\n');
      const b = text.split('\n');
      const first = a.findIndex((line, i) => line !== b[i]);
      const at = first === -1 ? Math.min(a.length, b.length) : first;
      process.stderr.write(`first difference at line ${at + 1}:\n- ${a[at] ?? '(end)'}\n+ ${b[at] ?? '(end)'}\n`);
      process.stderr.write(`${rel} is out of date with ${what}: run \`node ${script}\` and commit it.\n`);
      process.exitCode = 1;
    }
    return;
  }
  if (process.argv.includes('--stdout')) process.stdout.write(text);
  else fs.writeFileSync(out, text);
}

module.exports = { writeOrCheck };
