//! [`LeaseApi`] over the `kube` client: `coordination.k8s.io/v1` Leases in one namespace.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;

use super::lease::{LeaseApi, LeaseError, LeaseRecord, Versioned};

/// One named Lease.
#[derive(Clone)]
pub struct KubeLease {
    api: Api<Lease>,
    name: String,
}

impl std::fmt::Debug for KubeLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeLease")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl KubeLease {
    /// The Lease `namespace/name`.
    pub fn new(client: kube::Client, namespace: &str, name: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
        }
    }

    fn object(&self, record: &LeaseRecord, resource_version: Option<&str>) -> Lease {
        let time =
            |t: Option<SystemTime>| t.and_then(|t| Timestamp::try_from(t).ok()).map(MicroTime);
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                resource_version: resource_version.map(str::to_string),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(record.holder.clone()).filter(|h| !h.is_empty()),
                lease_duration_seconds: i32::try_from(record.duration.as_secs()).ok(),
                acquire_time: time(record.acquired),
                renew_time: time(record.renewed),
                lease_transitions: Some(record.transitions),
                ..LeaseSpec::default()
            }),
        }
    }
}

fn error(e: kube::Error) -> LeaseError {
    match e {
        kube::Error::Api(s) if s.code == 409 => LeaseError::Conflict,
        other => LeaseError::Api(other.to_string()),
    }
}

fn written(lease: Lease) -> String {
    lease.metadata.resource_version.unwrap_or_default()
}

impl LeaseApi for KubeLease {
    async fn get(&self) -> Result<Option<Versioned>, LeaseError> {
        let Some(lease) = self.api.get_opt(&self.name).await.map_err(error)? else {
            return Ok(None);
        };
        let spec = lease.spec.unwrap_or_default();
        let time = |t: Option<MicroTime>| t.map(|MicroTime(ts)| SystemTime::from(ts));
        Ok(Some(Versioned {
            record: LeaseRecord {
                holder: spec.holder_identity.unwrap_or_default(),
                duration: Duration::from_secs(
                    u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0),
                ),
                acquired: time(spec.acquire_time),
                renewed: time(spec.renew_time),
                transitions: spec.lease_transitions.unwrap_or(0),
            },
            resource_version: lease.metadata.resource_version.unwrap_or_default(),
        }))
    }

    async fn create(&self, record: &LeaseRecord) -> Result<String, LeaseError> {
        self.api
            .create(&PostParams::default(), &self.object(record, None))
            .await
            .map(written)
            .map_err(error)
    }

    async fn replace(
        &self,
        record: &LeaseRecord,
        resource_version: &str,
    ) -> Result<String, LeaseError> {
        self.api
            .replace(
                &self.name,
                &PostParams::default(),
                &self.object(record, Some(resource_version)),
            )
            .await
            .map(written)
            .map_err(error)
    }
}
