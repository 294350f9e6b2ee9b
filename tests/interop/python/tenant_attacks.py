"""Acts as tenant A against tenant B's OAuth issuer, with the tools an outsider has: A's
client credentials, A's tokens, A's authorization code, A's users and A's browser session.

Usage: tenant_attacks.py < config.json
config: {"a": ISSUER_A, "b": ISSUER_B, "client_id": ID (a confidential client_credentials
client in both tenants, secrets differ), "secret_a": ..., "secret_b": ..., "spa": ID (a
public code-flow client in both, same redirect), "redirect": URI, "username": NAME (in both,
passwords differ), "password_a": ..., "password_b": ..., "only_a": NAME (a user of A only),
"password_only_a": ...}

Prints one JSON report: what each attempt got (status and RFC 6749 error), and what the
same request got at the right issuer (so a denial is not an accident of a broken request).
"""

import base64
import hashlib
import json
import re
import secrets
import sys

import jwt
import requests

from forms import action, field, query


def discover(issuer):
    return requests.get(issuer + "/.well-known/openid-configuration").json()


def answer(r):
    try:
        body = r.json()
    except ValueError:
        body = {}
    return [r.status_code, body.get("error")]


def client_token(meta, client_id, secret):
    r = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=(client_id, secret),
    )
    return r


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    return verifier, challenge


def authorize_params(cfg, challenge, state, prompt=None):
    params = {
        "response_type": "code",
        "client_id": cfg["spa"],
        "redirect_uri": cfg["redirect"],
        "scope": "openid",
        "state": state,
        "nonce": "n-" + state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if prompt:
        params["prompt"] = prompt
    return params


def sign_in(browser, issuer, meta, cfg, username, password):
    """Signs in through the login and consent forms; returns (code, verifier) or the
    login page's error text."""
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(16)
    login = browser.get(
        meta["authorization_endpoint"],
        params=authorize_params(cfg, challenge, state),
        allow_redirects=False,
    )
    after = browser.post(
        action(issuer, login.text),
        data={
            "csrf_token": field(login.text, "csrf_token"),
            "request_id": field(login.text, "request_id"),
            "username": username,
            "password": password,
        },
        allow_redirects=False,
    )
    if after.status_code != 200 or 'name="decision"' not in after.text:
        text = re.search(r'<p role="alert"><strong>([^<]*)<', after.text)
        return None, text.group(1) if text else after.text[:200]
    done = browser.post(
        action(issuer, after.text),
        data={
            "csrf_token": field(after.text, "csrf_token"),
            "request_id": field(after.text, "request_id"),
            "decision": "approve",
        },
        allow_redirects=False,
    )
    return (query(done.headers.get("Location", ""))[1].get("code"), verifier), None


def redeem(meta, cfg, code, verifier):
    return requests.post(
        meta["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": cfg["redirect"],
            "client_id": cfg["spa"],
            "code_verifier": verifier,
        },
    )


def main():
    cfg = json.load(sys.stdin)
    a, b = cfg["a"], cfg["b"]
    meta_a, meta_b = discover(a), discover(b)
    report = {"issuer_a": meta_a["issuer"], "issuer_b": meta_b["issuer"]}

    # 1. A's client credentials at B (same client_id, A's secret).
    report["cc_with_a_secret_at_b"] = answer(client_token(meta_b, cfg["client_id"], cfg["secret_a"]))
    report["cc_with_b_secret_at_b"] = answer(client_token(meta_b, cfg["client_id"], cfg["secret_b"]))
    token_a = client_token(meta_a, cfg["client_id"], cfg["secret_a"]).json()["access_token"]
    token_b = client_token(meta_b, cfg["client_id"], cfg["secret_b"]).json()["access_token"]

    # 2. A's token against B's JWKS: no key of B verifies it; A's does.
    kid = jwt.get_unverified_header(token_a)["kid"]
    jwks_a = requests.get(meta_a["jwks_uri"]).json()["keys"]
    jwks_b = requests.get(meta_b["jwks_uri"]).json()["keys"]
    report["kid_in_a"] = any(k["kid"] == kid for k in jwks_a)
    report["kid_in_b"] = any(k["kid"] == kid for k in jwks_b)
    report["jwks_disjoint"] = not ({k["kid"] for k in jwks_a} & {k["kid"] for k in jwks_b})
    failures = []
    for key in jwks_b:
        try:
            jwt.decode(token_a, jwt.PyJWK(key).key, algorithms=[key["alg"]],
                       options={"verify_aud": False})
            failures.append("verified with " + key["kid"])
        except jwt.InvalidTokenError as e:
            failures.append(type(e).__name__)
    report["a_token_with_b_keys"] = failures
    claims = jwt.PyJWKClient(meta_a["jwks_uri"]).get_signing_key_from_jwt(token_a)
    verified = jwt.decode(token_a, claims.key, algorithms=["ES256", "ES384", "RS256"],
                          options={"verify_aud": False})
    report["a_token_iss"] = verified["iss"]

    # 3. B's client (same client_id) introspects A's token at B: inactive; its own: active.
    introspect = lambda meta, secret, token: requests.post(
        meta["introspection_endpoint"], data={"token": token}, auth=(cfg["client_id"], secret)
    ).json()
    report["introspect_a_token_at_b"] = introspect(meta_b, cfg["secret_b"], token_a)
    report["introspect_b_token_at_b"] = introspect(meta_b, cfg["secret_b"], token_b).get("active")

    # 4. B's client revokes A's token at B: A's token stays active at A.
    r = requests.post(meta_b["revocation_endpoint"], data={"token": token_a},
                      auth=(cfg["client_id"], cfg["secret_b"]))
    report["revoke_a_token_at_b"] = r.status_code
    report["a_token_active_at_a_after"] = introspect(meta_a, cfg["secret_a"], token_a).get("active")

    # 5. A's users at B: the user of A only, and the shared username with A's password.
    browser_b = requests.Session()
    _, report["only_a_user_at_b"] = sign_in(browser_b, b, meta_b, cfg, cfg["only_a"], cfg["password_only_a"])
    _, report["a_password_at_b"] = sign_in(browser_b, b, meta_b, cfg, cfg["username"], cfg["password_a"])

    # 6. A's browser session at B: signed in at A, B still asks to sign in.
    browser = requests.Session()
    (code_a, verifier_a), error = sign_in(browser, a, meta_a, cfg, cfg["username"], cfg["password_a"])
    report["sign_in_at_a"] = error
    report["cookies_after_a"] = sorted(browser.cookies.keys())
    _, challenge = pkce()
    r = browser.get(meta_b["authorization_endpoint"],
                    params=authorize_params(cfg, challenge, "s1", prompt="none"),
                    allow_redirects=False)
    report["a_session_at_b_prompt_none"] = query(r.headers.get("Location", ""))[1].get("error")
    # A's session cookie value sent under B's cookie name: unknown session at B.
    [(name_a, value_a)] = [(k, v) for k, v in browser.cookies.items()]
    forged = requests.Session()
    forged.cookies.set(name_a + ".x", value_a)
    for name in [name_a, name_a.split(".")[0]]:
        forged.cookies.set(name, value_a)
    r = forged.get(meta_b["authorization_endpoint"],
                   params=authorize_params(cfg, challenge, "s2", prompt="none"),
                   allow_redirects=False)
    report["a_session_value_at_b"] = query(r.headers.get("Location", ""))[1].get("error")

    # 7. A's authorization code redeemed at B (same public client_id and redirect), then at A.
    report["a_code_at_b"] = answer(redeem(meta_b, cfg, code_a, verifier_a))
    tokens = redeem(meta_a, cfg, code_a, verifier_a)
    report["a_code_at_a"] = tokens.status_code
    tokens = tokens.json()

    # 8. A's user tokens at B: UserInfo, refresh.
    r = requests.get(meta_b["userinfo_endpoint"],
                     headers={"Authorization": "Bearer " + tokens["access_token"]})
    report["a_access_token_userinfo_at_b"] = [r.status_code, r.headers.get("WWW-Authenticate", "")]
    r = requests.get(meta_a["userinfo_endpoint"],
                     headers={"Authorization": "Bearer " + tokens["access_token"]})
    report["a_access_token_userinfo_at_a"] = r.status_code
    refresh = lambda meta: requests.post(meta["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": cfg["spa"]})
    report["a_refresh_at_b"] = answer(refresh(meta_b))
    report["a_refresh_at_a"] = refresh(meta_a).status_code
    print(json.dumps(report))


main()
