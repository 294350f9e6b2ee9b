// The benchmark baseline: node `oidc-provider` (the certified Node.js OpenID Provider) set up
// for the same job Tessera's token endpoint does, so tests/benches/oauth.rs can load both in
// one run.
//
// usage: node oidc_provider_bench.mjs PORT CLIENT_ID CLIENT_SECRET RESOURCE
//
// One confidential client (client_secret_basic) allowed only the client_credentials grant and
// the scopes `read write`. Every client_credentials access token is a JWT for RESOURCE
// (RFC 8707 resource indicator, `accessTokenFormat: 'jwt'`) signed ES256 with a fresh P-256
// key. No interactions, no dev keys: what a production deployment of the same grant runs.
// One process, as deployed by default (Node runs the JavaScript on one thread). Listens on
// 127.0.0.1:PORT and prints one JSON line `{"listening": URL}` when ready.

import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const [port, clientId, clientSecret, resource] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope: 'read write',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['read', 'write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== resource) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: 'read write',
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ listening: issuer })}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
