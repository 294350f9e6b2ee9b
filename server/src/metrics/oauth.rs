//! The OAuth token endpoint and browser sign-ins.

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::{Registry, Unit};
use tessera_proto::label_values;
use tessera_proto::metrics::{LatencyFamily, latency_family};

label_values! {
    /// The `grant_type` of a token request (anything unsupported or missing is `other`).
    pub enum GrantType {
        /// `client_credentials`.
        ClientCredentials => "client_credentials",
        /// `authorization_code`.
        AuthorizationCode => "authorization_code",
        /// `refresh_token`.
        RefreshToken => "refresh_token",
        /// `urn:ietf:params:oauth:grant-type:device_code`.
        DeviceCode => "device_code",
        /// `urn:ietf:params:oauth:grant-type:token-exchange`.
        TokenExchange => "token_exchange",
        /// Missing or unsupported.
        Other => "other",
    }
}

label_values! {
    /// How the client authenticated (as presented; a JWT assertion is `private_key_jwt`
    /// whether its key is registered or a JWT-SVID).
    pub enum AuthMethod {
        /// HTTP Basic with the client secret.
        ClientSecretBasic => "client_secret_basic",
        /// `client_secret` in the form.
        ClientSecretPost => "client_secret_post",
        /// A JWT client assertion (RFC 7523).
        PrivateKeyJwt => "private_key_jwt",
        /// Only a `client_id`, with a TLS client certificate (RFC 8705).
        TlsClientAuth => "tls_client_auth",
        /// Only a `client_id`, no certificate: a public client.
        None => "none",
        /// No usable credentials (none, several methods, malformed), or not read yet.
        Invalid => "invalid",
    }
}

/// `ok`, or the RFC 6749 error code the token endpoint answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenResult(&'static str);

impl TokenResult {
    /// Tokens issued.
    pub const OK: Self = Self("ok");

    /// Refused with `code` (an `error` value of RFC 6749 / 8628 / 8693: a fixed set).
    pub fn refused(code: &'static str) -> Self {
        Self(code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TokenLabels {
    grant_type: GrantType,
    auth_method: AuthMethod,
    result: TokenResult,
    /// Only with `[metrics] client_id_labels = true`, and only for authenticated clients.
    client_id: Option<String>,
}

impl EncodeLabelSet for TokenLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        encode_label(encoder, "grant_type", self.grant_type)?;
        encode_label(encoder, "auth_method", self.auth_method)?;
        encode_label(encoder, "result", self.result.0)?;
        if let Some(client_id) = &self.client_id {
            encode_label(encoder, "client_id", client_id)?;
        }
        Ok(())
    }
}

fn encode_label(
    encoder: &mut LabelSetEncoder,
    key: &'static str,
    value: impl EncodeLabelValue,
) -> Result<(), std::fmt::Error> {
    prometheus_client::encoding::EncodeLabel::encode(&(key, value), encoder.encode_label())
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct GrantOnly {
    grant_type: GrantType,
}

/// One token request, as the token endpoint learns it.
#[derive(Debug, Clone, Default)]
pub struct TokenRequestSeen {
    /// From the form, once read.
    pub grant_type: Option<GrantType>,
    /// From the presented credentials, once read.
    pub auth_method: Option<AuthMethod>,
    /// The client id, once authenticated (never a claimed, unverified one).
    pub client_id: Option<String>,
}

/// `oauth_token_requests_total{grant_type, auth_method, result[, client_id]}` and
/// `oauth_token_duration_seconds{grant_type}`.
#[derive(Debug, Clone)]
pub struct TokenMetrics {
    requests: Family<TokenLabels, Counter>,
    duration: LatencyFamily<GrantOnly>,
    client_id_labels: bool,
}

impl Default for TokenMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            duration: latency_family(),
            client_id_labels: false,
        }
    }
}

impl TokenMetrics {
    /// Registered on `registry`; `client_id_labels` adds the authenticated client id.
    pub fn registered(registry: &mut Registry, client_id_labels: bool) -> Self {
        let m = Self {
            client_id_labels,
            ..Self::default()
        };
        registry.register(
            "oauth_token_requests",
            "Token endpoint requests, by grant type, client authentication method and result \
             (ok or the OAuth error code)",
            m.requests.clone(),
        );
        registry.register_with_unit(
            "oauth_token_duration",
            "Token endpoint latency, by grant type",
            Unit::Seconds,
            m.duration.clone(),
        );
        m
    }

    /// Whether `client_id` is a label (`[metrics] client_id_labels`): only then is it worth
    /// noting in [`TokenRequestSeen`].
    pub fn labels_client_ids(&self) -> bool {
        self.client_id_labels
    }

    /// One answered token request.
    pub fn record(&self, seen: TokenRequestSeen, result: TokenResult, elapsed: Duration) {
        let grant_type = seen.grant_type.unwrap_or(GrantType::Other);
        let labels = TokenLabels {
            grant_type,
            auth_method: seen.auth_method.unwrap_or(AuthMethod::Invalid),
            result,
            client_id: seen.client_id.filter(|_| self.client_id_labels),
        };
        self.requests.get_or_create(&labels).inc();
        self.duration
            .get_or_create(&GrantOnly { grant_type })
            .observe(elapsed.as_secs_f64());
    }
}

label_values! {
    /// Which step of the sign-in.
    pub enum LoginFactor {
        /// Username and password.
        Password => "password",
        /// The TOTP second factor.
        Totp => "totp",
    }
}

label_values! {
    /// How a sign-in step ended.
    pub enum LoginResult {
        /// Accepted.
        Success => "success",
        /// Wrong username, password or code.
        Failure => "failure",
        /// Refused by the attempt limits.
        Throttled => "throttled",
        /// The server failed (datastore).
        Error => "error",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LoginLabels {
    factor: LoginFactor,
    result: LoginResult,
}

/// `logins_total{factor, result}`.
#[derive(Debug, Clone, Default)]
pub struct LoginMetrics {
    logins: Family<LoginLabels, Counter>,
}

impl LoginMetrics {
    /// Registered on `registry`.
    pub fn registered(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "logins",
            "Browser sign-in steps, by factor (password, totp) and result (success, failure, \
             throttled, error)",
            m.logins.clone(),
        );
        // Every series exists from the start (at 0), so rates and alerts work at once.
        for factor in [LoginFactor::Password, LoginFactor::Totp] {
            for result in [
                LoginResult::Success,
                LoginResult::Failure,
                LoginResult::Throttled,
                LoginResult::Error,
            ] {
                let _ = m.logins.get_or_create(&LoginLabels { factor, result });
            }
        }
        m
    }

    /// One sign-in step.
    pub fn record(&self, factor: LoginFactor, result: LoginResult) {
        self.logins
            .get_or_create(&LoginLabels { factor, result })
            .inc();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scrape(client_id_labels: bool) -> String {
        let mut registry = Registry::default();
        let m = TokenMetrics::registered(&mut registry, client_id_labels);
        let seen = TokenRequestSeen {
            grant_type: Some(GrantType::ClientCredentials),
            auth_method: Some(AuthMethod::ClientSecretBasic),
            client_id: Some("svc-a".into()),
        };
        m.record(seen, TokenResult::OK, Duration::from_millis(3));
        m.record(
            TokenRequestSeen::default(),
            TokenResult::refused("invalid_client"),
            Duration::from_millis(1),
        );
        tessera_proto::metrics::encode(&registry).unwrap()
    }

    #[test]
    fn client_ids_only_when_opted_in() {
        let off = scrape(false);
        assert!(
            off.contains(
                "oauth_token_requests_total{grant_type=\"client_credentials\",\
                 auth_method=\"client_secret_basic\",result=\"ok\"} 1"
            ),
            "{off}"
        );
        assert!(
            off.contains(
                "oauth_token_requests_total{grant_type=\"other\",auth_method=\"invalid\",\
                 result=\"invalid_client\"} 1"
            ),
            "{off}"
        );
        assert!(!off.contains("svc-a"), "{off}");
        let on = scrape(true);
        assert!(on.contains("result=\"ok\",client_id=\"svc-a\"} 1"), "{on}");
        assert!(
            on.contains("oauth_token_duration_seconds_count{grant_type=\"client_credentials\"} 1"),
            "{on}"
        );
    }
}
