//! OpenID Connect RP-Initiated Logout at `/oauth2/logout`: the hint is verified with the
//! server's own JWKS, the redirect URI must be registered exactly, and only the confirmed
//! form (CSRF token) ends the session.

mod fixture;
mod flow;
mod refusals;
