//! Validating a `subject_token`: a Kubernetes service-account token when its `iss` is a
//! configured cluster's issuer (TokenReview decides), otherwise a JWT-SVID whose audience
//! must be the issuer (own and federated bundles decide).

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use tessera_proto::jwt_svid::validate_jwt_svid;

use super::k8s::{ExchangeCluster, SubjectTokenReviewer, check_review, cluster_for};
use super::subject::{JWT_TOKEN_TYPE, Subject, SubjectError, unverified_claims};
use crate::oauth::clients::audience_values;
use crate::oauth::http::TrustBundles;

/// Validates subject tokens with the trust bundles and the clusters' TokenReview.
#[derive(Debug)]
pub struct SubjectTokens<B, R> {
    issuer: String,
    clusters: Vec<ExchangeCluster>,
    bundles: B,
    reviewer: R,
}

impl<B: TrustBundles, R: SubjectTokenReviewer> SubjectTokens<B, R> {
    /// JWT-SVIDs must name `issuer` as audience; service-account tokens are reviewed in the
    /// cluster of `clusters` whose issuer minted them.
    pub fn new(issuer: String, clusters: Vec<ExchangeCluster>, bundles: B, reviewer: R) -> Self {
        Self {
            issuer,
            clusters,
            bundles,
            reviewer,
        }
    }

    /// The TokenReview port (tests inspect their fake through it).
    #[cfg(test)]
    pub(crate) fn reviewer(&self) -> &R {
        &self.reviewer
    }

    /// The subject `token` (of `token_type`) proves at `now`.
    pub async fn validate(
        &self,
        token: &str,
        token_type: &str,
        now: SystemTime,
    ) -> Result<Subject, SubjectError> {
        if token_type != JWT_TOKEN_TYPE {
            return Err(SubjectError::UnsupportedType);
        }
        let claims = unverified_claims(token)?;
        if let Some(cluster) = cluster_for(&self.clusters, &claims) {
            let status = self
                .reviewer
                .review(&cluster.name, token, &cluster.audiences)
                .await
                .map_err(|e| SubjectError::Unavailable(format!("cluster {}: {e}", cluster.name)))?;
            return check_review(cluster, &status, &claims, token);
        }
        let bundles = self
            .bundles
            .bundles()
            .await
            .map_err(|e| SubjectError::Unavailable(format!("trust bundles: {e}")))?;
        let jwt = validate_jwt_svid(token, &self.issuer, &bundles, now)?;
        // An audience under the issuer (the token endpoint, introspection, …) marks a
        // client assertion: one JWT-SVID never serves both uses (issue 11 §4).
        let endpoints = format!("{}/", self.issuer.trim_end_matches('/'));
        if audience_values(&jwt.claims).any(|a| a.starts_with(&endpoints)) {
            return Err(SubjectError::ClientAssertionAudience);
        }
        Subject::from_jwt_svid(&jwt)
    }
}

/// A boxed future of a subject.
pub type SubjectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Subject, SubjectError>> + Send + 'a>>;

/// The object-safe face of [`SubjectTokens`], so the HTTP server holds it without more
/// generic parameters.
pub trait ValidateSubject: Send + Sync + 'static {
    /// See [`SubjectTokens::validate`].
    fn validate<'a>(
        &'a self,
        token: &'a str,
        token_type: &'a str,
        now: SystemTime,
    ) -> SubjectFuture<'a>;
}

impl<B: TrustBundles, R: SubjectTokenReviewer> ValidateSubject for SubjectTokens<B, R> {
    fn validate<'a>(
        &'a self,
        token: &'a str,
        token_type: &'a str,
        now: SystemTime,
    ) -> SubjectFuture<'a> {
        Box::pin(SubjectTokens::validate(self, token, token_type, now))
    }
}
