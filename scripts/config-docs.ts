/**
 * `npm run config:docs`: writes the README's configuration table and `.env.example` from
 * {@link VARIABLES} in `src/config.ts`, the one place a variable, its default and its meaning are
 * written. `test/runtime/config-docs.test.ts` fails when either file disagrees with it.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VARIABLES, type Variable } from '../src/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const README_PATH = path.join(ROOT, 'README.md');
export const ENV_EXAMPLE_PATH = path.join(ROOT, '.env.example');

/** The README lines around the generated table (HTML comments: invisible once rendered). */
const TABLE_START = '<!-- configuration table: written by `npm run config:docs` from src/config.ts -->';
const TABLE_END = '<!-- end of configuration table -->';

const variables = () => Object.entries(VARIABLES) as [string, Variable<unknown>][];

/** The default as the README shows it: code for a text, "unset" for none, else the rule in words. */
function defaultCell({ default: value }: Variable<unknown>): string {
  if (typeof value !== 'string') return value.rule;
  return value === '' ? 'unset' : `\`${value}\``;
}

/** The Markdown table (Prettier's compact form, so `npm run format` leaves it as written). */
export function configurationTable(): string {
  const rows = variables().map(([name, variable]) => `| \`${name}\` | ${defaultCell(variable)} | ${variable.doc} |`);
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** `readme` with the text between the table markers replaced by {@link configurationTable}. */
export function readmeWithTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the lines ${TABLE_START} … ${TABLE_END}`);
  return `${readme.slice(0, start + TABLE_START.length)}\n\n${configurationTable()}\n\n${readme.slice(end)}`;
}

const plain = (markdown: string) => markdown.replaceAll('`', '');

/**
 * `.env.example`: every variable commented out with its default, so a copy changes nothing until a
 * line is uncommented (a copied `DATABASE_URL` would otherwise override `DB_HOST` set in the environment).
 */
export function envExample(): string {
  const header = [
    '# itemstore configuration: every variable the service reads, with its default.',
    '# Written by `npm run config:docs` from src/config.ts; change the variables there.',
    '#',
    '# Copy to .env and uncomment what you change: the service reads .env from its working folder at',
    '# start. A variable set in the environment wins over .env, even when set to empty. An empty value',
    '# counts as unset (LOG_DIR excepted: empty turns the log file off). A bad value stops the process',
    '# with one line naming the variable.',
  ];
  const entries = variables().map(([name, variable]) => {
    const value = variable.default;
    return typeof value === 'string'
      ? `# ${plain(variable.doc)}\n# ${name}=${value}`
      : `# ${plain(variable.doc)}\n# default: ${plain(value.rule)}\n# ${name}=`;
  });
  return `${[header.join('\n'), ...entries].join('\n\n')}\n`;
}

function main(): void {
  const readme = fs.readFileSync(README_PATH, 'utf8');
  for (const [file, before, after] of [
    [README_PATH, readme, readmeWithTable(readme)],
    [ENV_EXAMPLE_PATH, fs.existsSync(ENV_EXAMPLE_PATH) ? fs.readFileSync(ENV_EXAMPLE_PATH, 'utf8') : '', envExample()],
  ] as const) {
    if (before === after) continue;
    fs.writeFileSync(file, after);
    console.log(`wrote ${path.relative(ROOT, file)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
