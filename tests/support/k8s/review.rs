//! TokenReview: authenticating a service-account token the way kube-apiserver's service-account
//! authenticator does (issuer, signature, audiences, time with go-jose's one-minute leeway,
//! then the bound service account, pod and node).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};

use super::state::{Cluster, now_unix};
use super::token::SigningKey;

/// go-jose's default leeway for `exp`, `nbf` and `iat`.
const LEEWAY_SECS: i64 = 60;

/// The authenticated user of a token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reviewed {
    pub(crate) user: Value,
    pub(crate) audiences: Vec<String>,
}

/// Authenticates `token` for `requested` audiences (empty: the API server's own audience, the
/// issuer). `Err` carries the text kube-apiserver would put in `status.error`.
pub(crate) fn review(
    token: &str,
    requested: &[String],
    issuer: &str,
    key: &SigningKey,
    cluster: &Cluster,
) -> Result<Reviewed, String> {
    review_inner(token, requested, issuer, key, cluster)
        .map_err(|reason| format!("[invalid bearer token, {reason}]"))
}

fn review_inner(
    token: &str,
    requested: &[String],
    issuer: &str,
    key: &SigningKey,
    cluster: &Cluster,
) -> Result<Reviewed, String> {
    // 1. Is it a JWT from our issuer at all? (the issuer is read before verifying, to pick the
    //    authenticator)
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| "token is not a JWT (token lookup failed)".to_string())?;
    let unverified: Value = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| "token is not a JWT (token lookup failed)".to_string())?;
    if unverified.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(format!(
            "token issuer is not {issuer:?} (no authenticator for it)"
        ));
    }
    // 2. The signature, with the issuer's key (RS256 only).
    if header.alg != Algorithm::RS256 {
        return Err(format!("unexpected signature algorithm {:?}", header.alg));
    }
    let (n, e) = key.components();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_rsa_raw_components(&n, &e),
        &validation,
    )
    .map_err(|_| "go-jose/go-jose: error in cryptographic primitive".to_string())?
    .claims;
    // 3. Audiences: requested ∩ token aud.
    let token_auds: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let requested: Vec<String> = if requested.is_empty() {
        vec![issuer.to_string()]
    } else {
        requested.to_vec()
    };
    let audiences: Vec<String> = token_auds
        .iter()
        .filter(|a| requested.contains(a))
        .cloned()
        .collect();
    if audiences.is_empty() {
        return Err(format!(
            "token audiences {token_auds:?} is invalid for the target audiences {requested:?}"
        ));
    }
    // 4. Time.
    let now = now_unix();
    let num = |name: &str| claims.get(name).and_then(Value::as_i64);
    match num("exp") {
        Some(exp) if now > exp + LEEWAY_SECS => {
            return Err("service account token has expired".to_string());
        }
        None => return Err("service account token has no exp".to_string()),
        _ => {}
    }
    if num("nbf").is_some_and(|nbf| now + LEEWAY_SECS < nbf) {
        return Err("service account token is not valid yet".to_string());
    }
    if num("iat").is_some_and(|iat| now + LEEWAY_SECS < iat) {
        return Err("service account token is issued in the future".to_string());
    }
    // 5. Bound objects still exist with the UIDs in the token.
    let private = claims
        .get("kubernetes.io")
        .ok_or_else(|| "service account token claims missing kubernetes.io".to_string())?;
    let text = |v: &Value, path: &[&str]| -> Option<String> {
        let mut cur = v;
        for p in path {
            cur = cur.get(*p)?;
        }
        cur.as_str().map(str::to_string)
    };
    let namespace = text(private, &["namespace"]).ok_or("token has no namespace claim")?;
    let sa_name =
        text(private, &["serviceaccount", "name"]).ok_or("token has no serviceaccount claim")?;
    let sa_claim_uid = text(private, &["serviceaccount", "uid"]).unwrap_or_default();
    let sa_uid = cluster
        .service_accounts
        .get(&(namespace.clone(), sa_name.clone()))
        .ok_or_else(|| format!("serviceaccounts \"{sa_name}\" not found"))?;
    if *sa_uid != sa_claim_uid {
        return Err(format!(
            "service account UID ({sa_uid}) does not match claim ({sa_claim_uid})"
        ));
    }
    if claims.get("sub").and_then(Value::as_str)
        != Some(format!("system:serviceaccount:{namespace}:{sa_name}").as_str())
    {
        return Err("sub does not match the kubernetes.io claims".to_string());
    }
    let mut extra = Map::new();
    if let Some(pod_name) = text(private, &["pod", "name"]) {
        let claim_uid = text(private, &["pod", "uid"]).unwrap_or_default();
        let pod = cluster
            .pods
            .get(&(namespace.clone(), pod_name.clone()))
            .ok_or("service account token has been invalidated")?;
        if pod.uid != claim_uid {
            return Err(format!(
                "pod UID ({}) does not match claim ({claim_uid})",
                pod.uid
            ));
        }
        extra.insert(
            "authentication.kubernetes.io/pod-name".into(),
            json!([pod_name]),
        );
        extra.insert(
            "authentication.kubernetes.io/pod-uid".into(),
            json!([claim_uid]),
        );
    }
    if let Some(node_name) = text(private, &["node", "name"]) {
        let claim_uid = text(private, &["node", "uid"]).unwrap_or_default();
        let node = cluster
            .nodes
            .get(&node_name)
            .ok_or("service account token has been invalidated")?;
        if node.uid != claim_uid {
            return Err(format!(
                "node UID ({}) does not match claim ({claim_uid})",
                node.uid
            ));
        }
        extra.insert(
            "authentication.kubernetes.io/node-name".into(),
            json!([node_name]),
        );
        extra.insert(
            "authentication.kubernetes.io/node-uid".into(),
            json!([claim_uid]),
        );
    }
    if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
        extra.insert(
            "authentication.kubernetes.io/credential-id".into(),
            json!([format!("JTI={jti}")]),
        );
    }
    Ok(Reviewed {
        user: json!({
            "username": format!("system:serviceaccount:{namespace}:{sa_name}"),
            "uid": sa_uid,
            "groups": [
                "system:serviceaccounts",
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated",
            ],
            "extra": extra,
        }),
        audiences,
    })
}
