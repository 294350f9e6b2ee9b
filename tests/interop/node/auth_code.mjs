// The authorization code flow with the unmodified npm `openid-client` v6 as a public client:
// discovery, buildAuthorizationUrl with PKCE S256 + state + nonce, the login and consent
// forms driven like a browser without JavaScript (cookies kept by hand), then
// authorizationCodeGrant (ID token checked by openid-client: signature, iss, aud, nonce,
// at_hash), fetchUserInfo, refreshTokenGrant twice then a reuse of the first refresh token; finally the code is replayed and the first access token must
// stop working at UserInfo.
//
// usage: node auth_code.mjs ISSUER CLIENT_ID REDIRECT_URI USERNAME   (password on stdin)
// Prints one JSON report. A failure prints {"error": …} and exits 1.
//
// allowInsecureRequests is used only because the test server listens on loopback HTTP.

import { readFileSync } from 'node:fs';
import * as client from 'openid-client';

import { Jar, action, browse, errorCode, field } from './pages.mjs';

const SCOPE = 'openid profile email';

async function main() {
  const [issuer, clientId, redirectUri, username] = process.argv.slice(2);
  const password = readFileSync(0, 'utf8').trim();
  const config = await client.discovery(new URL(issuer), clientId, {}, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });

  const jar = new Jar();
  const login = await browse(jar, url);
  const loginPage = await login.text();
  if (login.status !== 200) throw new Error(`login page: ${login.status} ${loginPage}`);
  const consent = await browse(jar, action(issuer, loginPage), {
    csrf_token: field(loginPage, 'csrf_token'),
    request_id: field(loginPage, 'request_id'),
    username,
    password,
  });
  const consentPage = await consent.text();
  if (consent.status !== 200) throw new Error(`consent page: ${consent.status} ${consentPage}`);
  const done = await browse(jar, action(issuer, consentPage), {
    csrf_token: field(consentPage, 'csrf_token'),
    request_id: field(consentPage, 'request_id'),
    decision: 'approve',
  });
  const location = done.headers.get('location');
  if (done.status !== 303 || !location) throw new Error(`consent answer: ${done.status}`);
  const callback = new URL(location);

  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const idClaims = tokens.claims();
  const idHeader = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url').toString());
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);

  // Refresh rotation (RFC 9700): two refreshes rotate the token; presenting the first
  // (already rotated) token again revokes the whole family, the newest token included.
  const refreshed1 = await client.refreshTokenGrant(config, tokens.refresh_token);
  const refreshed2 = await client.refreshTokenGrant(config, refreshed1.refresh_token);
  const grantError = async (token) => {
    try {
      await client.refreshTokenGrant(config, token);
      return 'accepted';
    } catch (e) {
      return (await errorCode(e)).error;
    }
  };
  const refresh = {
    issued: typeof tokens.refresh_token === 'string',
    rotated: refreshed1.refresh_token !== tokens.refresh_token
      && refreshed2.refresh_token !== refreshed1.refresh_token,
    reuse: await grantError(tokens.refresh_token),
    newest_after_reuse: await grantError(refreshed2.refresh_token),
  };

  // Replay: the same callback again is refused, and what the code issued is revoked.
  let replay;
  try {
    await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    replay = 'accepted';
  } catch (e) {
    replay = (await errorCode(e)).error;
  }
  let afterReplay;
  try {
    await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
    afterReplay = 'accepted';
  } catch (e) {
    const err = await errorCode(e);
    afterReplay = err.error === undefined ? err.status : err.error;
  }

  const out = {
    redirect_base: `${callback.origin}${callback.pathname}`,
    iss_param: callback.searchParams.get('iss'),
    token_type: tokens.token_type,
    scope: tokens.scope,
    expires_in: tokens.expiresIn(),
    id_token_header: { alg: idHeader.alg, typ: idHeader.typ },
    id_token: {
      iss: idClaims.iss,
      sub: idClaims.sub,
      aud: idClaims.aud,
      azp: idClaims.azp,
      nonce_ok: idClaims.nonce === nonce,
      auth_time: idClaims.auth_time,
      amr: idClaims.amr,
      has_at_hash: typeof idClaims.at_hash === 'string',
    },
    userinfo,
    refresh,
    replay,
    after_replay: afterReplay,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch(async (e) => {
  process.stdout.write(`${JSON.stringify(await errorCode(e))}\n`);
  process.exit(1);
});
