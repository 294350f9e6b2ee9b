// RP-Initiated Logout in a real browser: Debian's headless Chromium (playwright-core) signs
// in through the login page (a first-party client: no consent), opens the end-session URL
// with client_id + post_logout_redirect_uri + state, clicks "Sign out" and must itself follow
// the 303 to the post-logout URI (Chromium applies the page's CSP `form-action` to that
// redirect). The client's URIs are served by a small listener in this script.
//
// usage: node chromium_logout.mjs ISSUER CLIENT_ID PORT USERNAME   (password on stdin)
// env:   TESSERA_CHROMIUM (default /usr/bin/chromium)
// Prints one JSON report; a failure prints {"error": …} and exits 1.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [issuer, clientId, port, username] = process.argv.slice(2);
const password = readFileSync(0, 'utf8');
const STEP = 30_000;
const app = `http://127.0.0.1:${port}`;
const state = randomBytes(16).toString('base64url');

const seen = [];
const listener = createServer((req, res) => {
  seen.push(req.url);
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('client page');
});
await new Promise((ok) => listener.listen(Number(port), '127.0.0.1', ok));

const verifier = randomBytes(32).toString('base64url');
const authorize = new URL(`${issuer}/oauth2/authorize`);
for (const [k, v] of Object.entries({
  response_type: 'code',
  client_id: clientId,
  redirect_uri: `${app}/callback`,
  scope: 'openid',
  state: 'login',
  code_challenge: createHash('sha256').update(verifier).digest('base64url'),
  code_challenge_method: 'S256',
})) authorize.searchParams.set(k, v);
const logout = new URL(`${issuer}/oauth2/logout`);
logout.searchParams.set('client_id', clientId);
logout.searchParams.set('post_logout_redirect_uri', `${app}/bye`);
logout.searchParams.set('state', state);

const profile = mkdtempSync(join(tmpdir(), 'tessera-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.TESSERA_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = browser.pages()[0] ?? (await browser.newPage());
const console_ = [];
page.on('console', (m) => console_.push(m.text()));
const report = {};
try {
  await page.goto(authorize.href, { timeout: STEP });
  await page.fill('input[name="username"]', username, { timeout: STEP });
  await page.fill('input[name="password"]', password, { timeout: STEP });
  const signedIn = page.waitForURL((u) => u.href.startsWith(`${app}/callback`), { timeout: STEP });
  signedIn.catch(() => {});
  await page.click('button[type="submit"]', { timeout: STEP });
  await signedIn;

  const confirm = await page.goto(logout.href, { timeout: STEP });
  report.confirm_status = confirm.status();
  report.confirm_csp = confirm.headers()['content-security-policy'] ?? null;
  const landed = page.waitForURL((u) => u.href.startsWith(`${app}/bye`), { timeout: STEP });
  landed.catch(() => {});
  await page.click('button[type="submit"]', { timeout: STEP });
  await landed;
  const url = new URL(page.url());
  report.landed = `${url.origin}${url.pathname}`;
  report.query = Object.fromEntries(url.searchParams);
  report.state_ok = url.searchParams.get('state') === state;

  await page.goto(authorize.href, { timeout: STEP });
  report.login_again = (await page.locator('input[name="password"]').count()) === 1;
  report.listener_saw = seen.map((u) => u.split('?')[0]).filter((p) => p !== '/favicon.ico');
  report.csp_violations = console_.filter((t) => /Content Security Policy/i.test(t));
  console.log(JSON.stringify(report));
} catch (e) {
  report.error = String(e?.message ?? e);
  report.url = page.url();
  report.console = console_;
  console.log(JSON.stringify(report));
  process.exitCode = 1;
} finally {
  await browser.close();
  listener.close();
  rmSync(profile, { recursive: true, force: true });
}
