// A real browser through the real login pages: Debian's headless Chromium, driven by
// playwright-core, opens the authorization URL, signs in, approves consent and follows the
// 303 to the client's redirect URI. The point is that the browser itself performs that last
// navigation (so the pages' CSP `form-action` must allow the redirect's origin).
//
// usage: node chromium_login.mjs AUTHORIZE_URL REDIRECT_URI USERNAME   (password on stdin)
// env:   TESSERA_CHROMIUM (default /usr/bin/chromium)
// Prints one JSON report: the callback query, the headers the browser saw on the login and
// consent pages, and any CSP violation the browser logged. A failure prints
// {"error": …, "screenshot": path} and exits 1.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [authorizeUrl, redirectUri, username] = process.argv.slice(2);
if (!authorizeUrl || !redirectUri || !username) {
  console.log(JSON.stringify({ error: 'usage: chromium_login.mjs AUTHORIZE_URL REDIRECT_URI USERNAME' }));
  process.exit(2);
}
const password = readFileSync(0, 'utf8');
const STEP = 30_000;

const SECURITY_HEADERS = ['content-security-policy', 'x-frame-options', 'cache-control', 'referrer-policy', 'x-content-type-options'];
function security(response) {
  const h = response.headers();
  return Object.fromEntries(SECURITY_HEADERS.map((k) => [k, h[k] ?? null]));
}

const profile = mkdtempSync(join(tmpdir(), 'tessera-chromium-'));
// A fresh profile (playwright's launchPersistentContext passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.TESSERA_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const page = browser.pages()[0] ?? (await browser.newPage());
const console_ = [];
page.on('console', (m) => console_.push(m.text()));
const report = {};
try {
  const login = await page.goto(authorizeUrl, { timeout: STEP });
  report.login_status = login.status();
  report.login_headers = security(login);
  await page.fill('input[name="username"]', username, { timeout: STEP });
  await page.fill('input[name="password"]', password, { timeout: STEP });
  // The sign-in POST answers with the consent page (possibly after a redirect): the
  // navigation's final response is the page the browser shows.
  const [consent] = await Promise.all([
    page.waitForNavigation({ timeout: STEP }),
    page.click('button[type="submit"]', { timeout: STEP }),
  ]);
  await page.waitForSelector('button[name="decision"][value="approve"]', { timeout: STEP });
  report.consent_status = consent.status();
  report.consent_headers = security(consent);
  // The approve button's POST answers 303 to the redirect URI; the browser must follow it.
  // (A CSP `form-action` without the redirect's origin aborts it: net::ERR_ABORTED.)
  const callback = page.waitForURL((u) => u.href.startsWith(redirectUri), { timeout: STEP });
  callback.catch(() => {}); // rejected while the click is awaited: reported below
  await page.click('button[name="decision"][value="approve"]', { timeout: STEP });
  await callback;
  const landed = new URL(page.url());
  report.landed = `${landed.origin}${landed.pathname}`;
  report.query = Object.fromEntries(landed.searchParams);
  report.callback_body = (await page.textContent('body', { timeout: STEP })) ?? '';
  report.csp_violations = console_.filter((t) => /Content Security Policy/i.test(t));
  console.log(JSON.stringify(report));
} catch (e) {
  const shot = join(tmpdir(), `tessera-chromium-failure-${process.pid}.png`);
  let saved = null;
  try {
    await page.screenshot({ path: shot, fullPage: true });
    saved = shot;
  } catch {
    // the page may be gone; the error below is what matters
  }
  report.error = String(e?.message ?? e);
  report.url = page.url();
  report.screenshot = saved;
  report.console = console_;
  console.log(JSON.stringify(report));
  process.exitCode = 1;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
