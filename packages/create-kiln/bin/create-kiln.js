#!/usr/bin/env node
'use strict';
// `npm create kiln@latest my-app -- --template <name>`: the same scaffolding as `kiln init`, from @kiln/cli.
const { parseArgs } = require('node:util');

const USAGE = `usage: npm create kiln@latest <dir> -- [--template <name>] [--name <package>] [--force] [--list]

  -t, --template <name>  template to copy (default: image-classification)
      --name <name>      package name (default: the directory name)
      --force            write into a non-empty directory
      --list             list the templates
  -h, --help             this help
`;

async function main(argv) {
  const { initProject, formatInitResult, formatTemplateList, listTemplates } = require('@kiln/cli');
  const { formatError, UsageError } = require('@kiln/core');
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        template: { type: 'string', short: 't', default: 'image-classification' },
        name: { type: 'string' },
        force: { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${formatError(new UsageError(error.message, { where: 'create-kiln', hint: 'run npm create kiln@latest -- --help' }))}\n`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    if (values.list) {
      process.stdout.write(`${formatTemplateList(listTemplates())}\n`);
      return 0;
    }
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length ? `expected one directory, got ${positionals.join(' ')}` : 'no project directory given', {
        where: 'create-kiln',
        hint: `npm create kiln@latest my-app -- --template <name>, with one of:\n${formatTemplateList(listTemplates())}`,
      });
    }
    const result = initProject({ dir: positionals[0], template: values.template, name: values.name, force: values.force, cwd: process.cwd() });
    process.stdout.write(formatInitResult(result));
    return 0;
  } catch (error) {
    process.stderr.write(`${formatError(error)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
