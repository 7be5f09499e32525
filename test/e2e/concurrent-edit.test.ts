/**
 * Two people editing one item on the management page, in two real Chromium pages against the real
 * app: the page sends the ETag it read in `If-Match`, so the second save is refused (412) instead of
 * silently overwriting the first, the page says who won and what the item holds now, and a second
 * Save then replaces it knowingly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { openPage } from './browser.js';

async function storedItem(app: TestApp, id: number): Promise<unknown> {
  return (await app.request(`/api/items/${id}/`)).json();
}

async function openEditor(page: Page, baseUrl: string, id: number): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByRole('button', { name: `Edit “Apple” (id ${id})` }).click();
  await page.getByLabel(`Price of item ${id}`).waitFor();
}

describe('management page: two editors on one item', () => {
  it('the later save gets a clear "someone else changed it" message, not a silent overwrite', async (t) => {
    const { context, page: first, problems, failedResponses } = await openPage(t);
    const second = await context.newPage();
    const app = await startTestApp(t);
    const seeded = await app.request('/api/items/', { method: 'POST', json: { product: 'Apple', price: 100 } });
    const { id } = (await seeded.json()) as { id: number };

    await openEditor(first, app.baseUrl, id);
    await openEditor(second, app.baseUrl, id);

    await first.getByLabel(`Price of item ${id}`).fill('110');
    await first.getByLabel(`Price of item ${id}`).press('Enter');
    await first
      .locator('#status')
      .filter({ hasText: `Saved “Apple” (id ${id}).` })
      .waitFor();
    assert.deepEqual(await storedItem(app, id), { id, product: 'Apple', price: 110 });

    await second.getByLabel(`Price of item ${id}`).fill('120');
    await second.getByLabel(`Price of item ${id}`).press('Enter');
    const conflict = second.locator(`#edit-${id}-form-error`);
    await conflict.filter({ hasText: 'someone else changed this item' }).waitFor();
    assert.equal(
      await conflict.textContent(),
      'Not saved: someone else changed this item while you were editing. It is now “Apple” at 110. ' +
        'Save again to replace that with your values, or Cancel to keep it.',
    );
    await second.locator('#status').filter({ hasText: 'Not saved: someone else changed this item' }).waitFor();
    assert.equal(await second.getByLabel(`Price of item ${id}`).inputValue(), '120', 'what was typed is kept');
    assert.deepEqual(await storedItem(app, id), { id, product: 'Apple', price: 110 }, 'the first save stands');

    // Saving again, now knowing, replaces it.
    await second.getByLabel(`Price of item ${id}`).press('Enter');
    await second
      .locator('#status')
      .filter({ hasText: `Saved “Apple” (id ${id}).` })
      .waitFor();
    assert.deepEqual(await storedItem(app, id), { id, product: 'Apple', price: 120 });

    assert.deepEqual(problems, [], 'no console errors, CSP violations or external requests');
    assert.deepEqual(failedResponses, [], 'the first page saw no refused request');
  });
});
