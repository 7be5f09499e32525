/**
 * The management page: list, search, create, edit (inline) and delete items through the JSON API.
 *
 * Accessibility: every control has a label; the API's validation messages are shown under their
 * field, linked with `aria-describedby` and `aria-invalid`, and the first invalid field gets focus;
 * outcomes are announced in the `role="status"` region; focus goes somewhere sensible after each
 * action. No inline scripts or handlers (the page runs under `default-src 'self'`).
 *
 * Concurrent edits: opening the editor reads the item and its ETag; saving sends it in `If-Match`,
 * so when someone else saved the item first the API answers 412 and nothing is overwritten. The
 * editor then says so, shows what the item holds now, and a second Save replaces that knowingly.
 */
import { ApiError, createItem, deleteItem, retrieveItem, streamItems, updateItem } from './items-api.js';

const FIELDS = ['product', 'price'];
const FIELD_LABELS = { product: 'Product', price: 'Price' };

const $ = (id) => document.getElementById(id);
const statusRegion = $('status');
const createForm = $('create-form');
const searchForm = $('search-form');
const searchInput = $('search');
const tableBody = $('items-body');
const caption = $('items-caption');
const itemsHeading = $('items-heading');
const deleteDialog = $('delete-dialog');

/**
 * Rows added to the table at a time. A list can hold every item (the API does not paginate), and a
 * table of 100,000 rows takes the browser seconds to lay out; the next rows are added as the last
 * one scrolls into view (or on "Show more").
 */
const ROWS_PER_PAGE = 200;

/**
 * `items`: the list as read so far (all of it once `loading` is false); `shown`: how many of them the
 * table holds.
 */
const state = {
  items: [],
  loading: false,
  search: '',
  editingId: undefined,
  editingETag: undefined,
  shown: ROWS_PER_PAGE,
};

/** Announces `message` in the live region (cleared first so a repeated message is read again). */
function announce(message) {
  statusRegion.textContent = '';
  // A new text node after a tick is what screen readers reliably pick up.
  requestAnimationFrame(() => {
    statusRegion.textContent = message;
  });
}

function quote(text) {
  return `“${text}”`;
}

function itemLabel(item) {
  return `${quote(item.product)} (id ${item.id})`;
}

/** Element helper: `el('td', { className: 'num' }, 'text', child)`. */
function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

// ---- validation errors ------------------------------------------------------------------------

/**
 * The fields of one form: `{ product: { input, error }, price: {...} }`, plus the element for errors
 * that belong to no field (`non_field_errors`, `detail`, network failures).
 */
function formControls(prefix) {
  const fields = {};
  for (const name of FIELDS) fields[name] = { input: $(`${prefix}-${name}`), error: $(`${prefix}-${name}-error`) };
  return { fields, formError: $(`${prefix}-form-error`) };
}

function clearErrors({ fields, formError }) {
  for (const { input, error } of Object.values(fields)) {
    input.removeAttribute('aria-invalid');
    error.textContent = '';
    error.hidden = true;
  }
  formError.textContent = '';
  formError.hidden = true;
}

/**
 * Shows an API error: field messages under their fields, the rest in the form's error line.
 * Focuses the first invalid field and announces a summary. Returns the summary.
 */
function showErrors(controls, error, action) {
  clearErrors(controls);
  const body = error instanceof ApiError ? error.body : { detail: String(error) };
  const summary = [];
  let firstInvalid;
  const other = [];
  for (const [key, value] of Object.entries(body)) {
    const messages = (Array.isArray(value) ? value : [value]).map(String);
    const field = controls.fields[key];
    if (field) {
      field.error.textContent = messages.join(' ');
      field.error.hidden = false;
      field.input.setAttribute('aria-invalid', 'true');
      firstInvalid ??= field.input;
      summary.push(`${FIELD_LABELS[key]}: ${messages.join(' ')}`);
    } else {
      other.push(...messages);
    }
  }
  if (other.length) {
    controls.formError.textContent = other.join(' ');
    controls.formError.hidden = false;
    summary.push(other.join(' '));
  }
  const text = `${action} failed. ${summary.join(' ')}`;
  announce(text);
  (firstInvalid ?? controls.fields.product.input).focus();
  return text;
}

// ---- list -------------------------------------------------------------------------------------

function updateCaption() {
  const count = state.items.length;
  const noun = count === 1 ? 'item' : 'items';
  const text = state.search ? `${count} ${noun} matching ${quote(state.search)}` : `${count} ${noun}`;
  caption.textContent = state.loading ? `Loading… ${text} so far` : text;
}

function renderRow(item) {
  const editButton = el('button', { type: 'button', className: 'edit', textContent: 'Edit' });
  editButton.setAttribute('aria-label', `Edit ${itemLabel(item)}`);
  editButton.dataset.action = 'edit';
  const deleteButton = el('button', { type: 'button', className: 'danger', textContent: 'Delete' });
  deleteButton.setAttribute('aria-label', `Delete ${itemLabel(item)}`);
  deleteButton.dataset.action = 'delete';
  const row = el(
    'tr',
    {},
    el('td', { className: 'num' }, String(item.id)),
    el('td', { className: 'product' }, item.product),
    el('td', { className: 'num' }, item.price.toLocaleString('en')),
    el('td', { className: 'row-actions' }, editButton, deleteButton),
  );
  row.dataset.id = String(item.id);
  return row;
}

/** An input with a visually hidden label and an error line, for the inline editor. */
function editField(prefix, name, value, item) {
  const input = el('input', { id: `${prefix}-${name}`, name, type: 'text', value: String(value), autocomplete: 'off' });
  input.setAttribute('form', `${prefix}-form`);
  input.setAttribute('aria-describedby', `${prefix}-${name}-error`);
  if (name === 'price') input.inputMode = 'numeric';
  const label = el(
    'label',
    { htmlFor: input.id, className: 'visually-hidden' },
    `${FIELD_LABELS[name]} of item ${item.id}`,
  );
  const error = el('p', { id: `${prefix}-${name}-error`, className: 'field-error', hidden: true });
  return el('td', { className: name === 'price' ? 'num' : '' }, label, input, error);
}

function renderEditRow(item) {
  const prefix = `edit-${item.id}`;
  const form = el('form', { id: `${prefix}-form`, noValidate: true });
  form.setAttribute('aria-label', `Edit ${itemLabel(item)}`);
  const save = el('button', { type: 'submit', className: 'primary', textContent: 'Save' });
  save.setAttribute('form', form.id);
  const cancel = el('button', { type: 'button', textContent: 'Cancel' });
  cancel.dataset.action = 'cancel';
  const formError = el('p', { id: `${prefix}-form-error`, className: 'form-error', hidden: true });
  const row = el(
    'tr',
    { className: 'editing' },
    el('td', { className: 'num' }, String(item.id)),
    editField(prefix, 'product', item.product, item),
    editField(prefix, 'price', item.price, item),
    el('td', { className: 'row-actions' }, form, save, cancel, formError),
  );
  row.dataset.id = String(item.id);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void saveEdit(item, prefix);
  });
  row.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      cancelEdit();
    }
  });
  return row;
}

/** The last row while more items remain: says how many are shown and adds the next page. */
function renderMoreRow() {
  const button = el('button', { type: 'button' });
  button.dataset.action = 'more';
  const row = el('tr', { className: 'more' }, el('td', { colSpan: 4 }, el('span'), button));
  updateMoreRow(row);
  return row;
}

function updateMoreRow(row) {
  const remaining = state.items.length - state.shown;
  const total = `${state.items.length.toLocaleString('en')} items${state.loading ? ' so far' : ''}`;
  row.querySelector('span').textContent = `Showing ${state.shown.toLocaleString('en')} of ${total}. `;
  row.querySelector('button').textContent = `Show ${Math.min(ROWS_PER_PAGE, remaining).toLocaleString('en')} more`;
}

const moreObserver = new IntersectionObserver((entries) => {
  if (entries.some((entry) => entry.isIntersecting)) showMore();
});

function renderRows(items) {
  return items.map((item) => (item.id === state.editingId ? renderEditRow(item) : renderRow(item)));
}

/** Replaces the table body with the first `state.shown` items (and the "more" row). */
function render() {
  moreObserver.disconnect();
  tableBody.replaceChildren(...renderRows(state.items.slice(0, state.shown)));
  if (!state.items.length && !state.loading) {
    const text = state.search ? `No item matches ${quote(state.search)}.` : 'No items yet. Add one above.';
    tableBody.append(el('tr', { className: 'empty' }, el('td', { colSpan: 4 }, text)));
  }
  appendMoreRow();
  updateCaption();
}

function appendMoreRow() {
  if (state.shown >= state.items.length) return;
  const row = renderMoreRow();
  tableBody.append(row);
  moreObserver.observe(row);
}

/** Brings the caption and the "more" row up to date with the items read so far. */
function updateProgress() {
  const more = tableBody.querySelector('tr.more');
  if (more) updateMoreRow(more);
  else appendMoreRow();
  updateCaption();
}

/** Appends the next page of rows, keeping the rows (and focus) already there. */
function showMore() {
  const more = tableBody.querySelector('tr.more');
  if (!more) return;
  moreObserver.disconnect();
  const focused = more.contains(document.activeElement);
  const from = state.shown;
  state.shown = Math.min(state.items.length, from + ROWS_PER_PAGE);
  more.replaceWith(...renderRows(state.items.slice(from, state.shown)));
  appendMoreRow();
  if (focused) (rowButton(state.items[from].id, 'edit') ?? itemsHeading).focus();
}

/** The list being read, cancelled when another one is asked for. */
let listing;

/**
 * Reads the list with the current search as it arrives. The table keeps its rows until the new
 * list has as many items as it shows (or has ended), then shows the new ones at once; the rest
 * arrives behind them, counted in the caption. A big list therefore shows its first rows long
 * before it has fully arrived, and a new search cancels the list still arriving.
 *
 * Performance marks for measuring: `items-list` (the request), `items-rows` (the rows shown),
 * `items-complete` (the whole list read), each with `detail: { search }`.
 *
 * @returns {{ shown: Promise<boolean>, done: Promise<boolean> }} `shown` settles when the rows are
 *   shown, `done` once the whole list is read; false when it failed (and was announced) or was
 *   replaced by a newer list.
 */
function load() {
  listing?.abort();
  const controller = new AbortController();
  listing = controller;
  const detail = { search: state.search };
  performance.mark('items-list', { detail });
  const items = [];
  let rendered = false;
  let progressPending = false;
  let rowsShown;
  const shown = new Promise((resolve) => (rowsShown = resolve));
  const showRows = () => {
    render();
    rendered = true;
    performance.mark('items-rows', { detail });
    rowsShown(true);
  };
  const done = streamItems(state.search, {
    signal: controller.signal,
    onItems(batch) {
      for (const item of batch) items.push(item);
      if (!rendered) {
        if (items.length < state.shown) return;
        state.items = items;
        state.loading = true;
        showRows();
      } else if (!progressPending) {
        progressPending = true;
        requestAnimationFrame(() => {
          progressPending = false;
          if (listing === controller && state.loading) updateProgress();
        });
      }
    },
  }).then(
    () => {
      state.items = items;
      state.loading = false;
      if (state.editingId !== undefined && !items.some((i) => i.id === state.editingId)) {
        state.editingId = undefined;
        if (rendered) render();
      }
      if (rendered) updateProgress();
      else showRows();
      performance.mark('items-complete', { detail });
      return true;
    },
    (error) => {
      if (listing !== controller) {
        rowsShown(false);
        return false;
      }
      state.loading = false;
      if (rendered) updateProgress();
      caption.textContent = 'Items could not be loaded';
      announce(`Items could not be loaded: ${error.message}`);
      rowsShown(false);
      return false;
    },
  );
  return { shown, done };
}

/**
 * Reloads the list with the current search, keeping as many rows shown as before (after a save or
 * delete, so focus can return to them). Resolves once the rows are shown: false (announced) when the
 * list could not be loaded.
 */
function reload() {
  state.shown = Math.max(ROWS_PER_PAGE, state.shown);
  return load().shown;
}

function rowButton(id, action) {
  return tableBody.querySelector(`tr[data-id="${id}"] button[data-action="${action}"]`);
}

// ---- create -----------------------------------------------------------------------------------

function readFields(controls) {
  return {
    product: controls.fields.product.input.value,
    price: controls.fields.price.input.value.trim(),
  };
}

createForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const controls = formControls('create');
  clearErrors(controls);
  let item;
  try {
    item = await createItem(readFields(controls));
  } catch (error) {
    showErrors(controls, error, 'Adding the item');
    return;
  }
  createForm.reset();
  await reload();
  announce(`Added ${itemLabel(item)}.`);
  controls.fields.product.input.focus();
});

// ---- search -----------------------------------------------------------------------------------

async function search(text) {
  state.search = text.trim();
  state.editingId = undefined;
  state.shown = ROWS_PER_PAGE;
  if (await load().done) {
    const count = state.items.length;
    announce(
      state.search
        ? `${count} ${count === 1 ? 'item matches' : 'items match'} ${quote(state.search)}.`
        : `Showing all ${count} items.`,
    );
  }
}

searchForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void search(searchInput.value);
});

$('search-clear').addEventListener('click', () => {
  searchInput.value = '';
  void search('');
  searchInput.focus();
});

// ---- edit -------------------------------------------------------------------------------------

/** The item vanished while the user looked at it: reload the list and say so. */
async function goneAway(item) {
  state.editingId = undefined;
  await reload();
  announce(`${itemLabel(item)} no longer exists.`);
  itemsHeading.focus();
}

/** Opens the editor on the item as stored now, remembering its ETag for the save. */
async function startEdit(item) {
  let current;
  try {
    current = await retrieveItem(item.id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return goneAway(item);
    announce(`Opening ${itemLabel(item)} failed: ${error.message}`);
    return;
  }
  state.items = state.items.map((i) => (i.id === item.id ? current.item : i));
  state.editingId = item.id;
  state.editingETag = current.etag;
  render();
  const input = $(`edit-${item.id}-product`);
  input.focus();
  input.select();
}

function cancelEdit() {
  const id = state.editingId;
  state.editingId = undefined;
  render();
  rowButton(id, 'edit')?.focus();
  announce('Edit cancelled.');
}

/**
 * Someone else saved the item after the editor read it (412): keep what the user typed, show what
 * the item holds now, and take its new ETag, so that saving again replaces it knowingly.
 */
async function showConflict(item, controls) {
  let current;
  try {
    current = await retrieveItem(item.id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return goneAway(item);
    showErrors(controls, error, 'Saving the item');
    return;
  }
  state.editingETag = current.etag;
  const now = current.item;
  const text =
    `Not saved: someone else changed this item while you were editing. It is now ${quote(now.product)} ` +
    `at ${now.price.toLocaleString('en')}. Save again to replace that with your values, or Cancel to keep it.`;
  controls.formError.textContent = text;
  controls.formError.hidden = false;
  announce(text);
  controls.fields.product.input.focus();
}

async function saveEdit(item, prefix) {
  const controls = formControls(prefix);
  clearErrors(controls);
  let saved;
  try {
    saved = await updateItem(item.id, readFields(controls), state.editingETag);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return goneAway(item);
    if (error instanceof ApiError && error.status === 412) return showConflict(item, controls);
    showErrors(controls, error, 'Saving the item');
    return;
  }
  state.editingId = undefined;
  state.editingETag = undefined;
  await reload();
  announce(`Saved ${itemLabel(saved)}.`);
  (rowButton(saved.id, 'edit') ?? itemsHeading).focus();
}

// ---- delete -----------------------------------------------------------------------------------

/** Asks in a modal dialog; resolves true when the user confirms. Focus returns to `opener` on cancel. */
function confirmDelete(item) {
  $('delete-text').textContent = `Delete ${itemLabel(item)}? This cannot be undone.`;
  deleteDialog.returnValue = '';
  deleteDialog.showModal();
  $('delete-cancel').focus();
  return new Promise((resolve) => {
    deleteDialog.addEventListener('close', () => resolve(deleteDialog.returnValue === 'delete'), { once: true });
  });
}

async function remove(item, opener) {
  if (!(await confirmDelete(item))) {
    opener.focus();
    return;
  }
  const index = state.items.findIndex((i) => i.id === item.id);
  try {
    await deleteItem(item.id);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) {
      announce(`Deleting ${itemLabel(item)} failed: ${error.message}`);
      opener.focus();
      return;
    }
  }
  await reload();
  announce(`Deleted ${itemLabel(item)}.`);
  const next = state.items[Math.min(index, state.items.length - 1)];
  (next ? rowButton(next.id, 'edit') : itemsHeading).focus();
}

tableBody.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  if (button.dataset.action === 'more') {
    showMore();
    return;
  }
  const id = Number(button.closest('tr').dataset.id);
  const item = state.items.find((i) => i.id === id);
  if (!item) return;
  if (button.dataset.action === 'edit') void startEdit(item);
  else if (button.dataset.action === 'delete') void remove(item, button);
  else if (button.dataset.action === 'cancel') cancelEdit();
});

void reload();
