/**
 * Real headless Chromium for end-to-end tests: Debian's `chromium` package driven by playwright-core
 * (which never downloads a browser of its own). A missing browser fails the test with the command
 * that installs it; it never skips.
 *
 * @module
 */
import fs from 'node:fs';
import { after, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** The browser: `CHROMIUM_PATH`, or where Debian's `chromium` package installs its launcher. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The Content-Security-Policy the service sends; added to answers that lack one, so violations show. */
export const PAGE_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:";

/** Flags for a sandbox-less container: no GPU, no QUIC, and no traffic to Google's services. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserPage {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors, CSP violations and requests to other hosts seen so far. */
  problems: string[];
  /** Every URL the page requested. */
  requests: string[];
  /** Answers with a 4xx or 5xx status, as `METHOD /path → status` (the browser logs them as console errors). */
  failedResponses: string[];
}

/** One Chromium per test file, launched at first use and closed when the file's tests are done. */
let browser: Promise<Browser> | undefined;
after(async () => {
  if (browser) await (await browser).close();
});

export interface OpenPageOptions {
  /**
   * Route answers from 127.0.0.1 through the test (default), adding {@link PAGE_CSP} where missing.
   * `false` leaves them alone, so the page reads a streamed answer as the server sends it rather than
   * whole once the test has fetched it (the service sends its own CSP); other hosts are still refused.
   */
  routeLocal?: boolean;
}

const LOCAL_URL = /^(https?:\/\/127\.0\.0\.1[:/]|data:|blob:)/;

/**
 * Opens one page in a fresh browser context (its own cookies, storage and cache, like a new
 * profile; closed after the test) of the file's Chromium, launched at first use. Call it before
 * `startTestApp`: `after` hooks run in order, and the browser must let go of its keep-alive
 * connections before `app.close()` waits for them.
 *
 * @throws {Error} when Chromium is not installed, naming the package to install.
 */
export async function openPage(t: TestContext, { routeLocal = true }: OpenPageOptions = {}): Promise<BrowserPage> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (.ci/run does).`,
    );
  }
  browser ??= chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS });
  const context = await (await browser).newContext({ viewport: { width: 1100, height: 800 }, locale: 'en-US' });
  t.after(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  const failedResponses: string[] = [];
  page.on('console', (message) => {
    // Chromium logs every 4xx as "Failed to load resource"; those are checked in failedResponses.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      problems.push(`console: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400)
      failedResponses.push(`${response.request().method()} ${new URL(response.url()).pathname} → ${response.status()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => requests.push(request.url()));
  await page.route(routeLocal ? '**/*' : (url) => !LOCAL_URL.test(url.href), async (route) => {
    // Test traffic stays on this machine: anything else is recorded and refused.
    if (!LOCAL_URL.test(route.request().url())) {
      problems.push(`external request: ${route.request().url()}`);
      return route.abort();
    }
    const response = await route.fetch();
    const headers = response.headers();
    headers['content-security-policy'] ??= PAGE_CSP;
    await route.fulfill({ response, headers });
  });
  return { context, page, problems, requests, failedResponses };
}
