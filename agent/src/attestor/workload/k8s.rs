//! The `k8s` workload attestor: pod UID and container ID from the caller's cgroups, then
//! the pod and container from the kubelet's pod list.

use std::time::Duration;

use super::WorkloadAttestError;
use super::cgroup::{self, PodContainer};
use super::kubelet::KubeletClient;
use super::pods::{self, Lookup};
use super::procfs::ProcFs;
use super::selectors::SelectorSet;

/// Default for `max_poll_attempts`.
pub const DEFAULT_MAX_POLL_ATTEMPTS: u32 = 10;
/// Default for `poll_interval`.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Selectors of kind `k8s`.
#[derive(Debug, Clone)]
pub struct K8sAttestor {
    procfs: ProcFs,
    kubelet: KubeletClient,
    max_poll_attempts: u32,
    poll_interval: Duration,
}

impl K8sAttestor {
    /// An attestor reading `/proc` under `root` and asking `kubelet`.
    pub fn new(root: impl Into<std::path::PathBuf>, kubelet: KubeletClient) -> Self {
        Self {
            procfs: ProcFs::new(root),
            kubelet,
            max_poll_attempts: DEFAULT_MAX_POLL_ATTEMPTS,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// Fetch the pod list up to `attempts` times (at least once), `interval` apart, while
    /// the container is not listed yet.
    pub fn with_polling(mut self, attempts: u32, interval: Duration) -> Self {
        self.max_poll_attempts = attempts.max(1);
        self.poll_interval = interval;
        self
    }

    /// Where `pid` sits in Kubernetes; `Ok(None)` when it is not in a pod container.
    pub fn locate(&self, pid: i32) -> Result<Option<PodContainer>, WorkloadAttestError> {
        let read = |file: &str| {
            self.procfs
                .read(pid, file)
                .map_err(|e| WorkloadAttestError::Failed(format!("/proc/{pid}/{file}: {e}")))?
                .ok_or(WorkloadAttestError::ProcessChanged)
        };
        let ambiguous = |e: cgroup::Ambiguous| WorkloadAttestError::Failed(e.to_string());
        if let Some(pc) = cgroup::from_cgroup_file(&read("cgroup")?).map_err(ambiguous)? {
            return Ok(Some(pc));
        }
        cgroup::from_mountinfo(&read("mountinfo")?).map_err(ambiguous)
    }

    /// Adds the `k8s` selectors of `pid` to `out` (none when it is not in a pod).
    pub async fn attest(&self, pid: i32, out: &mut SelectorSet) -> Result<(), WorkloadAttestError> {
        let Some(pc) = self.locate(pid)? else {
            return Ok(());
        };
        for attempt in 1..=self.max_poll_attempts {
            let list = self
                .kubelet
                .pods()
                .await
                .map_err(|e| WorkloadAttestError::Unavailable(e.to_string()))?;
            match pods::find(&list, &pc.pod_uid, &pc.container_id) {
                Lookup::Found(pod, status) => {
                    pods::selectors(pod, status, out);
                    return Ok(());
                }
                Lookup::Ambiguous => {
                    return Err(WorkloadAttestError::Failed(format!(
                        "two pods list container {}",
                        pc.container_id
                    )));
                }
                Lookup::NotListed => {
                    tracing::debug!(
                        pod_uid = %pc.pod_uid,
                        container_id = %pc.container_id,
                        attempt,
                        max = self.max_poll_attempts,
                        "container not in the kubelet's pod list yet"
                    );
                }
            }
            if attempt < self.max_poll_attempts {
                tokio::time::sleep(self.poll_interval).await;
            }
        }
        tracing::warn!(
            pod_uid = %pc.pod_uid,
            container_id = %pc.container_id,
            attempts = self.max_poll_attempts,
            "container never appeared in the kubelet's pod list"
        );
        Err(WorkloadAttestError::Unavailable(format!(
            "container {} of pod {} is not in the kubelet's pod list after {} attempts",
            pc.container_id, pc.pod_uid, self.max_poll_attempts
        )))
    }
}
