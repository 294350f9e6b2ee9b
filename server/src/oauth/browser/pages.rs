//! The server-rendered pages (no JavaScript, no styles): every interpolated value is
//! HTML-escaped, and every page carries the security headers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// HTML-escapes `s` for text and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// A page: status, title and body (already escaped HTML).
#[derive(Debug)]
pub struct Page {
    /// HTTP status.
    pub status: StatusCode,
    /// Title (plain text, escaped here).
    pub title: &'static str,
    /// Body HTML.
    pub body: String,
    /// A CSP source allowed as a form target besides `'self'` (the redirect URI's origin:
    /// browsers apply `form-action` to the redirect that answers a form post).
    pub form_target: Option<String>,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>{} — Tessera</title></head>\n<body>\n<h1>{}</h1>\n{}\n</body></html>\n",
            escape(self.title),
            escape(self.title),
            self.body
        );
        let mut response = (self.status, html).into_response();
        let form_action = match &self.form_target {
            Some(source) => format!("'self' {source}"),
            None => "'self'".to_owned(),
        };
        let csp = format!(
            "default-src 'none'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        );
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

pub(super) fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

pub(super) fn error_line(error: Option<&str>) -> String {
    error
        .map(|e| format!("<p role=\"alert\"><strong>{}</strong></p>\n", escape(e)))
        .unwrap_or_default()
}

/// An error page.
pub fn error(status: StatusCode, message: &str) -> Page {
    Page {
        status,
        title: "Sign-in error",
        body: format!("<p>{}</p>", escape(message)),
        form_target: None,
    }
}

/// The hidden fields of a form in a flow.
pub struct FormContext<'a> {
    /// Where the form posts.
    pub action: &'a str,
    /// The session's CSRF token.
    pub csrf: &'a str,
    /// The pending request's id.
    pub request_id: &'a str,
    /// The client's display name.
    pub client_name: &'a str,
    /// The redirect URI's origin as a CSP source.
    pub form_target: Option<String>,
}

impl std::fmt::Debug for FormContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormContext")
            .field("action", &self.action)
            .field("client_name", &self.client_name)
            .finish_non_exhaustive()
    }
}

/// Username + password.
pub fn login(ctx: FormContext<'_>, status: StatusCode, error: Option<&str>) -> Page {
    let body = format!(
        "<p>Sign in to continue to <strong>{client}</strong>.</p>\n{err}\
         <form method=\"post\" action=\"{action}\">\n{csrf}{req}\n\
         <p><label>Username <input name=\"username\" autocomplete=\"username\" required></label></p>\n\
         <p><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\n\
         <p><button type=\"submit\">Sign in</button></p>\n</form>",
        client = escape(ctx.client_name),
        err = error_line(error),
        action = escape(ctx.action),
        csrf = hidden("csrf_token", ctx.csrf),
        req = hidden("request_id", ctx.request_id),
    );
    Page {
        status,
        title: "Sign in",
        body,
        form_target: ctx.form_target,
    }
}

/// The TOTP code.
pub fn totp(ctx: FormContext<'_>, status: StatusCode, error: Option<&str>) -> Page {
    let body = format!(
        "<p>Enter the code from your authenticator app.</p>\n{err}\
         <form method=\"post\" action=\"{action}\">\n{csrf}{req}\n\
         <p><label>Code <input name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required></label></p>\n\
         <p><button type=\"submit\">Verify</button></p>\n</form>",
        err = error_line(error),
        action = escape(ctx.action),
        csrf = hidden("csrf_token", ctx.csrf),
        req = hidden("request_id", ctx.request_id),
    );
    Page {
        status,
        title: "Two-step verification",
        body,
        form_target: ctx.form_target,
    }
}

/// Approve or deny the requested scopes.
pub fn consent(ctx: FormContext<'_>, scopes: &[String]) -> Page {
    let items: String = if scopes.is_empty() {
        "<li>No scopes (sign-in only)</li>".to_owned()
    } else {
        scopes
            .iter()
            .map(|s| format!("<li>{}</li>", escape(s)))
            .collect()
    };
    let body = format!(
        "<p><strong>{client}</strong> asks for access to:</p>\n<ul>{items}</ul>\n\
         <form method=\"post\" action=\"{action}\">\n{csrf}{req}\n\
         <p><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p>\n</form>",
        client = escape(ctx.client_name),
        action = escape(ctx.action),
        csrf = hidden("csrf_token", ctx.csrf),
        req = hidden("request_id", ctx.request_id),
    );
    Page {
        status: StatusCode::OK,
        title: "Authorize access",
        body,
        form_target: ctx.form_target,
    }
}

/// What the sign-out confirmation names and carries (OpenID RP-Initiated Logout).
#[derive(Debug, Default)]
pub struct LogoutContext<'a> {
    /// The display name of the client asking, if one did.
    pub client_name: Option<&'a str>,
    /// Hidden fields carried to the confirmation post (client, redirect URI, state).
    pub fields: Vec<(&'static str, &'a str)>,
    /// The post-logout redirect URI's origin as a CSP source.
    pub form_target: Option<String>,
}

/// Asks to confirm signing out.
pub fn logout(action: &str, csrf: &str, ctx: LogoutContext<'_>) -> Page {
    let who = match ctx.client_name {
        Some(name) => format!(
            "<p><strong>{}</strong> asks to sign you out.</p>\n",
            escape(name)
        ),
        None => String::new(),
    };
    let mut fields: String = ctx.fields.iter().map(|(k, v)| hidden(k, v)).collect();
    fields.push_str(&hidden("confirm", "yes"));
    let body = format!(
        "{who}<form method=\"post\" action=\"{}\">\n{}{fields}\n<p><button type=\"submit\">Sign out</button></p>\n</form>",
        escape(action),
        hidden("csrf_token", csrf)
    );
    Page {
        status: StatusCode::OK,
        title: "Sign out",
        body,
        form_target: ctx.form_target,
    }
}

/// A refused logout request (never a redirect).
pub fn logout_error(status: StatusCode, message: &str) -> Page {
    Page {
        status,
        title: "Sign-out error",
        body: format!("<p>{}</p>", escape(message)),
        form_target: None,
    }
}

/// Signed out.
pub fn signed_out() -> Page {
    Page {
        status: StatusCode::OK,
        title: "Signed out",
        body: "<p>You are signed out.</p>".to_owned(),
        form_target: None,
    }
}
