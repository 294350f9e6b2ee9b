// The self-service page of API keys in a real browser: Debian's headless Chromium, driven
// by playwright-core, opens the page, signs in (and is sent back), creates a key with the
// scope checkboxes and an expiry, reads the secret shown once, exchanges it at the token
// endpoint, revokes it, exchanges it again, and posts a form without the CSRF token.
//
// usage: node chromium_api_keys.mjs PAGE_URL TOKEN_URL USERNAME CLIENT_ID
//        (stdin: JSON {"password": …, "client_secret": …}: never arguments)
// env:   TESSERA_CHROMIUM (default /usr/bin/chromium)
// Prints one JSON report; a failure prints {"error": …, "screenshot": path} and exits 1.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [pageUrl, tokenUrl, username, clientId] = process.argv.slice(2);
if (!pageUrl || !tokenUrl || !username || !clientId) {
  console.log(JSON.stringify({ error: 'usage: chromium_api_keys.mjs PAGE_URL TOKEN_URL USERNAME CLIENT_ID' }));
  process.exit(2);
}
const { password, client_secret: clientSecret } = JSON.parse(readFileSync(0, 'utf8'));
const STEP = 30_000;

async function exchange(key) {
  const body = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: key,
    subject_token_type: 'urn:tessera:params:oauth:token-type:api-key',
    client_id: clientId,
    client_secret: clientSecret,
  });
  const r = await fetch(tokenUrl, { method: 'POST', body });
  return { status: r.status, body: await r.json() };
}

const profile = mkdtempSync(join(tmpdir(), 'tessera-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.TESSERA_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = browser.pages()[0] ?? (await browser.newPage());
const report = {};
try {
  const start = await page.goto(pageUrl, { timeout: STEP });
  report.start_status = start.status();
  await Promise.all([
    page.waitForNavigation({ timeout: STEP }),
    page.click('button[type="submit"]', { timeout: STEP }),
  ]);
  await page.fill('input[name="username"]', username, { timeout: STEP });
  await page.fill('input[name="password"]', password, { timeout: STEP });
  await Promise.all([
    page.waitForNavigation({ timeout: STEP }),
    page.click('button[type="submit"]', { timeout: STEP }),
  ]);
  await page.waitForSelector('form#create', { timeout: STEP });
  report.back_on_page = page.url();
  report.scope_choices = await page.$$eval('input[name="scope"]', (els) => els.map((e) => e.value));
  report.expiry_choices = await page.$$eval('select[name="expires_in_days"] option', (els) => els.map((e) => e.value));

  await page.fill('input[name="name"]', 'from-chromium', { timeout: STEP });
  await page.check('input[name="scope"][value="openid"]', { timeout: STEP });
  await page.check('input[name="scope"][value="email"]', { timeout: STEP });
  await page.selectOption('select[name="expires_in_days"]', '7', { timeout: STEP });
  const [created] = await Promise.all([
    page.waitForNavigation({ timeout: STEP }),
    page.click('form#create button[type="submit"]', { timeout: STEP }),
  ]);
  report.create_status = created.status();
  report.create_csp = created.headers()['content-security-policy'] ?? null;
  const secret = (await page.textContent('#new-secret', { timeout: STEP })) ?? '';
  report.secret = secret;
  report.key_id = await page.getAttribute('#keys li', 'data-key-id', { timeout: STEP });
  report.listed = (await page.textContent('#keys', { timeout: STEP })) ?? '';

  // Shown once: a reload lists the key without its secret.
  await page.goto(pageUrl, { timeout: STEP });
  report.secret_after_reload = await page.locator('#new-secret').count();
  report.html_has_secret_after_reload = (await page.content()).includes(secret);

  report.exchange = await exchange(secret);

  // Revoke with the page's own form.
  const [revoked] = await Promise.all([
    page.waitForNavigation({ timeout: STEP }),
    page.click('#keys li button[type="submit"]', { timeout: STEP }),
  ]);
  report.revoke_status = revoked.status();
  report.state_after_revoke = (await page.textContent('#keys li .state', { timeout: STEP })) ?? '';
  report.exchange_after_revoke = await exchange(secret);

  // A form post without the CSRF token (the session cookie is sent): refused, nothing made.
  const before = await page.locator('#keys li').count();
  const forged = await page.request.post(pageUrl, {
    form: { action: 'create', name: 'forged', scope: 'openid', expires_in_days: '7' },
  });
  report.forged_status = forged.status();
  const forgedRevoke = await page.request.post(pageUrl, {
    form: { action: 'revoke', key_id: report.key_id, csrf_token: 'wrong' },
  });
  report.forged_revoke_status = forgedRevoke.status();
  await page.goto(pageUrl, { timeout: STEP });
  report.keys_before_forgery = before;
  report.keys_after_forgery = await page.locator('#keys li').count();
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
  console.log(JSON.stringify(report));
  process.exitCode = 1;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
