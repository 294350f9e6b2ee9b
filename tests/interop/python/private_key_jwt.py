"""private_key_jwt (RFC 7523) against Tessera with unmodified `authlib`.

usage:
  private_key_jwt.py keygen PRIVATE_JWK_FILE PUBLIC_JWKS_FILE
      Generates an EC P-256 key (kid = its RFC 7638 thumbprint); writes the private JWK and
      the public JWK set to register with `client create --jwks-file`.
  private_key_jwt.py fetch ISSUER CLIENT_ID PRIVATE_JWK_FILE AUDIENCE
      Gets a client_credentials token with authlib's PrivateKeyJWT (ES256, kid header),
      verifies it with PyJWT's PyJWKClient, then replays authlib's exact assertion with
      `requests`. Then, as authlib's documentation sets it up (method name
      `private_key_jwt` + a registered PrivateKeyJWT without a fixed endpoint, so each
      assertion's `aud` is the URL it is sent to), gets a token, introspects and revokes it.
      Prints one JSON object: the verified claims, the header, the replay's HTTP status and
      error, and the introspection / revocation results.
"""

import json
import sys
from urllib.parse import parse_qs

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey


def keygen(private_path, public_path):
    key = ECKey.generate_key("P-256", auto_kid=True)
    with open(private_path, "w") as f:
        json.dump(key.as_dict(private=True), f)
    with open(public_path, "w") as f:
        json.dump({"keys": [key.as_dict(private=False)]}, f)


def fetch(issuer, client_id, private_path, audience):
    with open(private_path) as f:
        key = ECKey.import_key(json.load(f))
    discovery = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
    token_endpoint = discovery["token_endpoint"]
    sent = []
    session = OAuth2Session(
        client_id,
        key,
        token_endpoint_auth_method=PrivateKeyJWT(token_endpoint, headers={"kid": key.kid}, alg="ES256"),
        scope="read",
    )
    session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request.body))
    token = session.fetch_token(token_endpoint, grant_type="client_credentials")
    access = token["access_token"]
    signing_key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(access)
    claims = jwt.decode(
        access,
        signing_key.key,
        algorithms=["ES256", "ES384", "RS256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    body = sent[-1]
    if isinstance(body, bytes):
        body = body.decode()
    form = parse_qs(body)
    assertion = form["client_assertion"][0]
    replay = requests.post(
        token_endpoint,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": form["client_assertion_type"][0],
            "client_assertion": assertion,
        },
        timeout=10,
    )
    per_endpoint = OAuth2Session(
        client_id,
        key,
        token_endpoint_auth_method="private_key_jwt",
        revocation_endpoint_auth_method="private_key_jwt",
        scope="read",
    )
    per_endpoint.register_client_auth_method(PrivateKeyJWT(headers={"kid": key.kid}, alg="ES256"))
    second = per_endpoint.fetch_token(token_endpoint, grant_type="client_credentials")["access_token"]
    introspected = per_endpoint.introspect_token(discovery["introspection_endpoint"], token=second)
    revoked = per_endpoint.revoke_token(discovery["revocation_endpoint"], token=second)
    after = per_endpoint.introspect_token(discovery["introspection_endpoint"], token=second)
    out = {
        "claims": claims,
        "typ": jwt.get_unverified_header(access).get("typ"),
        "assertion_header": jwt.get_unverified_header(assertion),
        "assertion_lifetime": (lambda c: c["exp"] - c["iat"])(jwt.decode(assertion, options={"verify_signature": False})),
        "methods": discovery["token_endpoint_auth_methods_supported"],
        "replay_status": replay.status_code,
        "replay_error": replay.json().get("error"),
        "introspect_status": introspected.status_code,
        "introspect_active": introspected.json().get("active"),
        "revoke_status": revoked.status_code,
        "active_after_revoke": after.json().get("active"),
    }
    print(json.dumps(out))


def main():
    if sys.argv[1] == "keygen":
        keygen(*sys.argv[2:4])
    else:
        fetch(*sys.argv[2:6])


if __name__ == "__main__":
    main()
