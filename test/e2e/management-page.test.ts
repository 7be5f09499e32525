/**
 * The management page at `/`, driven in real headless Chromium against the real app: create,
 * search, edit (with a validation error first), delete; after each step the API must agree.
 * Screenshots go to test-output/ (git-ignored).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { openPage } from './browser.js';
import type { Item } from '../helpers/item.js';

const OUTPUT_DIR = path.resolve(import.meta.dirname, '../../test-output');

async function apiItems(app: TestApp, query = ''): Promise<Item[]> {
  const response = await app.request(`/api/items/${query}`);
  assert.equal(response.status, 200);
  return (await response.json()) as Item[];
}

/** The id of the element holding keyboard focus. */
const focusedId = async (page: Page) => (await page.locator(':focus').getAttribute('id')) ?? '';

/** The `aria-label` of the element holding keyboard focus. */
const focusedLabel = async (page: Page) => (await page.locator(':focus').getAttribute('aria-label')) ?? '';

async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  const file = path.join(OUTPUT_DIR, name);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(fs.statSync(file).size > 1000, `${file} should hold a real picture`);
  return file;
}

describe('management page in headless Chromium', () => {
  it('creates, searches, edits (showing a validation error) and deletes an item, the API agreeing each time', async (t) => {
    const { page, problems, failedResponses } = await openPage(t);
    const app = await startTestApp(t);
    const seeded = await app.request('/api/items/', { method: 'POST', json: { product: 'Pear', price: 80 } });
    assert.equal(seeded.status, 201);
    const status = page.locator('#status');
    const caption = page.locator('#items-caption');

    await page.goto(`${app.baseUrl}/`);
    assert.equal(await page.title(), 'Items – itemstore');
    await caption.filter({ hasText: /^1 item$/ }).waitFor();
    assert.deepEqual(await page.locator('#items-body tr td:nth-child(2)').allTextContents(), ['Pear']);

    // Create, with the keyboard: type, Tab to the price, Enter submits.
    await page.getByLabel('Product', { exact: true }).fill('Test apple');
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'create-price');
    await page.keyboard.type('150');
    await page.keyboard.press('Enter');
    await status.filter({ hasText: /^Added “Test apple” \(id \d+\)\.$/ }).waitFor();
    await caption.filter({ hasText: /^2 items$/ }).waitFor();
    const created = (await apiItems(app)).find((item) => item.product === 'Test apple');
    assert.ok(created, 'the API lists the created item');
    assert.equal(created.price, 150);
    assert.equal(await focusedId(page), 'create-product', 'focus returns to the first field for the next item');
    assert.equal(await page.locator('#create-product').inputValue(), '', 'the form is cleared');

    // Search.
    await page.getByRole('searchbox', { name: 'Search products' }).fill('apple');
    await page.keyboard.press('Enter');
    await caption.filter({ hasText: '1 item matching “apple”' }).waitFor();
    await status.filter({ hasText: '1 item matches “apple”.' }).waitFor();
    const shown = await page.locator('#items-body tr td:nth-child(2)').allTextContents();
    assert.deepEqual(
      shown,
      (await apiItems(app, '?search=apple')).map((item) => item.product),
    );
    assert.deepEqual(shown, ['Test apple']);

    // Edit: a price below 0 is refused by the API; its message appears under the price field.
    const label = `“Test apple” (id ${created.id})`;
    await page.getByRole('button', { name: `Edit ${label}` }).click();
    const productInput = page.getByLabel(`Product of item ${created.id}`);
    const priceInput = page.getByLabel(`Price of item ${created.id}`);
    // The editor opens once the item (and its ETag) has been read.
    await productInput.waitFor();
    assert.equal(await focusedId(page), `edit-${created.id}-product`, 'focus moves into the editor');
    await productInput.fill('Green apple');
    await priceInput.fill('-5');
    await priceInput.press('Enter');
    const priceError = page.locator(`#edit-${created.id}-price-error`);
    await priceError.filter({ hasText: 'Ensure this value is greater than or equal to 0.' }).waitFor();
    assert.equal(await priceError.isVisible(), true);
    assert.equal(await priceInput.getAttribute('aria-invalid'), 'true');
    assert.match(
      (await priceInput.getAttribute('aria-describedby')) ?? '',
      new RegExp(`\\bedit-${created.id}-price-error\\b`),
    );
    assert.equal(
      await page.locator(`#edit-${created.id}-product-error`).isVisible(),
      false,
      'no error on the valid field',
    );
    assert.equal(await focusedId(page), `edit-${created.id}-price`, 'focus moves to the invalid field');
    await status
      .filter({ hasText: 'Saving the item failed. Price: Ensure this value is greater than or equal to 0.' })
      .waitFor();
    assert.equal(await status.getAttribute('aria-live'), 'polite');
    assert.deepEqual(await apiItems(app, `?product=Test%20apple`), [created], 'the API kept the item unchanged');
    await screenshot(page, 'management-page-validation-error.png');

    await priceInput.fill('175');
    await priceInput.press('Enter');
    await status.filter({ hasText: `Saved “Green apple” (id ${created.id}).` }).waitFor();
    assert.deepEqual(
      (await apiItems(app)).find((item) => item.id === created.id),
      { id: created.id, product: 'Green apple', price: 175 },
    );
    assert.equal(await focusedLabel(page), `Edit “Green apple” (id ${created.id})`, 'focus returns to the row');

    // Clear the search: both items listed, as the API lists them.
    await page.getByRole('button', { name: 'Clear' }).click();
    await caption.filter({ hasText: /^2 items$/ }).waitFor();
    assert.deepEqual(
      await page.locator('#items-body tr td:nth-child(2)').allTextContents(),
      (await apiItems(app)).map((item) => item.product),
    );
    await screenshot(page, 'management-page.png');

    // Delete: cancelling the confirmation keeps the item.
    const newLabel = `“Green apple” (id ${created.id})`;
    await page.getByRole('button', { name: `Delete ${newLabel}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete item?' });
    await dialog.waitFor();
    assert.equal(await focusedId(page), 'delete-cancel', 'the safe choice has focus');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await focusedLabel(page), `Delete ${newLabel}`);
    assert.equal((await apiItems(app)).length, 2, 'nothing deleted on cancel');

    await page.getByRole('button', { name: `Delete ${newLabel}` }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await status.filter({ hasText: `Deleted ${newLabel}.` }).waitFor();
    await caption.filter({ hasText: /^1 item$/ }).waitFor();
    assert.deepEqual(
      (await apiItems(app)).map((item) => item.product),
      ['Pear'],
    );
    assert.deepEqual(await page.locator('#items-body tr td:nth-child(2)').allTextContents(), ['Pear']);

    // A create with blank fields shows each field's message from the API.
    await page.getByRole('button', { name: 'Add item' }).click();
    await page.locator('#create-product-error').filter({ hasText: 'This field may not be blank.' }).waitFor();
    await page.locator('#create-price-error').filter({ hasText: 'A valid integer is required.' }).waitFor();
    assert.equal(await focusedId(page), 'create-product');
    assert.equal((await apiItems(app)).length, 1);

    assert.deepEqual(problems, [], 'no console errors, CSP violations or external requests');
    assert.deepEqual(
      failedResponses,
      [`PUT /api/items/${created.id}/ → 400`, 'POST /api/items/ → 400'],
      'only the two refused writes failed',
    );
  });
});
