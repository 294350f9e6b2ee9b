//! A request id for every OAuth HTTP request: a `request` span carrying `request_id` (the
//! audit trail's `request_id`) around the handler, and the same id in the `X-Request-Id`
//! answer header. An id the client sent is not trusted (it would let a caller forge audit
//! correlation): a fresh one is always made.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::datastore::TenantId;

/// The answer header carrying the id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// 96 random bits, hex (`None` when the generator fails: the request goes on without one).
fn new_id() -> Option<String> {
    let mut raw = [0u8; 12];
    aws_lc_rs::rand::fill(&mut raw).ok()?;
    Some(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// The middleware (`tenant`: whose surface serves the request; audit records carry it).
pub(crate) async fn with_request_id(
    State(tenant): State<TenantId>,
    request: Request,
    next: Next,
) -> Response {
    let Some(id) = new_id() else {
        return next.run(request).await;
    };
    let span = tracing::info_span!("request", request_id = %id, tenant = %tenant);
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}
