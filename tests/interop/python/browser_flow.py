"""Drives Tessera's browser sign-in like a browser without JavaScript would: discovery,
GET authorize (PKCE S256), the login form, the consent form, and the redirect back.

Usage: browser_flow.py ISSUER CLIENT_ID REDIRECT_URI USERNAME  (password on stdin)
Prints a JSON report of what it saw.
"""

import base64
import hashlib
import json
import secrets
import sys

import requests

from forms import action, field, query


def main():
    issuer, client_id, redirect_uri, username = sys.argv[1:5]
    password = sys.stdin.read().strip()
    report = {}
    browser = requests.Session()
    discovery = browser.get(issuer + "/.well-known/openid-configuration").json()
    endpoint = discovery["authorization_endpoint"]
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid",
        "state": state,
        "nonce": "n-" + state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    # prompt=none before signing in: login_required, back to the client.
    r = browser.get(endpoint, params=dict(params, prompt="none"), allow_redirects=False)
    report["prompt_none"] = [r.status_code, query(r.headers.get("Location", ""))[1]]

    login = browser.get(endpoint, params=params, allow_redirects=False)
    report["login_status"] = login.status_code
    report["login_headers"] = {
        k: login.headers.get(k)
        for k in ["Content-Security-Policy", "X-Frame-Options", "Set-Cookie"]
    }
    before = dict(browser.cookies)
    # A post without the CSRF token is refused.
    forged = browser.post(
        action(issuer, login.text),
        data={"request_id": field(login.text, "request_id"), "username": username, "password": password},
        allow_redirects=False,
    )
    report["forged_status"] = forged.status_code
    consent = browser.post(
        action(issuer, login.text),
        data={
            "csrf_token": field(login.text, "csrf_token"),
            "request_id": field(login.text, "request_id"),
            "username": username,
            "password": password,
        },
        allow_redirects=False,
    )
    report["consent_status"] = consent.status_code
    report["session_changed"] = dict(browser.cookies) != before and bool(before)
    done = browser.post(
        action(issuer, consent.text),
        data={
            "csrf_token": field(consent.text, "csrf_token"),
            "request_id": field(consent.text, "request_id"),
            "decision": "approve",
        },
        allow_redirects=False,
    )
    report["final_status"] = done.status_code
    base, result = query(done.headers.get("Location", ""))
    report["redirect_base"] = base
    report["state_ok"] = result.get("state") == state
    report["iss"] = result.get("iss")
    report["has_code"] = bool(result.get("code"))
    # Consent is remembered: prompt=none now answers with a code at once.
    again = browser.get(endpoint, params=dict(params, prompt="none"), allow_redirects=False)
    report["again"] = [again.status_code, sorted(query(again.headers.get("Location", ""))[1])]
    print(json.dumps(report))


main()
