import * as fs from 'node:fs';
import * as path from 'node:path';
import { Hooks } from '@kiln/core';
import { blocks, CODE, describeSnippets, exec, GUIDES, PAGES, REPO, removeProjectDirs } from './docs-helpers';

afterAll(removeProjectDirs);

describe('every code block in the docs is tagged', () => {
  it.each(PAGES)('%s', (page) => {
    const untagged = blocks(page)
      .filter((b) => CODE.has(b.lang) && !b.flags.includes('test') && !(b.flags[0] === 'no-test' && b.flags.length > 1))
      .map((b) => `${page}:${b.line}`);
    expect(untagged).toEqual([]);
  });
});

describeSnippets(PAGES.filter((page) => !GUIDES.includes(page)));

describe('generated references', () => {
  it.each(['gen-config-reference.js', 'gen-cli-reference.js'])('%s --check: the committed page equals the generated one', async (script) => {
    const r = await exec(process.execPath, [path.join(REPO, 'scripts', script), '--check'], REPO);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe('hooks reference', () => {
  it('lists every hook of core with its tapable class', () => {
    const page = fs.readFileSync(path.join(REPO, 'docs', 'hooks.md'), 'utf8');
    const hooks = new Hooks() as unknown as Record<string, { constructor: { name: string } }>;
    const rows = Object.keys(hooks).map((name) => ({ name, row: page.split('\n').find((l) => l.startsWith(`| \`${name}\``)) ?? 'missing' }));
    for (const { name, row } of rows) expect({ name, row: row.includes(`\`${hooks[name].constructor.name}\``) ? 'ok' : row }).toEqual({ name, row: 'ok' });
  });
});
