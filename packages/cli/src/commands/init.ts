import * as fs from 'node:fs';
import * as path from 'node:path';
import { KILN_VERSION, knownNamesHint, UsageError, type Command } from '@kiln/core';

/** What `template.json` in each template folder says about it. */
export interface TemplateInfo {
  name: string;
  description: string;
  /** The commands to run after scaffolding, in the project directory. */
  next: string[];
  dir: string;
}

export interface InitOptions {
  /** Target directory, relative to `cwd`. */
  dir: string;
  template: string;
  /** Package name (default: the directory's base name, made a valid npm name). */
  name?: string;
  /** Write into a non-empty directory (files of the template replace existing ones). */
  force?: boolean;
  cwd?: string;
  /** Where the templates live (default: the ones shipped with @kiln/cli). */
  templatesDir?: string;
}

export interface InitResult {
  dir: string;
  template: TemplateInfo;
  name: string;
  files: string[];
  /** The commands to run next, `cd` included when the project is not the cwd. */
  next: string[];
}

/** Files renamed on copy: npm drops `.gitignore` from published tarballs, so templates ship it without the dot. */
const RENAMES: Record<string, string> = { gitignore: '.gitignore' };
const SKIP = new Set(['template.json', 'node_modules', 'dist']);

/**
 * The templates folder: the repository's `templates/` when running from a checkout, else
 * `templates/` inside the installed @kiln/cli (copied in by `prepack`).
 */
export function templatesDir(): string {
  const candidates = [path.resolve(__dirname, '..', '..', '..', '..', 'templates'), path.resolve(__dirname, '..', '..', 'templates')];
  const found = candidates.find((dir) => fs.existsSync(dir) && fs.readdirSync(dir).some((d) => fs.existsSync(path.join(dir, d, 'template.json'))));
  if (!found) {
    throw new UsageError('no project templates found next to @kiln/cli', {
      where: candidates[1],
      hint: 'reinstall @kiln/cli; its package ships a templates/ folder',
    });
  }
  return found;
}

/** Every template with its description, sorted by name. */
export function listTemplates(dir = templatesDir()): TemplateInfo[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'template.json')))
    .map((d) => {
      const info = JSON.parse(fs.readFileSync(path.join(dir, d.name, 'template.json'), 'utf8')) as { description?: string; next?: string[] };
      return { name: d.name, description: info.description ?? '', next: info.next ?? ['npm install'], dir: path.join(dir, d.name) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function formatTemplateList(templates: TemplateInfo[]): string {
  const width = Math.max(...templates.map((t) => t.name.length));
  return templates.map((t) => `  ${t.name.padEnd(width)}  ${t.description}`).join('\n');
}

const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** A directory name made into an npm package name: `My App!` → `my-app`. */
export function packageNameFrom(base: string): string {
  const name = base.toLowerCase().replace(/[^a-z0-9._~-]+/g, '-').replace(/^[._~-]+|[-]+$/g, '');
  return name || 'kiln-project';
}

/** The values the `{{placeholders}}` of a template are replaced with. */
export function placeholders(name: string): Record<string, string> {
  const bare = name.replace(/^@[^/]+\//, '').replace(/^kiln-plugin-/, '');
  const id = bare.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'my';
  const pascal = id.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
  return { name, id, Id: /^[A-Z]/.test(pascal) ? pascal : `K${pascal}`, kilnVersion: KILN_VERSION };
}

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (match, key: string) => values[key] ?? match);
}

function copyTree(from: string, to: string, values: Record<string, string>, files: string[], root: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, RENAMES[entry.name] ?? entry.name);
    if (entry.isDirectory()) copyTree(source, target, values, files, root);
    else {
      fs.writeFileSync(target, fill(fs.readFileSync(source, 'utf8'), values));
      files.push(path.relative(root, target));
    }
  }
}

/** Copies a template into `dir` with its placeholders filled. The code behind `kiln init` and `npm create kiln`. */
export function initProject(options: InitOptions): InitResult {
  const cwd = options.cwd ?? process.cwd();
  const templates = listTemplates(options.templatesDir ?? templatesDir());
  const template = templates.find((t) => t.name === options.template);
  if (!template) {
    throw new UsageError(`unknown template '${options.template}'`, {
      where: '--template',
      hint: `${knownNamesHint(options.template, templates.map((t) => t.name))}\n${formatTemplateList(templates)}`,
    });
  }
  const dir = path.resolve(cwd, options.dir);
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${dir} exists and is not a directory`, { where: options.dir, hint: 'choose another project directory' });
    const present = fs.readdirSync(dir).filter((f) => f !== '.git');
    if (present.length > 0 && !options.force) {
      throw new UsageError(`directory ${options.dir} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''})`, {
        where: dir,
        hint: 'choose a new directory, or pass --force to write the template over it (files with the same names are replaced)',
      });
    }
  }
  const name = options.name ?? packageNameFrom(path.basename(dir));
  if (!NPM_NAME.test(name) || name.length > 214) {
    throw new UsageError(`'${name}' is not a valid npm package name`, { where: '--name', hint: 'use lower-case letters, digits and -._~, optionally with a @scope/ prefix' });
  }
  const files: string[] = [];
  copyTree(template.dir, dir, placeholders(name), files, dir);
  const relative = path.relative(cwd, dir);
  const cd = relative === '' ? '' : `cd ${/\s/.test(relative) ? JSON.stringify(relative) : relative} && `;
  const next = template.next.map((command, i) => (i === 0 ? `${cd}${command}` : command));
  return { dir, template, name, files: files.sort(), next };
}

/** The summary printed after scaffolding. */
export function formatInitResult(result: InitResult): string {
  return [
    `Created ${result.name} from the ${result.template.name} template in ${result.dir} (${result.files.length} files).`,
    '',
    'Next:',
    ...result.next.map((command) => `  ${command}`),
    '',
  ].join('\n');
}

/** `kiln init <dir> --template <name>`: a new project (or plugin package) from a template. */
export const initCommand: Command = {
  name: 'init',
  description: 'create a project or a plugin package from a template (kiln init --list shows them)',
  needsConfig: false,
  arguments: [{ name: 'dir', description: 'directory to create (must be empty unless --force)' }],
  options: [
    { flags: '-t, --template <name>', description: 'template to copy', default: 'image-classification' },
    { flags: '--name <name>', description: 'package name (default: the directory name)' },
    { flags: '--force', description: 'write into a non-empty directory' },
    { flags: '--list', description: 'list the templates and exit' },
  ],
  async run(args, options, { cwd, stdout }) {
    if (options.list) {
      stdout.write(`${formatTemplateList(listTemplates())}\n`);
      return 0;
    }
    if (!args[0]) {
      throw new UsageError('kiln init needs a directory', {
        where: 'kiln init',
        hint: `kiln init my-app --template <name>, with one of:\n${formatTemplateList(listTemplates())}`,
      });
    }
    const result = initProject({ dir: args[0], template: String(options.template), name: options.name as string | undefined, force: Boolean(options.force), cwd });
    stdout.write(formatInitResult(result));
    return 0;
  },
};
