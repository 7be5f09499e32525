/**
 * Reads a Terraform configuration offline so tests can assert its properties without a
 * `terraform` binary or provider downloads.
 *
 * Every `*.tf` file of a folder is parsed with `@cdktf/hcl2json` (HashiCorp's HCL parser built
 * to WASM) and merged into one {@link TerraformConfig}. In the parsed form blocks are arrays of
 * objects (`resource.aws_vpc.main[0]`) and every expression that is not a literal stays a string
 * such as `"${aws_vpc.main.id}"`. {@link resolve} turns `"${var.x}"` into the variable's
 * `default` and `"${local.x}"` into the local's value; {@link references} lists the addresses an
 * expression refers to, following locals. {@link formatProblems} checks the layout rules of
 * `terraform fmt` (indentation and `=` alignment) where no terraform binary exists.
 *
 * @module
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The part of `@cdktf/hcl2json` used here (a CommonJS package). */
interface Hcl2Json {
  /** Parses one file's HCL to its JSON form; rejects with `file:line,column: message` on a syntax error. */
  parse(filename: string, contents: string): Promise<Record<string, unknown>>;
  /** Addresses referred to by a `"${…}"` expression string. */
  getReferencesInExpression(filename: string, expression: string): Promise<Array<{ value: string }>>;
}

// Loaded through require, not `import`: the package's typings carry `/// <reference lib="dom" />`,
// which would pull the DOM library into the whole program and change Node's `fetch` types.
const { parse, getReferencesInExpression } = createRequire(import.meta.url)('@cdktf/hcl2json') as Hcl2Json;

/**
 * Parses one HCL text with `@cdktf/hcl2json`.
 *
 * @throws {Error} `filename:line,column: message` on a syntax error.
 */
export function parseHcl(filename: string, contents: string): Promise<Record<string, unknown>> {
  return parse(filename, contents);
}

/** One parsed HCL block body: attribute names to values, nested block types to arrays of bodies. */
export type Block = Record<string, unknown>;

/** A whole Terraform configuration (one folder), merged over its files. */
export interface TerraformConfig {
  /** File name → source text, for every `.tf` file of the folder. */
  readonly files: ReadonlyMap<string, string>;
  /** `"type.name"` → resource body, e.g. `"aws_vpc.main"`. */
  readonly resources: ReadonlyMap<string, Block>;
  /** `"type.name"` → data source body, e.g. `"aws_iam_policy_document.deploy"`. */
  readonly data: ReadonlyMap<string, Block>;
  readonly variables: ReadonlyMap<string, Block>;
  readonly outputs: ReadonlyMap<string, Block>;
  readonly modules: ReadonlyMap<string, Block>;
  /** Provider name → its configuration blocks (several when aliased). */
  readonly providers: ReadonlyMap<string, Block[]>;
  /** Every `terraform {}` block. */
  readonly terraform: readonly Block[];
  /** All `locals {}` blocks merged. */
  readonly locals: Readonly<Record<string, unknown>>;
}

function mergeNamed(target: Map<string, Block>, kind: string, byType: unknown, file: string): void {
  for (const [type, byName] of Object.entries((byType ?? {}) as Record<string, Record<string, Block[]>>)) {
    for (const [name, bodies] of Object.entries(byName)) {
      const key = `${type}.${name}`;
      if (target.has(key)) throw new Error(`${file}: duplicate ${kind} ${key}`);
      target.set(key, firstBody(bodies, `${kind} ${key}`));
    }
  }
}

function firstBody(bodies: unknown, what: string): Block {
  if (!Array.isArray(bodies) || bodies.length !== 1) throw new Error(`${what}: expected one block body`);
  return bodies[0] as Block;
}

/**
 * Parses every `*.tf` file in `dir` and merges them.
 *
 * @throws {Error} naming the file (and, from the parser, the line) when a file does not parse,
 *   or when two files declare the same resource, data source, variable, output, module or local.
 */
export async function loadTerraform(dir: string): Promise<TerraformConfig> {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.tf')).sort();
  const files = new Map<string, string>();
  const resources = new Map<string, Block>();
  const data = new Map<string, Block>();
  const variables = new Map<string, Block>();
  const outputs = new Map<string, Block>();
  const modules = new Map<string, Block>();
  const providers = new Map<string, Block[]>();
  const terraform: Block[] = [];
  const locals: Record<string, unknown> = {};
  for (const name of names) {
    const text = await readFile(path.join(dir, name), 'utf8');
    files.set(name, text);
    let parsed: Record<string, unknown>;
    try {
      parsed = await parse(name, text);
    } catch (error) {
      throw new Error(`${name} does not parse: ${(error as Error).message}`, { cause: error });
    }
    mergeNamed(resources, 'resource', parsed.resource, name);
    mergeNamed(data, 'data', parsed.data, name);
    for (const [kind, target] of [
      ['variable', variables],
      ['output', outputs],
      ['module', modules],
    ] as const) {
      for (const [key, bodies] of Object.entries((parsed[kind] ?? {}) as Record<string, Block[]>)) {
        if (target.has(key)) throw new Error(`${name}: duplicate ${kind} ${key}`);
        target.set(key, firstBody(bodies, `${kind} ${key}`));
      }
    }
    for (const [key, bodies] of Object.entries((parsed.provider ?? {}) as Record<string, Block[]>)) {
      providers.set(key, [...(providers.get(key) ?? []), ...bodies]);
    }
    terraform.push(...((parsed.terraform ?? []) as Block[]));
    for (const body of (parsed.locals ?? []) as Block[]) {
      for (const [key, value] of Object.entries(body)) {
        if (key in locals) throw new Error(`${name}: duplicate local ${key}`);
        locals[key] = value;
      }
    }
  }
  return { files, resources, data, variables, outputs, modules, providers, terraform, locals };
}

/** The resource `type.name`; throws an error naming it when the configuration lacks it. */
export function resource(tf: TerraformConfig, type: string, name: string): Block {
  const body = tf.resources.get(`${type}.${name}`);
  if (!body) throw new Error(`resource ${type}.${name} is missing`);
  return body;
}

/** The data source `type.name`; throws when missing. */
export function dataSource(tf: TerraformConfig, type: string, name: string): Block {
  const body = tf.data.get(`${type}.${name}`);
  if (!body) throw new Error(`data ${type}.${name} is missing`);
  return body;
}

/** Every resource of `type` as `[name, body]` pairs. */
export function resourcesOfType(tf: TerraformConfig, type: string): Array<[string, Block]> {
  const prefix = `${type}.`;
  return [...tf.resources]
    .filter(([key]) => key.startsWith(prefix))
    .map(([key, body]) => [key.slice(prefix.length), body]);
}

/** Every body of the nested block `type` (e.g. `health_check`); empty when there is none. */
export function blocks(body: Block, type: string): Block[] {
  const value = body[type];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${type} is an attribute, not a block`);
  return value as Block[];
}

/** The one nested block `type`; throws when there are none or several. */
export function block(body: Block, type: string): Block {
  const all = blocks(body, type);
  if (all.length !== 1) throw new Error(`expected exactly one ${type} block, found ${all.length}`);
  return all[0] as Block;
}

const WHOLE_REFERENCE = /^\$\{(var|local)\.([A-Za-z0-9_-]+)\}$/;

/**
 * Resolves a value that is exactly one `"${var.x}"` (to the variable's `default`) or
 * `"${local.x}"` (to the local's value), repeatedly; any other value is returned unchanged.
 * A variable without a default stays `"${var.x}"`.
 */
export function resolve(tf: TerraformConfig, value: unknown, depth = 0): unknown {
  if (typeof value !== 'string' || depth > 20) return value;
  const match = WHOLE_REFERENCE.exec(value);
  if (!match) return value;
  const [, kind, name] = match as unknown as [string, string, string];
  if (kind === 'local') {
    if (!(name in tf.locals)) throw new Error(`local.${name} is not defined`);
    return resolve(tf, tf.locals[name], depth + 1);
  }
  const variable = tf.variables.get(name);
  if (!variable) throw new Error(`var.${name} is not declared`);
  return 'default' in variable ? resolve(tf, variable.default, depth + 1) : value;
}

/** {@link resolve} applied through arrays and objects. */
export function resolveDeep(tf: TerraformConfig, value: unknown): unknown {
  const resolved = resolve(tf, value);
  if (Array.isArray(resolved)) return resolved.map((item) => resolveDeep(tf, item));
  if (resolved !== null && typeof resolved === 'object') {
    return Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, resolveDeep(tf, v)]));
  }
  return resolved;
}

/** Every string inside a value (arrays and objects walked). */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/**
 * The addresses a value's expressions refer to (`aws_vpc.main.id`, `var.x`, `local.y`,
 * `data.aws_iam_policy_document.z.json`), with the references of every local it uses added,
 * recursively. Index steps appear as `.0` (`master_user_secret.0.secret_arn`).
 */
export async function references(tf: TerraformConfig, value: unknown): Promise<string[]> {
  const found = new Set<string>();
  const seenLocals = new Set<string>();
  const walk = async (v: unknown): Promise<void> => {
    for (const text of strings(v)) {
      if (!text.includes('${')) continue;
      for (const ref of await getReferencesInExpression('expression.tf', text)) {
        found.add(ref.value);
        const local = /^local\.([A-Za-z0-9_-]+)/.exec(ref.value)?.[1];
        if (local && !seenLocals.has(local) && local in tf.locals) {
          seenLocals.add(local);
          await walk(tf.locals[local]);
        }
      }
    }
  };
  await walk(value);
  return [...found].sort();
}

/** Whether `refs` contains `address` itself or one of its attributes (`address.…`). */
export function refersTo(refs: readonly string[], address: string): boolean {
  return refs.some((ref) => ref === address || ref.startsWith(`${address}.`));
}

/** The resource/data addresses (`type.name`, `data.type.name`) among `refs`, attributes dropped. */
export function resourceAddresses(refs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const ref of refs) {
    const parts = ref.split('.');
    if (parts[0] === 'var' || parts[0] === 'local' || parts[0] === 'count' || parts[0] === 'each') continue;
    out.add(parts[0] === 'data' ? parts.slice(0, 3).join('.') : parts.slice(0, 2).join('.'));
  }
  return [...out].sort();
}

/** How many instances a resource body declares: its `count`, the size of its `for_each`, or 1. */
export function instanceCount(tf: TerraformConfig, body: Block): number {
  if ('count' in body) {
    const count = resolve(tf, body.count);
    if (typeof count !== 'number') throw new Error(`count ${String(body.count)} is not a literal number`);
    return count;
  }
  if ('for_each' in body) {
    const each = resolve(tf, body.for_each);
    if (Array.isArray(each)) return each.length;
    if (each !== null && typeof each === 'object') return Object.keys(each).length;
    throw new Error(`for_each ${String(body.for_each)} is not a literal map or list`);
  }
  return 1;
}

/**
 * Expands a `for_each` over a literal map (or a local holding one) into one body per key, with
 * `${each.key}` and `${each.value}` substituted in its strings. A body without `for_each` is
 * returned alone.
 */
export function expandForEach(tf: TerraformConfig, body: Block): Block[] {
  if (!('for_each' in body)) return [body];
  const each = resolve(tf, body.for_each);
  if (each === null || typeof each !== 'object' || Array.isArray(each)) {
    throw new Error(`for_each ${String(body.for_each)} is not a literal map`);
  }
  const substitute = (v: unknown, key: string, value: string): unknown => {
    if (typeof v === 'string') return v.replaceAll('${each.key}', key).replaceAll('${each.value}', value);
    if (Array.isArray(v)) return v.map((item) => substitute(item, key, value));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, substitute(item, key, value)]));
    }
    return v;
  };
  return Object.entries(each as Record<string, unknown>).map(
    ([key, value]) => substitute(body, key, String(value)) as Block,
  );
}

interface LineShape {
  /** Bracket depth at the start of the line (template `${}` braces not counted). */
  depth: number;
  /** Column of the attribute's `=` when the line is a single-line `name = value`. */
  assignColumn: number | undefined;
  /** Column just after the last character of the attribute name. */
  keyEnd: number;
}

/** Splits HCL text into lines with their bracket depth and attribute `=` column (see hclwrite). */
function shapeLines(text: string): LineShape[] {
  const shapes: LineShape[] = [];
  let depth = 0;
  // Stack of contexts: 'string' inside "…", a number = depth marker of an open ${ } template.
  const stack: Array<'string' | { templateDepth: number }> = [];
  let templateBraces = 0;
  for (const line of text.split('\n')) {
    const start = depth;
    let firstEq: number | undefined;
    let bracketsAfterEq = 0;
    let lastTokenEnd = 0;
    let sawToken = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i] as string;
      const top = stack[stack.length - 1];
      if (top === 'string') {
        if (ch === '\\') i++;
        else if (ch === '"') stack.pop();
        else if ((ch === '$' || ch === '%') && line[i + 1] === '{') {
          stack.push({ templateDepth: templateBraces });
          templateBraces++;
          i++;
          if (firstEq !== undefined) bracketsAfterEq++;
        }
        continue;
      }
      if (ch === '#' || (ch === '/' && line[i + 1] === '/')) break;
      if (ch === '"') {
        stack.push('string');
        if (firstEq === undefined) lastTokenEnd = line.indexOf('"', i + 1) + 1 || line.length;
        sawToken = true;
        continue;
      }
      if (top && typeof top === 'object') {
        if (ch === '{') templateBraces++;
        else if (ch === '}') {
          templateBraces--;
          if (templateBraces === top.templateDepth) {
            stack.pop();
            if (firstEq !== undefined) bracketsAfterEq--;
          }
        }
        continue;
      }
      if ('{[('.includes(ch)) {
        depth++;
        if (firstEq !== undefined) bracketsAfterEq++;
      } else if ('}])'.includes(ch)) {
        depth--;
        if (firstEq !== undefined) bracketsAfterEq--;
      } else if (ch === '=' && firstEq === undefined && sawToken) {
        const prev = line[i - 1] ?? '';
        const next = line[i + 1] ?? '';
        if (!'=!<>'.includes(prev) && next !== '=' && next !== '>') firstEq = i;
      }
      if (ch.trim() !== '') {
        sawToken = true;
        if (firstEq === undefined && ch !== '=') lastTokenEnd = i + 1;
      }
    }
    const isAssign = firstEq !== undefined && bracketsAfterEq === 0 && !/^\s*[{[(]/.test(line);
    shapes.push({ depth: start, assignColumn: isAssign ? firstEq : undefined, keyEnd: lastTokenEnd });
  }
  return shapes;
}

/**
 * Layout differences from what `terraform fmt` would write: tabs, trailing spaces, CRLF,
 * indentation other than two spaces per nesting level, and `=` of consecutive single-line
 * attributes not aligned one space after the longest name (hclwrite's rule: an attribute whose
 * value opens a bracket it does not close on the same line, a blank line, a comment or a block
 * line ends an alignment group). Heredocs are not supported and reported.
 *
 * @returns `"line N: problem"` strings; empty when the text is formatted.
 */
export function formatProblems(text: string): string[] {
  const problems: string[] = [];
  if (text.includes('\r')) problems.push('CRLF line endings');
  if (!text.endsWith('\n') || text.endsWith('\n\n')) problems.push('file must end with exactly one newline');
  const lines = text.split('\n');
  const shapes = shapeLines(text);
  let group: number[] = [];
  const closeGroup = (): void => {
    if (group.length === 0) return;
    const want = Math.max(...group.map((i) => (shapes[i] as LineShape).keyEnd)) + 1;
    for (const i of group) {
      const shape = shapes[i] as LineShape;
      if (shape.assignColumn !== want) {
        problems.push(
          `line ${i + 1}: "=" at column ${(shape.assignColumn ?? 0) + 1}, terraform fmt puts it at ${want + 1}`,
        );
      }
      const after = (lines[i] as string).slice((shape.assignColumn ?? 0) + 1);
      if (!/^ \S/.test(after)) problems.push(`line ${i + 1}: exactly one space after "="`);
    }
    group = [];
  };
  lines.forEach((line, i) => {
    const shape = shapes[i] as LineShape;
    if (line.includes('\t')) problems.push(`line ${i + 1}: tab`);
    if (/\s+$/.test(line)) problems.push(`line ${i + 1}: trailing whitespace`);
    if (/<<-?[A-Z]/.test(line)) problems.push(`line ${i + 1}: heredoc (not checked by this formatter)`);
    if (line.trim() !== '') {
      const closes = /^\s*[}\])]/.test(line) ? 1 : 0;
      const want = 2 * (shape.depth - closes);
      const indent = line.length - line.trimStart().length;
      if (indent !== want) problems.push(`line ${i + 1}: indented ${indent}, want ${want}`);
    }
    if (shape.assignColumn === undefined) closeGroup();
    else group.push(i);
  });
  closeGroup();
  return problems;
}
