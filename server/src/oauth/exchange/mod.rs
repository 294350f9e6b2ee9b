//! OAuth 2.0 Token Exchange (RFC 8693): an authenticated client presents a workload's
//! JWT-SVID or a Kubernetes service-account token and receives an access token whose `sub`
//! is that SPIFFE ID or `system:serviceaccount:NS:NAME`, as far as a configured policy
//! allows (default deny).
//!
//! - [`policy`]: subject patterns and policies.
//! - [`subject`] / [`validator`] / [`k8s`]: validating the subject token (JWT-SVID against
//!   own + federated bundles; service-account tokens by TokenReview in the cluster whose
//!   issuer minted them).
//! - [`decide`]: the decision and the RFC 9068 claims, a plain function of `now`.

pub mod decide;
pub mod error;
pub mod k8s;
pub mod policy;
pub mod service;
pub mod subject;
pub mod validator;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub use decide::{
    ACCESS_TOKEN_TYPE, ExchangeRequest, Exchanged, IssueContext, TOKEN_EXCHANGE_GRANT,
    check_client, decide,
};
pub use error::ExchangeError;
pub use k8s::{ExchangeCluster, KubeReviewers, SubjectTokenReviewer};
pub use policy::{ExchangePolicy, SubjectPattern};
pub use service::TokenExchange;
pub use subject::{JWT_TOKEN_TYPE, Subject, SubjectError, SubjectKind};
pub use validator::{SubjectTokens, ValidateSubject};
