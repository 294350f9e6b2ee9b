"""Gets client_credentials tokens from Tessera with unmodified `authlib` and verifies them
with PyJWT's PyJWKClient against the published JWKS.

usage: oauth_client.py ISSUER CLIENT_ID CLIENT_SECRET AUDIENCE
Prints one JSON object: for each auth method (client_secret_basic, client_secret_post) the
verified claims and header of the access token.
"""

import json
import sys

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session


def main():
    issuer, client_id, secret, audience = sys.argv[1:5]
    discovery = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
    jwks = jwt.PyJWKClient(discovery["jwks_uri"])
    out = {"issuer": discovery["issuer"]}
    for method in ("client_secret_basic", "client_secret_post"):
        session = OAuth2Session(client_id, secret, token_endpoint_auth_method=method, scope="read")
        token = session.fetch_token(discovery["token_endpoint"], grant_type="client_credentials")
        access = token["access_token"]
        header = jwt.get_unverified_header(access)
        key = jwks.get_signing_key_from_jwt(access)
        claims = jwt.decode(
            access,
            key.key,
            algorithms=["ES256", "ES384", "RS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
        )
        out[method] = {"typ": header.get("typ"), "claims": claims, "token_type": token["token_type"]}
    try:
        OAuth2Session(client_id, "wrong-" + secret, token_endpoint_auth_method="client_secret_basic").fetch_token(
            discovery["token_endpoint"], grant_type="client_credentials"
        )
        out["wrong_secret"] = "accepted"
    except Exception as e:  # noqa: BLE001 - authlib raises OAuthError subclasses
        out["wrong_secret"] = getattr(e, "error", type(e).__name__)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
