// OpenID Connect RP-Initiated Logout with the unmodified npm `openid-client` v6: the code
// flow signs a user in (login and consent pages driven like a browser without JavaScript),
// then `buildEndSessionUrl` with the ID token as `id_token_hint`, a registered
// `post_logout_redirect_uri` and a `state`; the confirmation page is submitted, and the
// browser must land on the registered URI with the state, with the session gone (a new
// authorization request shows the login page again). An unregistered URI must get a page,
// never a redirect.
//
// usage: node logout.mjs ISSUER CLIENT_ID REDIRECT_URI POST_LOGOUT_URI USERNAME
//        (password on stdin)
// Prints one JSON report. A failure prints {"error": …} and exits 1.
//
// allowInsecureRequests is used only because the test server listens on loopback HTTP.

import { readFileSync } from 'node:fs';
import * as client from 'openid-client';

import { Jar, action, browse, errorCode, field, hiddenFields } from './pages.mjs';

async function main() {
  const [issuer, clientId, redirectUri, postLogoutUri, username] = process.argv.slice(2);
  const password = readFileSync(0, 'utf8').trim();
  const config = await client.discovery(new URL(issuer), clientId, {}, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const verifier = client.randomPKCECodeVerifier();
  const authorizeUrl = async (extra = {}) => client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    ...extra,
  });

  // Sign in with the code flow.
  const jar = new Jar();
  const login = await browse(jar, await authorizeUrl());
  const loginPage = await login.text();
  if (login.status !== 200) throw new Error(`login page: ${login.status} ${loginPage}`);
  let answer = await browse(jar, action(issuer, loginPage), {
    csrf_token: field(loginPage, 'csrf_token'),
    request_id: field(loginPage, 'request_id'),
    username,
    password,
  });
  if (answer.status === 200) {
    const consentPage = await answer.text();
    answer = await browse(jar, action(issuer, consentPage), {
      ...hiddenFields(consentPage),
      decision: 'approve',
    });
  }
  if (answer.status !== 303) throw new Error(`sign-in answer: ${answer.status}`);
  const callback = new URL(answer.headers.get('location'));
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: callback.searchParams.get('state'),
    idTokenExpected: true,
  });
  const silent = async () => {
    const r = await browse(jar, await authorizeUrl({ prompt: 'none' }));
    const to = new URL(r.headers.get('location'));
    return to.searchParams.get('error') ?? (to.searchParams.has('code') ? 'code' : 'none');
  };
  const beforeLogout = await silent();

  // An unregistered post-logout URI: a page, never a redirect.
  const evil = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: 'https://evil.example/bye',
  });
  const refused = await browse(jar, evil);
  const unregistered = { status: refused.status, location: refused.headers.get('location') };

  // The real logout.
  const state = client.randomState();
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: postLogoutUri,
    state,
  });
  const confirm = await browse(jar, endSession);
  const confirmPage = await confirm.text();
  if (confirm.status !== 200) throw new Error(`logout page: ${confirm.status} ${confirmPage}`);
  const csp = confirm.headers.get('content-security-policy');
  const stillSignedIn = await silent();
  const done = await browse(jar, action(issuer, confirmPage), hiddenFields(confirmPage));
  const landed = new URL(done.headers.get('location') ?? 'about:blank');

  const after = await browse(jar, await authorizeUrl());
  const afterPage = await after.text();

  const out = {
    end_session_endpoint: config.serverMetadata().end_session_endpoint,
    end_session_url: `${endSession.origin}${endSession.pathname}`,
    before_logout: beforeLogout,
    unregistered,
    confirm_csp: csp,
    still_signed_in_before_confirming: stillSignedIn,
    logout_status: done.status,
    landed_base: `${landed.origin}${landed.pathname}`,
    state_ok: landed.searchParams.get('state') === state,
    landed_params: [...landed.searchParams.keys()],
    after_status: after.status,
    after_shows_login: after.status === 200 && afterPage.includes('name="password"'),
    after_silent: await silent(),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch(async (e) => {
  process.stdout.write(`${JSON.stringify(await errorCode(e))}\n`);
  process.exit(1);
});
