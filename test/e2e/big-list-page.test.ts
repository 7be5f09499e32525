/**
 * The management page over 100,000 items in headless Chromium: the table renders a page of rows
 * and adds more as the last one scrolls into view; search asks the server (`?search=`); at a
 * phone's 390 px nothing overflows sideways, also with a row being edited. The timings are printed
 * as diagnostics (the targets are in BENCHMARKS.md); screenshots go to test-output/ (git-ignored).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Page } from 'playwright-core';
import { startTestApp } from '../helpers/app.js';
import { openPage } from './browser.js';

const OUTPUT_DIR = path.resolve(import.meta.dirname, '../../test-output');
const ITEMS = 100_000;
/** Ids with id % 400 = 7 are named `Zucchini <id>`: 250 of 100,000. */
const ZUCCHINI = ITEMS / 400;
const PAGE_ROWS = 200;

const rowCount = (page: Page) => page.locator('#items-body tr[data-id]').count();

/** Elements whose right edge passes the viewport's, and the document's own overflow. */
function sidewaysOverflow(page: Page): Promise<{ scrollWidth: number; width: number; over: string[] }> {
  // A string, evaluated in the page: the test's TypeScript has no DOM types.
  return page.evaluate(`(() => {
    const width = document.documentElement.clientWidth;
    const over = [...document.querySelectorAll('body *')]
      .filter((element) => element.getBoundingClientRect().right > width + 0.5)
      .map((element) => element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') + '.' + element.className);
    return { scrollWidth: document.documentElement.scrollWidth, width, over: over.slice(0, 10) };
  })()`);
}

describe('management page with 100,000 items (headless Chromium)', () => {
  it('renders a page of rows at once, adds more on scroll, searches on the server, fits 390 px', async (t) => {
    const { page, problems, requests } = await openPage(t);
    const app = await startTestApp(t);
    await sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${ITEMS})
      insert into myapi_item (product, price)
      select case when i % 400 = 7 then 'Zucchini ' || i else 'Item ' || i end, (i * 37) % 100000 from s`.execute(
      app.db.kysely,
    );
    const caption = page.locator('#items-caption');

    let started = Date.now();
    await page.goto(`${app.baseUrl}/`);
    await caption.filter({ hasText: new RegExp(`^${ITEMS} items$`) }).waitFor();
    await page.locator('#items-body tr[data-id="1"]').waitFor();
    t.diagnostic(`first render of ${ITEMS} items: ${Date.now() - started} ms`);
    assert.equal(await rowCount(page), PAGE_ROWS, 'one page of rows, not the whole list');
    const more = page.locator('#items-body tr.more');
    assert.match(await more.innerText(), /^Showing 200 of 100,000 items\.\s+Show 200 more$/);

    await more.scrollIntoViewIfNeeded();
    await page.locator(`#items-body tr[data-id="${PAGE_ROWS * 2}"]`).waitFor();
    assert.ok((await rowCount(page)) >= PAGE_ROWS * 2, 'scrolling to the end adds the next rows');

    started = Date.now();
    await page.getByLabel('Search products').fill('zucchini');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await caption.filter({ hasText: `${ZUCCHINI} items matching “zucchini”` }).waitFor();
    t.diagnostic(`search among ${ITEMS} items: ${Date.now() - started} ms`);
    assert.ok(
      requests.some((url) => url.endsWith('/api/items/?search=zucchini')),
      'the server searches',
    );
    assert.equal(await rowCount(page), PAGE_ROWS);
    assert.equal(await page.locator('#items-body tr[data-id="7"] td.product').innerText(), 'Zucchini 7');
    await more.scrollIntoViewIfNeeded();
    await page
      .locator('#items-body tr[data-id]')
      .nth(ZUCCHINI - 1)
      .waitFor();
    assert.equal(await rowCount(page), ZUCCHINI);
    assert.equal(await more.count(), 0, 'no "more" row once everything is shown');

    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.getByRole('button', { name: 'Clear' }).click();
    await caption.filter({ hasText: new RegExp(`^${ITEMS} items$`) }).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate('window.scrollTo(0, 0)');
    let overflow = await sidewaysOverflow(page);
    assert.deepEqual(overflow.over, [], 'nothing passes the right edge at 390 px');
    assert.ok(
      overflow.scrollWidth <= overflow.width,
      `no sideways scroll (${overflow.scrollWidth} > ${overflow.width})`,
    );
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'big-list-390.png') });

    await page.getByRole('button', { name: 'Edit “Item 1” (id 1)' }).click();
    overflow = await sidewaysOverflow(page);
    assert.deepEqual(overflow.over, [], 'nothing passes the right edge while a row is edited');
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'big-list-390-editing.png') });
    assert.ok(fs.statSync(path.join(OUTPUT_DIR, 'big-list-390-editing.png')).size > 1000);

    assert.deepEqual(problems, [], 'no console errors, CSP violations or external requests');
  });
});
