/**
 * The OpenAPI document: `npm run openapi` writes what `GET /openapi.json` serves; a real validator
 * accepts it; its operations are exactly the server's routes (hidden helpers aside) and answer as
 * documented; its examples are what the server really says; and TypeScript types generated from it
 * with openapi-typescript type-check a typed client, which then talks to the running server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import { Value } from 'typebox/value';
import type { OpenAPIV3_1 } from 'openapi-types';
import { scratchDir, startTestApp, type TestApp } from '../helpers/app.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const TYPED_CLIENT = path.join(ROOT, 'test/openapi/typed-client.ts');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Document = OpenAPIV3_1.Document;

interface TestItem {
  id: number;
  product: string;
  price: number;
}

/** What this test uses of typed-client.ts (whose own types exist only once the document's types are generated). */
interface TypedClient {
  list(query?: Record<string, string>): Promise<TestItem[]>;
  create(
    body: Omit<TestItem, 'id'>,
  ): Promise<{ ok: true; item: TestItem } | { ok: false; status: 400; errors: unknown }>;
  partialUpdate(id: number, body: Partial<Omit<TestItem, 'id'>>): Promise<unknown>;
  destroy(id: number): Promise<void>;
}

async function served(app: TestApp): Promise<Document> {
  const response = await app.request('/openapi.json');
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return (await response.json()) as Document;
}

function operations(
  document: Document,
): Array<{ method: string; path: string; operation: OpenAPIV3_1.OperationObject }> {
  return Object.entries(document.paths ?? {}).flatMap(([route, item]) =>
    METHODS.filter((method) => item?.[method]).map((method) => ({ method, path: route, operation: item![method]! })),
  );
}

/** Runs tsc on one project; resolves to its output and exit code (never throws on type errors). */
async function typeCheck(tsconfig: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [
      path.join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      tsconfig,
      '--pretty',
      'false',
    ]);
    return { code: 0, output: stdout };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? 1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

function writeTsconfig(dir: string, name: string, files: string[], generated: string): string {
  const file = path.join(dir, name);
  const config = {
    extends: path.join(ROOT, 'tsconfig.json'),
    compilerOptions: {
      noEmit: true,
      rootDir: '/',
      typeRoots: [path.join(ROOT, 'node_modules/@types')],
      types: ['node'],
      paths: { 'itemstore-openapi': [generated] },
    },
    files,
    include: [],
  };
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

describe('OpenAPI document', () => {
  it('npm run openapi writes the document /openapi.json serves, and a real validator accepts it', async (t) => {
    const dir = scratchDir(t);
    const output = path.join(dir, 'openapi.json');
    const { stdout } = await run('npm', ['run', '--silent', 'openapi', '--', output], { cwd: ROOT });
    assert.match(stdout, /Wrote .*openapi\.json \(OpenAPI 3\.1\.0, \d+ paths\)/);
    const written = JSON.parse(fs.readFileSync(output, 'utf8')) as Document;
    const app = await startTestApp(t);
    assert.deepEqual(written, await served(app));
    assert.equal(written.openapi, '3.1.0');

    const validated = (await SwaggerParser.validate(structuredClone(written) as never)) as Document;
    assert.equal(validated.info.title, 'itemstore Items API');
    // The validator really validates: a response without its required description is refused.
    const broken = structuredClone(written);
    delete (broken.paths!['/api/items/']!.get!.responses![200] as Partial<OpenAPIV3_1.ResponseObject>).description;
    await assert.rejects(SwaggerParser.validate(broken as never), /description/);
  });

  it('lists exactly the routes the server has, hidden helpers aside, each fully described', async (t) => {
    const app = await startTestApp(t);
    const document = await served(app);
    // OpenAPI leaves HEAD implicit (it mirrors GET); hidden routes are 405 catch-alls, slash
    // redirects, OPTIONS, static files and the docs themselves.
    const documented = operations(document)
      .map(({ method, path: route }) => `${method.toUpperCase()} ${route}`)
      .sort();
    assert.deepEqual(documented, [
      'DELETE /api/items/{id}/',
      'GET /api/',
      'GET /api/items/',
      'GET /api/items/{id}/',
      'GET /healthz',
      'GET /metrics',
      'GET /readyz',
      'PATCH /api/items/{id}/',
      'POST /api/items/',
      'PUT /api/items/{id}/',
    ]);
    for (const { method, path: route } of operations(document)) {
      const url = route.replace(/\{(\w+)\}/g, ':$1');
      assert.ok(app.app.hasRoute({ method: method.toUpperCase(), url }), `${method} ${route} is a route`);
    }
    assert.ok(app.app.hasRoute({ method: 'OPTIONS', url: '/api/items/:id/' }));

    const ids = new Set<string>();
    for (const { method, path: route, operation } of operations(document)) {
      const name = `${method.toUpperCase()} ${route}`;
      assert.ok(operation.operationId && !ids.has(operation.operationId), `${name}: unique operationId`);
      ids.add(operation.operationId);
      assert.ok(operation.summary, `${name}: summary`);
      assert.ok(operation.tags?.length, `${name}: tags`);
      const responses = operation.responses as Record<string, OpenAPIV3_1.ResponseObject>;
      for (const [status, response] of Object.entries(responses)) {
        assert.ok(
          response.description && response.description !== 'Default Response',
          `${name} ${status}: description`,
        );
      }
      if (!route.startsWith('/api/items/')) continue;
      const expectedErrors = operation.requestBody
        ? ['400', '404', '406', '413', '415', '503']
        : ['400', '404', '406', '503'];
      for (const status of expectedErrors) assert.ok(responses[status], `${name}: documents ${status}`);
      for (const response of Object.values(responses)) {
        const media = response.content?.['application/json'];
        if (media) assert.ok(media.examples && Object.keys(media.examples).length, `${name}: response examples`);
      }
      assert.ok(responses['503']?.headers?.['Retry-After'], `${name}: 503 names Retry-After`);
      const body = operation.requestBody as OpenAPIV3_1.RequestBodyObject | undefined;
      if (body) {
        assert.deepEqual(Object.keys(body.content), [
          'application/json',
          'application/x-www-form-urlencoded',
          'multipart/form-data',
        ]);
        for (const media of Object.values(body.content)) assert.ok(media.examples, `${name}: request examples`);
      }
    }
    const schemas = document.components?.schemas ?? {};
    assert.deepEqual(Object.keys(schemas).sort(), [
      'BadRequest',
      'Detail',
      'Item',
      'ItemList',
      'ItemPatch',
      'ItemWrite',
    ]);
    // Every component is used: referenced from an operation or from another component.
    const text = JSON.stringify(document);
    for (const name of Object.keys(schemas)) {
      assert.ok(text.includes(`"$ref":"#/components/schemas/${name}"`), `components.schemas.${name} is referenced`);
    }
    assert.deepEqual(schemas.Item!.required, ['id', 'product', 'price']);
    assert.equal((schemas.Item!.properties!.product as OpenAPIV3_1.SchemaObject).maxLength, 20);
    assert.deepEqual(document.servers, [
      { url: '/', description: 'This service (the host that serves this document)' },
    ]);
  });

  it('declares the HTML answers of the API and request bodies as the service accepts them', async (t) => {
    const app = await startTestApp(t);
    const document = (await SwaggerParser.dereference(await served(app))) as Document;
    for (const { method, path: route, operation } of operations(document)) {
      for (const [status, response] of Object.entries(
        operation.responses as Record<string, OpenAPIV3_1.ResponseObject>,
      )) {
        const types = Object.keys(response.content ?? {});
        if (route.startsWith('/api/') && types.includes('application/json')) {
          assert.ok(types.includes('text/html'), `${method} ${route} ${status}: the HTML view is declared`);
        } else {
          assert.ok(!types.includes('text/html') || route === '/healthz', `${method} ${route} ${status}: no HTML`);
        }
      }
    }
    const html = await app.request('/api/items/', { headers: { accept: 'text/html' } });
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    const missing = await app.request('/api/items/9/?format=api');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^text\/html/);

    // Each request example fits its own schema, and the service takes what the schema allows.
    for (const operationId of ['create', 'update', 'partial_update']) {
      const operation = operations(document).find((o) => o.operation.operationId === operationId)!.operation;
      const media = (operation.requestBody as OpenAPIV3_1.RequestBodyObject).content['application/json']!;
      for (const [name, example] of Object.entries(media.examples ?? {})) {
        const value = (example as OpenAPIV3_1.ExampleObject).value;
        assert.ok(Value.Check(media.schema as never, value), `${operationId} example ${name} fits its schema`);
      }
      if (operationId !== 'create') continue;
      for (const body of [
        { product: 'Apple', price: 100 },
        { product: 'Apple', price: '100' },
        { product: 123, price: 1 },
      ]) {
        assert.ok(Value.Check(media.schema as never, body), `${JSON.stringify(body)} fits the create schema`);
        const response = await app.request('/api/items/', { method: 'POST', json: body });
        assert.equal(response.status, 201, `${JSON.stringify(body)} is accepted`);
      }
      for (const body of [{ product: 'Apple', price: 'abc' }, { product: true, price: 1 }, { product: 'Apple' }]) {
        assert.ok(!Value.Check(media.schema as never, body), `${JSON.stringify(body)} does not fit the create schema`);
      }
    }
  });

  it('answers each operation as documented, and other methods with 405', async (t) => {
    const app = await startTestApp(t);
    const document = await served(app);
    const created = await app.request('/api/items/', { method: 'POST', json: { product: 'Apple', price: 100 } });
    const { id } = (await created.json()) as { id: number };
    const url = (route: string) => route.replace('{id}', String(id));
    // The API's URLs answer 405 (with Allow) to methods they do not serve, as DRF did.
    for (const [route, item] of Object.entries(document.paths ?? {}).filter(([route]) => route.startsWith('/api/'))) {
      for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
        if (item?.[method]) continue;
        const refused = await app.request(url(route), { method: method.toUpperCase() });
        assert.equal(refused.status, 405, `${method.toUpperCase()} ${route} is no operation: 405`);
        assert.ok(refused.headers.get('allow'), `${method.toUpperCase()} ${route}: Allow header`);
      }
    }
    // Destroy last, so the other operations find the item; bodies are the documented examples.
    const ordered = operations(document).sort((a, b) => Number(a.method === 'delete') - Number(b.method === 'delete'));
    for (const { method, path: route, operation } of ordered) {
      const media = operation.requestBody
        ? (operation.requestBody as OpenAPIV3_1.RequestBodyObject).content['application/json']
        : undefined;
      const example = media ? (Object.values(media.examples ?? {})[0] as OpenAPIV3_1.ExampleObject).value : undefined;
      const response = await app.request(url(route), { method: method.toUpperCase(), json: example });
      const success = Object.keys(operation.responses ?? {}).filter((status) => status.startsWith('2'));
      assert.deepEqual(success, [String(response.status)], `${method.toUpperCase()} ${route} → ${response.status}`);
    }
  });

  it('shows examples that are what the server really answers', async (t) => {
    const app = await startTestApp(t);
    const document = await served(app);
    const create = document.paths!['/api/items/']!.post!;
    const examples = (create.responses as Record<string, OpenAPIV3_1.ResponseObject>)['400']!.content![
      'application/json'
    ]!.examples!;
    const values = Object.values(examples).map((example) => (example as OpenAPIV3_1.ExampleObject).value);
    const bodies = [
      '[]',
      '{}',
      JSON.stringify({ product: 'x'.repeat(21), price: -1 }),
      JSON.stringify({ price: 99999999999 }),
      'nope',
    ];
    for (const body of bodies) {
      const response = await app.request('/api/items/', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      assert.equal(response.status, 400);
      const answer: unknown = await response.json();
      assert.ok(
        values.some((value) => JSON.stringify(value) === JSON.stringify(answer)),
        `example for ${body}: ${JSON.stringify(answer)}`,
      );
    }
    const request = (create.requestBody as OpenAPIV3_1.RequestBodyObject).content['application/json']!.examples!;
    for (const example of Object.values(request) as OpenAPIV3_1.ExampleObject[]) {
      const response = await app.request('/api/items/', { method: 'POST', json: example.value });
      assert.equal(response.status, 201, `request example ${JSON.stringify(example.value)} is accepted`);
    }
  });

  it('generates TypeScript types that type-check a typed client, which then talks to the server', async (t) => {
    const app = await startTestApp(t);
    const document = await served(app);
    const dir = scratchDir(t);
    const generated = path.join(dir, 'itemstore-openapi.d.ts');
    fs.writeFileSync(generated, astToString(await openapiTS(document as never)));
    const types = fs.readFileSync(generated, 'utf8');
    assert.match(types, /"\/api\/items\/\{id\}\/": \{/);
    assert.match(types, /Item: \{/);

    // One tsc run checks both files: the client must type-check against the generated types, and
    // a client that misuses them must not, so every error must be in misuse.ts and one must be.
    const misuse = path.join(dir, 'misuse.ts');
    fs.writeFileSync(
      misuse,
      `import type { Item } from '${TYPED_CLIENT.replace(/\.ts$/, '.js')}';\nexport const item: Item = { id: 'one', product: 'Apple', price: 100 };\n`,
    );
    const checked = await typeCheck(writeTsconfig(dir, 'tsconfig.json', [TYPED_CLIENT, misuse], generated));
    assert.notEqual(checked.code, 0);
    const errors = checked.output.split('\n').filter((line) => /error TS\d+/.test(line));
    assert.match(errors.join('\n'), /misuse\.ts\(2,\d+\): error TS2322/);
    assert.deepEqual(
      errors.filter((line) => !/(^|\/)misuse\.ts\(/.test(line)),
      [],
      `tsc reported errors outside misuse.ts:\n${checked.output}`,
    );

    // Loaded at run time only: `npm run typecheck` leaves typed-client.ts to the tsc run above.
    const { itemsClient } = (await import(pathToFileURL(TYPED_CLIENT).href)) as {
      itemsClient: (baseUrl: string) => TypedClient;
    };
    const client = itemsClient(app.baseUrl);
    const created = await client.create({ product: 'Typed apple', price: 42 });
    assert.ok(created.ok);
    assert.deepEqual(await client.list({ search: 'typed' }), [created.item]);
    const refused = await client.partialUpdate(created.item.id, { price: -1 });
    assert.deepEqual(refused, {
      ok: false,
      status: 400,
      errors: { price: ['Ensure this value is greater than or equal to 0.'] },
    });
    await client.destroy(created.item.id);
    assert.deepEqual(await client.list(), []);
  });
});
