// Drives Tessera's OAuth server with the unmodified npm `openid-client` v6.
//
// usage: node oauth_client.mjs ISSUER secret CLIENT_ID CLIENT_SECRET RESOURCE
//        node oauth_client.mjs ISSUER private_key_jwt CLIENT_ID KEY_PEM_FILE KID RESOURCE
//
// `secret` runs client_credentials with ClientSecretBasic and ClientSecretPost;
// `private_key_jwt` runs it with PrivateKeyJwt, signing with the PKCS#8 P-256 key in
// KEY_PEM_FILE (the test registered its public JWK under KID). For every method: the token
// response, then tokenIntrospection (active), tokenRevocation, and tokenIntrospection again.
// Prints one JSON object keyed by auth method. A failure prints {"error": …} and exits 1.
//
// allowInsecureRequests is used only because the test server listens on loopback HTTP.

import { readFileSync } from 'node:fs';
import * as client from 'openid-client';

import { errorCode } from './pages.mjs';

const SCOPE = 'read';

async function exercise(issuer, clientId, auth, resource) {
  const config = await client.discovery(new URL(issuer), clientId, {}, auth, {
    execute: [client.allowInsecureRequests],
  });
  const tokens = await client.clientCredentialsGrant(config, { scope: SCOPE, resource });
  const access = tokens.access_token;
  const header = JSON.parse(Buffer.from(access.split('.')[0], 'base64url').toString());
  const active = await client.tokenIntrospection(config, access);
  await client.tokenRevocation(config, access);
  const revoked = await client.tokenIntrospection(config, access);
  return {
    issuer: config.serverMetadata().issuer,
    token_type: tokens.token_type,
    expires_in: tokens.expiresIn(),
    scope: tokens.scope,
    typ: header.typ,
    alg: header.alg,
    introspection: {
      active: active.active,
      scope: active.scope,
      client_id: active.client_id,
      sub: active.sub,
      aud: active.aud,
    },
    after_revocation: { active: revoked.active },
  };
}

async function wrongSecret(issuer, clientId, secret) {
  const config = await client.discovery(
    new URL(issuer),
    clientId,
    {},
    client.ClientSecretBasic(`wrong-${secret}`),
    { execute: [client.allowInsecureRequests] },
  );
  try {
    await client.clientCredentialsGrant(config, { scope: SCOPE });
    return 'accepted';
  } catch (e) {
    return (await errorCode(e)).error;
  }
}

async function privateKey(pemFile) {
  const pem = readFileSync(pemFile, 'utf8');
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
  ]);
}

async function main() {
  const [issuer, mode, clientId, ...rest] = process.argv.slice(2);
  const out = {};
  if (mode === 'secret') {
    const [secret, resource] = rest;
    out.client_secret_basic = await exercise(
      issuer,
      clientId,
      client.ClientSecretBasic(secret),
      resource,
    );
    out.client_secret_post = await exercise(
      issuer,
      clientId,
      client.ClientSecretPost(secret),
      resource,
    );
    out.wrong_secret = await wrongSecret(issuer, clientId, secret);
  } else if (mode === 'private_key_jwt') {
    const [pemFile, kid, resource] = rest;
    const key = await privateKey(pemFile);
    out.private_key_jwt = await exercise(
      issuer,
      clientId,
      client.PrivateKeyJwt({ key, kid }),
      resource,
    );
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch(async (e) => {
  process.stdout.write(`${JSON.stringify(await errorCode(e))}\n`);
  process.exit(1);
});
