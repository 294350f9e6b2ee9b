//! One browser sign-in without JavaScript, as `tests/interop/node/pages.mjs` drives it: a
//! fresh cookie jar, `GET /oauth2/authorize` (PKCE S256, state, nonce) → the login form
//! (CSRF token and request id read from the page, the session from `Set-Cookie`) → the
//! consent form when shown → the redirect with `code` → the code grant at `/oauth2/token`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_tests::http::{encode, form};
use tessera_tests::load::{Http1, Reply};

/// The browser client the logins go through.
#[derive(Debug, Clone)]
pub struct App {
    pub addr: SocketAddr,
    pub client_id: String,
    pub redirect_uri: String,
}

/// What one successful login took.
#[derive(Debug, Clone, Copy)]
pub struct Timed {
    /// From the first GET to the token response.
    pub total: Duration,
    /// The login form POST alone (where the password is verified).
    pub login_post: Duration,
    /// The consent page was shown (and approved).
    pub consent: bool,
}

/// The name=value pairs of every `Set-Cookie` seen, newest wins.
#[derive(Debug, Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, reply: &Reply) {
        for line in reply.headers("set-cookie") {
            let pair = line.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.0.retain(|(n, _)| n != name.trim());
            self.0
                .push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }

    fn header(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the hidden field `name` in `page`.
fn field(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let rest = page.split_once(&marker)?.1;
    Some(unescape(rest.split('"').next()?))
}

/// The action of the page's form.
fn action(page: &str) -> Option<String> {
    let rest = page.split_once("<form method=\"post\" action=\"")?.1;
    Some(unescape(rest.split('"').next()?))
}

fn random(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut raw).unwrap();
    URL_SAFE_NO_PAD.encode(raw)
}

/// A step's reply, or why it failed (the step and the status; never a secret).
fn expect(step: &str, reply: std::io::Result<Reply>, ok: &[u16]) -> Result<Reply, String> {
    let reply = reply.map_err(|e| format!("{step}: {}", e.kind()))?;
    if ok.contains(&reply.status) {
        Ok(reply)
    } else if reply.status == 429 {
        Err(format!("{step}: 429 (throttled)"))
    } else {
        Err(format!("{step}: HTTP {}", reply.status))
    }
}

/// The form post of `page` with its CSRF token and request id plus `extra`.
async fn submit(
    conn: &mut Http1,
    jar: &mut Jar,
    step: &str,
    page: &str,
    extra: &[(&str, &str)],
) -> Result<Reply, String> {
    let missing = || format!("{step}: no form in the page");
    let path = action(page).ok_or_else(missing)?;
    let csrf = field(page, "csrf_token").ok_or_else(missing)?;
    let request_id = field(page, "request_id").ok_or_else(missing)?;
    let mut pairs = vec![("csrf_token", csrf.as_str()), ("request_id", &request_id)];
    pairs.extend_from_slice(extra);
    let reply = conn
        .post_form_with_cookie(&path, &jar.header(), &form(&pairs))
        .await;
    let reply = expect(step, reply, &[200, 303])?;
    jar.take(&reply);
    Ok(reply)
}

/// One full sign-in of `username` on a new connection with an empty cookie jar.
pub async fn login(app: &App, username: &str, password: &str) -> Result<Timed, String> {
    let mut conn = Http1::connect(app.addr)
        .await
        .map_err(|e| format!("connect: {}", e.kind()))?;
    let mut jar = Jar::default();
    let verifier = random(32);
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    let state = random(16);
    let authorize = format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile\
         &state={state}&nonce={}&code_challenge={challenge}&code_challenge_method=S256",
        encode(&app.client_id),
        encode(&app.redirect_uri),
        random(16),
    );

    let started = Instant::now();
    let page = expect("authorize", conn.get(&authorize, "").await, &[200])?;
    jar.take(&page);
    let page = String::from_utf8_lossy(&page.body).into_owned();
    let posted = Instant::now();
    let credentials = [("username", username), ("password", password)];
    let mut reply = submit(&mut conn, &mut jar, "login", &page, &credentials).await?;
    let login_post = posted.elapsed();
    let consent = reply.status == 200;
    if consent {
        let page = String::from_utf8_lossy(&reply.body).into_owned();
        if !page.contains("name=\"decision\"") {
            return Err("login: the login page again (credentials refused)".into());
        }
        let approve = [("decision", "approve")];
        reply = submit(&mut conn, &mut jar, "consent", &page, &approve).await?;
    }
    let location = reply.headers("location").next().unwrap_or_default();
    let query = location
        .strip_prefix(app.redirect_uri.as_str())
        .and_then(|rest| rest.strip_prefix('?'))
        .ok_or("redirect: not to the client")?;
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    };
    if param("state") != Some(state.as_str()) {
        return Err("redirect: state differs".into());
    }
    // The code as it came (percent-encoded) is already a valid form value.
    let code = param("code").ok_or("redirect: no code")?;
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={}&code_verifier={verifier}",
        encode(&app.redirect_uri),
        encode(&app.client_id)
    );
    let tokens = expect(
        "token",
        conn.post_form("/oauth2/token", &body).await,
        &[200],
    )?;
    let total = started.elapsed();
    let v: serde_json::Value =
        serde_json::from_slice(&tokens.body).map_err(|_| "token: not JSON".to_owned())?;
    for name in ["access_token", "id_token", "refresh_token"] {
        if !v[name].is_string() {
            return Err(format!("token: no {name}"));
        }
    }
    Ok(Timed {
        total,
        login_post,
        consent,
    })
}
