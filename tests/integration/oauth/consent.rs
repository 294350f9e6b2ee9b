//! Remembered consent is durable: a user approves a (non-first-party) client, the server
//! restarts on the same datastore, and signing in again gets the code with no consent page;
//! a scope not yet approved asks again, and deleting the client forgets the consent. Driven
//! through the real binary over plain HTTP/1.1 with a one-cookie "browser".

use tessera_tests::http::{Reply, form, request};
use tessera_tests::{ServerProcess, free_port};

const PASSWORD: &str = "Consent-Durable-Passw0rd";
const CLIENT: &str = "partner-app";
/// Any well-formed S256 challenge (RFC 7636 appendix B): no token is redeemed here.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// One HTTP answer, read as a page.
type Answer = Reply;

trait Page {
    /// The value of the hidden form field `name`.
    fn field(&self, name: &str) -> String;
    fn is_consent_page(&self) -> bool;
}

impl Page for Reply {
    fn field(&self, name: &str) -> String {
        self.form_field(name)
            .unwrap_or_else(|| panic!("no {name} in:\n{}", self.body))
    }

    fn is_consent_page(&self) -> bool {
        self.status == 200 && self.body.contains("value=\"approve\"")
    }
}

/// A cookie jar of one cookie (the session) talking to the issuer.
struct Browser {
    issuer: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_string(),
            cookie: None,
        }
    }

    fn send(&mut self, method: &str, target: &str, body: &str) -> Answer {
        let cookie: Vec<(&str, &str)> =
            self.cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
        let reply = request(&self.issuer, method, target, &cookie, body);
        for (k, v) in &reply.headers {
            if k.eq_ignore_ascii_case("set-cookie") && v.starts_with("tessera-session=") {
                let pair = v.split(';').next().unwrap().to_string();
                self.cookie = Some(pair).filter(|p| !p.ends_with('='));
            }
        }
        reply
    }

    fn authorize(&mut self, redirect: &str, scope: &str) -> Answer {
        let query = form(&[
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", redirect),
            ("scope", scope),
            ("state", "st-1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        self.send("GET", &format!("/oauth2/authorize?{query}"), "")
    }

    fn post(&mut self, path: &str, page: &Answer, extra: &[(&str, &str)]) -> Answer {
        let csrf = page.field("csrf_token");
        let request_id = page.field("request_id");
        let mut pairs = vec![
            ("csrf_token", csrf.as_str()),
            ("request_id", request_id.as_str()),
        ];
        pairs.extend_from_slice(extra);
        self.send("POST", path, &form(&pairs))
    }

    /// Authorize (not signed in) then the login form; returns what the login answered.
    fn sign_in(&mut self, redirect: &str, scope: &str) -> Answer {
        let login = self.authorize(redirect, scope);
        assert_eq!(login.status, 200, "{}", login.body);
        assert!(login.body.contains("name=\"password\""), "{}", login.body);
        self.post(
            "/oauth2/login",
            &login,
            &[("username", "erin"), ("password", PASSWORD)],
        )
    }
}

fn approve(browser: &mut Browser, page: &Answer) -> String {
    assert!(page.is_consent_page(), "{} {}", page.status, page.body);
    let done = browser.post("/oauth2/consent", page, &[("decision", "approve")]);
    done.code().unwrap_or_else(|| {
        panic!(
            "no code after approving: {} {:?}",
            done.status, done.headers
        )
    })
}

fn register_client(server: &ServerProcess, redirect: &str) {
    server.ok(&[
        "client",
        "create",
        "--client-id",
        CLIENT,
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        redirect,
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--public",
    ]);
}

#[test]
fn remembered_consent_survives_a_restart_and_more_scopes_ask_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, issuer) = super::server(dir.path());
    server.create_user("erin", &[], PASSWORD);
    let redirect = format!("http://127.0.0.1:{}/cb", free_port());
    register_client(&server, &redirect);

    let mut first = Browser::new(&issuer);
    let consent = first.sign_in(&redirect, "openid");
    approve(&mut first, &consent);

    // Same datastore, new process: sessions are gone, the consent is not.
    assert!(server.stop(), "clean shutdown:\n{}", server.log());
    let config = server.config.clone();
    drop(server);
    let server = ServerProcess::start_with(dir.path(), &config);
    let mut second = Browser::new(&issuer);
    let signed_in = second.sign_in(&redirect, "openid");
    assert!(
        signed_in.code().is_some(),
        "after a restart the approved client must get its code without a consent page: {} {}\n{}",
        signed_in.status,
        signed_in.body,
        server.log()
    );

    // A scope not yet approved asks again; once approved, both are remembered.
    let more = second.authorize(&redirect, "openid profile");
    assert!(more.body.contains("<li>profile</li>"), "{}", more.body);
    approve(&mut second, &more);
    let again = second.authorize(&redirect, "openid profile");
    assert!(again.code().is_some(), "{} {}", again.status, again.body);

    // Deleting the client forgets the consent: registered again, it asks again.
    server.ok(&["client", "delete", "--client-id", CLIENT]);
    register_client(&server, &redirect);
    let fresh = second.authorize(&redirect, "openid");
    assert!(fresh.is_consent_page(), "{} {}", fresh.status, fresh.body);

    let log = server.log();
    assert!(!log.contains(PASSWORD), "the password reached the log");
    assert!(log.contains("oauth_consents_forgotten"), "audit event");
}

/// Issue 11 §1, black box: after `user disable` (and after `user set-password`) the same
/// browser asking `/oauth2/authorize` again gets the login page, not a fresh code.
#[test]
fn a_disabled_or_re_passworded_users_browser_session_ends_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    server.create_user("erin", &[], PASSWORD);
    let redirect = format!("http://127.0.0.1:{}/cb", free_port());
    register_client(&server, &redirect);

    let mut browser = Browser::new(&issuer);
    let consent = browser.sign_in(&redirect, "openid");
    approve(&mut browser, &consent);
    let again = browser.authorize(&redirect, "openid");
    assert!(
        again.code().is_some(),
        "signed in: {} {}",
        again.status,
        again.body
    );

    server.ok(&["user", "disable", "--username", "erin"]);
    let after = browser.authorize(&redirect, "openid");
    assert_eq!(after.status, 200, "{}", after.body);
    assert!(after.code().is_none());
    assert!(after.body.contains("name=\"password\""), "{}", after.body);

    // Enabled again, signed in again (disabling forgot the consent: asked again); then a
    // new password ends that session too.
    server.ok(&["user", "update", "--username", "erin", "--enabled", "true"]);
    let consent = browser.sign_in(&redirect, "openid");
    approve(&mut browser, &consent);
    let signed_in = browser.authorize(&redirect, "openid");
    assert!(
        signed_in.code().is_some(),
        "{} {}",
        signed_in.status,
        signed_in.body
    );
    let changed = server.cli_with_stdin(
        &[
            "user",
            "set-password",
            "--username",
            "erin",
            "--password-stdin",
        ],
        "Another-Consent-Passw0rd\n",
    );
    assert!(changed.status.success(), "{changed:?}");
    let after = browser.authorize(&redirect, "openid");
    assert!(after.code().is_none(), "{} {}", after.status, after.body);
    assert!(after.body.contains("name=\"password\""), "{}", after.body);
    assert!(
        server.log().contains("browser_session_ended"),
        "audit event"
    );
}
