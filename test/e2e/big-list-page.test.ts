/**
 * The management page over 100,000 items in headless Chromium: the list is read as it arrives and
 * its first rows are shown before the rest has arrived; the table holds a page of rows and adds more
 * as the last one scrolls into view; search asks the server (`?search=`) and cancels a list still
 * arriving; at a phone's 390 px nothing overflows sideways, also with a row being edited. The
 * page's own performance marks give the timings, printed as diagnostics (the targets are in
 * BENCHMARKS.md); screenshots go to test-output/ (git-ignored).
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
/** The page's `items-*` performance marks for `search`: ms since navigation start. */
async function marks(page: Page, search: string): Promise<Record<string, number>> {
  const entries = (await page.evaluate(`performance.getEntriesByType('mark')
    .filter((mark) => mark.name.startsWith('items-') && mark.detail && mark.detail.search === ${JSON.stringify(search)})
    .map((mark) => [mark.name, mark.startTime])`)) as [string, number][];
  return Object.fromEntries(entries);
}

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
  it('shows the first rows at once, adds more on scroll, searches on the server, fits 390 px', async (t) => {
    const { page, problems, requests } = await openPage(t, { routeLocal: false });
    const app = await startTestApp(t);
    await sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${ITEMS})
      insert into myapi_item (product, price)
      select case when i % 400 = 7 then 'Zucchini ' || i else 'Item ' || i end, (i * 37) % 100000 from s`.execute(
      app.db.kysely,
    );
    const caption = page.locator('#items-caption');

    await page.goto(`${app.baseUrl}/`);
    await caption.filter({ hasText: new RegExp(`^${ITEMS} items$`) }).waitFor();
    const load = await marks(page, '');
    t.diagnostic(
      `${ITEMS} items: first rows shown ${load['items-rows']!.toFixed(0)} ms after navigation start ` +
        `(${(load['items-rows']! - load['items-list']!).toFixed(0)} ms after the request), ` +
        `whole list read after ${load['items-complete']!.toFixed(0)} ms`,
    );
    assert.ok(load['items-rows']! <= load['items-complete']!);
    assert.equal(await rowCount(page), PAGE_ROWS, 'one page of rows, not the whole list');
    const more = page.locator('#items-body tr.more');
    assert.match(await more.innerText(), /^Showing 200 of 100,000 items\.\s+Show 200 more$/);

    await more.scrollIntoViewIfNeeded();
    await page.locator(`#items-body tr[data-id="${PAGE_ROWS * 2}"]`).waitFor();
    assert.ok((await rowCount(page)) >= PAGE_ROWS * 2, 'scrolling to the end adds the next rows');

    await page.getByLabel('Search products').fill('zucchini');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await caption.filter({ hasText: `${ZUCCHINI} items matching “zucchini”` }).waitFor();
    const found = await marks(page, 'zucchini');
    t.diagnostic(
      `search among ${ITEMS} items: first results shown after ${(found['items-rows']! - found['items-list']!).toFixed(0)} ms, ` +
        `all ${ZUCCHINI} read after ${(found['items-complete']! - found['items-list']!).toFixed(0)} ms`,
    );
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

  it('on a slow connection shows the first rows before the list has arrived, and a search cancels it', async (t) => {
    const { page, problems } = await openPage(t, { routeLocal: false });
    const app = await startTestApp(t);
    await sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${ITEMS})
      insert into myapi_item (product, price)
      select case when i % 400 = 7 then 'Zucchini ' || i else 'Item ' || i end, (i * 37) % 100000 from s`.execute(
      app.db.kysely,
    );
    // About 4 MB of list at 500 kB/s: it takes seconds to arrive, whatever the machine's speed.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: 500_000,
      uploadThroughput: -1,
    });
    const listUrl = `${app.baseUrl}/api/items/`;
    const finished: string[] = [];
    const failed: string[] = [];
    page.on('requestfinished', (request) => finished.push(request.url()));
    page.on('requestfailed', (request) => failed.push(request.url()));

    await page.goto(`${app.baseUrl}/`);
    await page.locator('#items-body tr[data-id="1"]').waitFor();
    assert.ok(!finished.includes(listUrl), 'the first rows are shown while the list is still arriving');
    assert.match(await page.locator('#items-caption').innerText(), /^Loading… [\d,]+ items so far$/);
    assert.equal(await rowCount(page), PAGE_ROWS);

    await page.getByLabel('Search products').fill('zucchini');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page
      .locator('#items-caption')
      .filter({ hasText: `${ZUCCHINI} items matching “zucchini”` })
      .waitFor();
    assert.ok(failed.includes(listUrl), 'the list still arriving was cancelled');
    assert.ok(!finished.includes(listUrl));
    assert.equal(await page.locator('#items-body tr[data-id="7"] td.product').innerText(), 'Zucchini 7');
    assert.deepEqual(problems, [], 'no console errors, CSP violations or external requests');
  });
});
