// The device authorization grant (RFC 8628) with the unmodified npm `openid-client` v6 as a
// public client: initiateDeviceAuthorization, then pollDeviceAuthorizationGrant while the
// "user" (a browser without JavaScript, cookies kept by hand) opens verification_uri_complete,
// signs in, confirms the code and approves. Afterwards the spent device code is polled again.
//
// usage: node device.mjs ISSUER CLIENT_ID USERNAME   (password on stdin)
// Prints one JSON report. A failure prints {"error": …} and exits 1.
//
// allowInsecureRequests is used only because the test server listens on loopback HTTP.

import { readFileSync } from 'node:fs';
import * as client from 'openid-client';

import { Jar, action, browse, errorCode, field, hiddenFields } from './pages.mjs';

const SCOPE = 'openid profile';

/** The user's side: sign in through the login page, enter the code, approve. */
async function approve(issuer, uri, username, password) {
  const jar = new Jar();
  // A plain GET of the device page creates no session: it shows a sign-in button (a GET
  // form carrying the user code), which the user presses.
  const start = await browse(jar, uri);
  const startPage = await start.text();
  if (start.status !== 200) throw new Error(`device start page: ${start.status} ${startPage}`);
  const signIn = new URL(uri);
  for (const [name, value] of Object.entries(hiddenFields(startPage))) {
    signIn.searchParams.set(name, value);
  }
  const login = await browse(jar, signIn);
  const loginPage = await login.text();
  if (login.status !== 200) throw new Error(`login page: ${login.status} ${loginPage}`);
  const signed = await browse(jar, action(issuer, loginPage), {
    csrf_token: field(loginPage, 'csrf_token'),
    request_id: field(loginPage, 'request_id'),
    username,
    password,
  });
  const back = signed.headers.get('location');
  if (signed.status !== 303 || !back) throw new Error(`sign-in answer: ${signed.status}`);
  const entry = await browse(jar, back);
  const entryPage = await entry.text();
  if (entry.status !== 200) throw new Error(`device page: ${entry.status} ${entryPage}`);
  const confirm = await browse(jar, action(issuer, entryPage), {
    csrf_token: field(entryPage, 'csrf_token'),
    user_code: field(entryPage, 'user_code'),
  });
  const confirmPage = await confirm.text();
  if (confirm.status !== 200) throw new Error(`confirm page: ${confirm.status} ${confirmPage}`);
  const done = await browse(jar, action(issuer, confirmPage), {
    csrf_token: field(confirmPage, 'csrf_token'),
    user_code: field(confirmPage, 'user_code'),
    decision: 'approve',
  });
  if (done.status !== 200) throw new Error(`approve answer: ${done.status}`);
  return { prefilled: field(entryPage, 'user_code'), confirm_names_client: confirmPage.includes('<li>openid</li>') };
}

async function main() {
  const [issuer, clientId, username] = process.argv.slice(2);
  const password = readFileSync(0, 'utf8').trim();
  const config = await client.discovery(new URL(issuer), clientId, {}, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const meta = config.serverMetadata();
  const response = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
  const [tokens, user] = await Promise.all([
    client.pollDeviceAuthorizationGrant(config, response),
    approve(issuer, response.verification_uri_complete, username, password),
  ]);
  const idClaims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);

  // The device code is spent: polling it again is refused.
  const again = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: response.device_code,
      client_id: clientId,
    }).toString(),
  });
  const out = {
    device_authorization_endpoint: meta.device_authorization_endpoint,
    user_code: response.user_code,
    verification_uri: response.verification_uri,
    verification_uri_complete: response.verification_uri_complete,
    expires_in: response.expires_in,
    interval: response.interval,
    user,
    scope: tokens.scope,
    id_token: { iss: idClaims.iss, sub: idClaims.sub, aud: idClaims.aud, amr: idClaims.amr },
    refresh_token: typeof tokens.refresh_token === 'string',
    userinfo_username: userinfo.preferred_username,
    second_poll: { status: again.status, error: (await again.json()).error },
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch(async (e) => {
  process.stdout.write(`${JSON.stringify(await errorCode(e))}\n`);
  process.exit(1);
});
