/**
 * The interactive docs at `/docs` (Swagger UI from the package), in real headless Chromium: every
 * operation is shown, and the page loads nothing from any other host (the service may run offline).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestApp } from '../helpers/app.js';
import { openPage } from './browser.js';

/** Any absolute http(s) URL: the docs page and its initializer must name none (they would be a CDN or a tracker). */
const ABSOLUTE_URL = /https?:\/\/[^\s'"`)]+/g;

describe('API docs at /docs', () => {
  it('page and initializer reference no other host', async (t) => {
    const app = await startTestApp(t);
    const page = await app.request('/docs/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    const scripts = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(scripts.length >= 3, 'the bundle, the preset and the initializer are loaded as files');
    assert.equal(/<script(?![^>]*\bsrc=)[^>]*>/.test(html), false, 'no inline script');
    const initializer = await app.request('/docs/static/swagger-initializer.js');
    assert.equal(initializer.status, 200);
    const js = await initializer.text();
    const urls = [...html.matchAll(ABSOLUTE_URL), ...js.matchAll(ABSOLUTE_URL)]
      .map((m) => m[0])
      // A comment in the initializer links to an explanation; comments are never fetched.
      .filter((url) => !js.includes(`// If you get "parameter 1 is not of type 'Node'" error, see ${url}`));
    assert.deepEqual(urls, []);
    assert.match(js, /validatorUrl: null/, 'no validator badge (it would load an image from another host)');
    for (const src of scripts) {
      const asset = await app.request(new URL(src, `${app.baseUrl}/docs/`).pathname);
      assert.equal(asset.status, 200, `${src} is served from the package`);
      // Read to the end: an unread body keeps its connection busy, and closing the app waits for it.
      await asset.arrayBuffer();
    }
  });

  it('renders every operation in headless Chromium without leaving the machine', async (t) => {
    const { page, problems, requests, failedResponses } = await openPage(t);
    const app = await startTestApp(t);
    await page.goto(`${app.baseUrl}/docs`);
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'itemstore Items API' }).waitFor();
    const operations = page.locator('.swagger-ui .opblock');
    await operations.nth(6).waitFor();
    const document = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const expected = Object.entries(document.paths)
      .flatMap(([route, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${route}`))
      .sort();
    const shown = (
      await operations.evaluateAll((blocks) =>
        blocks.map((block) => {
          const method = block.querySelector('.opblock-summary-method')?.textContent ?? '';
          const route = block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '';
          return `${method} ${route}`;
        }),
      )
    ).sort();
    assert.deepEqual(shown, expected);
    assert.ok(
      requests.every((url) => url.startsWith(app.baseUrl)),
      `only this server was asked: ${requests.join(', ')}`,
    );
    assert.deepEqual(problems, [], 'no console errors, CSP violations or external requests');
    assert.deepEqual(failedResponses, []);
  });
});
