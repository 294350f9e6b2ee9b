//! Generated gRPC code for every contract in `protos/`.

/// The SPIFFE Workload API (no proto package: paths are `/SpiffeWorkloadAPI/<Method>`).
pub mod workload {
    tonic::include_proto!("_");
}

/// Tessera's own APIs, versioned by package.
pub mod tessera {
    /// Types shared by the agent and admin APIs.
    pub mod types {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tessera.types.v1");
        }
    }
    /// The agent ↔ server API.
    pub mod agent {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tessera.agent.v1");
        }
    }
    /// The operator (admin) API.
    pub mod admin {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tessera.admin.v1");
        }
    }
}

/// Redacting `Debug` for the messages that carry a password or a TOTP secret (their
/// derived `Debug` is skipped in build.rs).
mod redacted {
    use std::fmt;

    use super::tessera::admin::v1::{CreateUserRequest, EnableTotpResponse, SetPasswordRequest};

    impl fmt::Debug for CreateUserRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("CreateUserRequest")
                .field("user", &self.user)
                .field("password", &"<redacted>")
                .finish()
        }
    }

    impl fmt::Debug for SetPasswordRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SetPasswordRequest")
                .field("user", &self.user)
                .field("password", &"<redacted>")
                .finish()
        }
    }

    impl fmt::Debug for EnableTotpResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("EnableTotpResponse")
                .field("provisioning_uri", &"<redacted>")
                .finish()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn secrets_are_not_printed() {
            let req = CreateUserRequest {
                user: None,
                password: "hunter2hunter2".into(),
            };
            assert!(!format!("{req:?}").contains("hunter2"));
            let req = SetPasswordRequest {
                user: "alice".into(),
                password: "hunter2hunter2".into(),
            };
            assert!(!format!("{req:?}").contains("hunter2"));
            let resp = EnableTotpResponse {
                provisioning_uri: "otpauth://totp/x?secret=ABC".into(),
            };
            assert!(!format!("{resp:?}").contains("secret"));
        }
    }
}
