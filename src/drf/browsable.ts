/**
 * A small stand-in for DRF's Browsable API: the JSON answer inside an HTML page, for browsers that
 * open an API URL (`Accept: text/html`). Links to the management page and the interactive docs.
 *
 * @module
 */

import { indentJson } from './json.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/**
 * Renders a JSON payload as an HTML page.
 *
 * @param title page title, e.g. DRF's view name "Item List".
 * @param statusLine e.g. `GET /api/items/ → 200`.
 * @param json the serialized JSON body.
 */
export function renderBrowsablePage(title: string, statusLine: string, json: string): string {
  let pretty = json;
  try {
    pretty = indentJson(json, 2);
  } catch {
    // not JSON after all: show as is
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} – itemstore</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem;max-width:60rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>
</head><body>
<nav><a href="/">Manage items</a> · <a href="/docs">API docs</a> · <a href="/api/">API root</a></nav>
<h1>${escapeHtml(title)}</h1>
<p><code>${escapeHtml(statusLine)}</code></p>
<pre>${escapeHtml(pretty)}</pre>
</body></html>
`;
}
