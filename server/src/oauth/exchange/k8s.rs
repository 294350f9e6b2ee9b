//! Kubernetes projected service-account tokens as subject tokens: the cluster is chosen by
//! the token's (unverified) `iss`, the token is authenticated by that cluster's TokenReview
//! API (the same `kube` client as the `k8s_psat` node attestor), and the subject is the
//! reviewed `system:serviceaccount:NS:NAME`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::policy::SERVICE_ACCOUNT_PREFIX;
use super::subject::{Subject, SubjectError, SubjectKind, numeric_date};
use crate::attestation::{KubeApi, KubeApiError, KubeClient, TokenReviewStatus};

/// One cluster whose service-account tokens may be exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeCluster {
    /// The configured name.
    pub name: String,
    /// The tokens' `iss` (the API server's `--service-account-issuer`).
    pub issuer: String,
    /// The audiences asked of TokenReview; the token must carry one of them.
    pub audiences: Vec<String>,
    /// Kubeconfig to reach the API server; `None`: in-cluster configuration.
    pub kubeconfig: Option<PathBuf>,
}

/// TokenReview in a named cluster: the small port the exchange needs from Kubernetes.
pub trait SubjectTokenReviewer: Send + Sync + 'static {
    /// Creates a TokenReview of `token` for `audiences` in cluster `cluster`.
    fn review(
        &self,
        cluster: &str,
        token: &str,
        audiences: &[String],
    ) -> impl Future<Output = Result<TokenReviewStatus, KubeApiError>> + Send;
}

/// [`SubjectTokenReviewer`] over one `kube` client per cluster.
#[derive(Debug, Default)]
pub struct KubeReviewers {
    clients: BTreeMap<String, KubeClient>,
}

impl KubeReviewers {
    /// A client per cluster (its kubeconfig, else in-cluster config). Needs a tokio runtime.
    pub async fn connect(clusters: &[ExchangeCluster]) -> Result<Self, KubeApiError> {
        let mut clients = BTreeMap::new();
        for cluster in clusters {
            let client = KubeClient::new(cluster.kubeconfig.as_deref())
                .await
                .map_err(|e| KubeApiError::Config(format!("cluster {}: {e}", cluster.name)))?;
            clients.insert(cluster.name.clone(), client);
        }
        Ok(Self { clients })
    }
}

impl SubjectTokenReviewer for KubeReviewers {
    async fn review(
        &self,
        cluster: &str,
        token: &str,
        audiences: &[String],
    ) -> Result<TokenReviewStatus, KubeApiError> {
        let client = self
            .clients
            .get(cluster)
            .ok_or_else(|| KubeApiError::Config(format!("no client for cluster {cluster}")))?;
        client.token_review(token, audiences).await
    }
}

/// The cluster whose issuer minted `claims` (by exact `iss`), if any.
pub fn cluster_for<'a>(
    clusters: &'a [ExchangeCluster],
    claims: &Map<String, Value>,
) -> Option<&'a ExchangeCluster> {
    let iss = claims.get("iss").and_then(Value::as_str)?;
    clusters.iter().find(|c| c.issuer == iss)
}

/// Longest excerpt of the API server's `status.error` kept in a reason.
const ERROR_EXCERPT: usize = 120;

/// Shortest run of token-like characters (base64url and `.`) that is redacted from an API
/// server's error: longer than any word of a TokenReview error, shorter than any token part.
const TOKEN_LIKE_RUN: usize = 24;

/// The API server's `status.error`, safe to log: `token` (whole), and any long run of
/// token-like characters (a quoted or cut-off piece of a token), become `<token>`; then cut
/// to [`ERROR_EXCERPT`] characters — after redaction, so a cut cannot hide a token piece.
pub fn redact_review_error(error: &str, token: &str) -> String {
    let error = if token.is_empty() {
        error.to_owned()
    } else {
        error.replace(token, "<token>")
    };
    let token_like = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = String::with_capacity(error.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= TOKEN_LIKE_RUN {
            out.push_str("<token>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in error.chars() {
        if token_like(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out.chars().take(ERROR_EXCERPT).collect()
}

/// Judges a TokenReview's result for `token`: authenticated (`true`, no error), one of the
/// cluster's audiences, a service-account username, and an `exp` in the (now authenticated)
/// claims. The API server's error is redacted ([`redact_review_error`]) before it is kept.
pub fn check_review(
    cluster: &ExchangeCluster,
    status: &TokenReviewStatus,
    claims: &Map<String, Value>,
    token: &str,
) -> Result<Subject, SubjectError> {
    let refuse = |reason: String| SubjectError::Kubernetes {
        cluster: cluster.name.clone(),
        reason,
    };
    if status.authenticated != Some(true) {
        let error = redact_review_error(status.error.as_deref().unwrap_or("no error given"), token);
        return Err(refuse(format!("token not authenticated: {error}")));
    }
    if status.error.as_deref().is_some_and(|e| !e.is_empty()) {
        return Err(refuse("TokenReview reported an error".into()));
    }
    if !status
        .audiences
        .iter()
        .any(|a| cluster.audiences.contains(a))
    {
        return Err(refuse(
            "token carries none of the configured audiences".into(),
        ));
    }
    let username = status.username.as_str();
    let valid_sa = username
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains(':'));
    if !valid_sa {
        return Err(refuse("the token is not a service-account token".into()));
    }
    // Projected tokens always expire; legacy (secret-based) tokens do not and are refused.
    let expires_at = numeric_date(claims, "exp")
        .ok_or_else(|| refuse("the token has no exp (not a projected token)".into()))?;
    Ok(Subject {
        id: username.to_owned(),
        kind: SubjectKind::ServiceAccount {
            cluster: cluster.name.clone(),
        },
        expires_at,
    })
}
