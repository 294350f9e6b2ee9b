//! What the token endpoint holds for RFC 8693: the subject-token validator and the policies.

use std::sync::Arc;

use super::k8s::{ExchangeCluster, SubjectTokenReviewer};
use super::policy::{ExchangePolicy, SubjectPattern};
use super::validator::{SubjectTokens, ValidateSubject};
use crate::config::TokenExchangeSection;
use crate::oauth::http::TrustBundles;

/// Token exchange as configured: validate the subject token, then apply the policies.
#[derive(Clone)]
pub struct TokenExchange {
    pub(crate) subjects: Arc<dyn ValidateSubject>,
    pub(crate) policies: Arc<[ExchangePolicy]>,
}

impl std::fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchange")
            .field("policies", &self.policies)
            .finish_non_exhaustive()
    }
}

impl TokenExchange {
    /// Exchange with `policies`, validating subject tokens with `subjects`.
    pub fn new(subjects: impl ValidateSubject, policies: Vec<ExchangePolicy>) -> Self {
        Self {
            subjects: Arc::new(subjects),
            policies: policies.into(),
        }
    }

    /// Exchange as configured by `section` for `issuer` (the audience JWT-SVIDs must name),
    /// with the server's trust bundles and a TokenReview client per cluster.
    pub fn from_config<B: TrustBundles, R: SubjectTokenReviewer>(
        section: &TokenExchangeSection,
        issuer: &str,
        bundles: B,
        reviewer: R,
    ) -> Result<Self, String> {
        let subjects = SubjectTokens::new(issuer.to_owned(), clusters(section), bundles, reviewer);
        Ok(Self::new(subjects, policies(section)?))
    }
}

/// The configured clusters.
pub fn clusters(section: &TokenExchangeSection) -> Vec<ExchangeCluster> {
    section
        .k8s_clusters
        .iter()
        .map(|(name, c)| ExchangeCluster {
            name: name.clone(),
            issuer: c.issuer.clone(),
            audiences: c.audiences.clone(),
            kubeconfig: c.kubeconfig.clone(),
        })
        .collect()
}

/// The configured policies, in order.
pub fn policies(section: &TokenExchangeSection) -> Result<Vec<ExchangePolicy>, String> {
    section
        .policy
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Ok(ExchangePolicy {
                subject: SubjectPattern::parse(&p.subject)
                    .map_err(|e| format!("oauth.token_exchange.policy[{i}].subject: {e}"))?,
                clients: p.clients.clone(),
                audiences: p.audiences.clone(),
                scopes: p.scopes.clone(),
            })
        })
        .collect()
}
