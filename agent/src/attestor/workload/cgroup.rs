//! Pod UID and container ID of a process from `/proc/PID/cgroup` (and, when that shows
//! nothing, the cgroup mount roots of `/proc/PID/mountinfo`).
//!
//! One rule covers every layout Kubernetes nodes produce (cgroupfs v1, systemd slices with
//! docker/containerd/CRI-O scopes, kind's nested `/docker/<host>/kubepods/...`, cgroup v2
//! with or without namespace-relative `/../..` prefixes): within one cgroup path, the pod
//! is the last segment holding `pod<uuid>` (`_` as `-`), and the container is the last
//! segment *after it* whose final `-`-separated token (less `.scope`) is 64 hex digits. A
//! path without both is not a pod container — `0::/`, `user.slice`, a plain docker
//! container — and yields nothing, which is not an error.

/// Where a process sits in Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodContainer {
    /// The pod's UID, dashed (`2c48913c-b29f-11e7-9350-020968147796`).
    pub pod_uid: String,
    /// The container's runtime ID (64 lowercase hex digits).
    pub container_id: String,
}

/// The process's cgroup lines disagree (two different containers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cgroups name more than one container: {first} and {second}")]
pub struct Ambiguous {
    /// One container ID.
    pub first: String,
    /// Another.
    pub second: String,
}

/// Parses `/proc/PID/cgroup` (`hierarchy:controllers:path` per line).
pub fn from_cgroup_file(text: &str) -> Result<Option<PodContainer>, Ambiguous> {
    unique(text.lines().filter_map(|line| {
        let mut parts = line.splitn(3, ':');
        let _hierarchy = parts.next()?;
        let _controllers = parts.next()?;
        parts.next()
    }))
}

/// Parses `/proc/PID/mountinfo`: the root (field 4) of every `cgroup`/`cgroup2` mount.
/// Used when the process's cgroup file is namespaced down to `/`: a container that
/// shares the host cgroup namespace mounts its own cgroup directory as the root.
pub fn from_mountinfo(text: &str) -> Result<Option<PodContainer>, Ambiguous> {
    unique(text.lines().filter_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        let fstype = fs.split_whitespace().next()?;
        if fstype != "cgroup" && fstype != "cgroup2" {
            return None;
        }
        mount.split_whitespace().nth(3)
    }))
}

/// Every path's pod container; all must agree.
fn unique<'a>(paths: impl Iterator<Item = &'a str>) -> Result<Option<PodContainer>, Ambiguous> {
    let mut found: Option<PodContainer> = None;
    for pc in paths.filter_map(from_path) {
        match &found {
            None => found = Some(pc),
            Some(f) if f.container_id != pc.container_id || f.pod_uid != pc.pod_uid => {
                return Err(Ambiguous {
                    first: f.container_id.clone(),
                    second: pc.container_id,
                });
            }
            Some(_) => {}
        }
    }
    Ok(found)
}

/// The pod container of one cgroup path, if it has one.
pub fn from_path(path: &str) -> Option<PodContainer> {
    let segments: Vec<&str> = path.split('/').collect();
    let (pod_at, pod_uid) = segments
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, s)| pod_uid(s).map(|uid| (i, uid)))?;
    let container_id = segments
        .iter()
        .skip(pod_at.saturating_add(1))
        .rev()
        .find_map(|s| container_id(s))?;
    Some(PodContainer {
        pod_uid,
        container_id,
    })
}

/// `pod<uuid>` anywhere in a segment (`pod1f2e…`, `kubepods-burstable-pod1f2e_….slice`).
fn pod_uid(segment: &str) -> Option<String> {
    let segment = segment.strip_suffix(".slice").unwrap_or(segment);
    let (_, uid) = segment.rsplit_once("pod")?;
    is_uuid(uid).then(|| uid.replace('_', "-").to_ascii_lowercase())
}

/// 8-4-4-4-12 hex digits separated by `-` or `_`.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split(['-', '_']).collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8usize, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A 64-hex container ID, bare or as `<runtime>-<id>.scope` (`docker-`, `cri-containerd-`,
/// `crio-`). CRI-O's `crio-conmon-<id>.scope` is the container's monitor, not the
/// container, and is not matched.
fn container_id(segment: &str) -> Option<String> {
    let segment = segment.strip_suffix(".scope").unwrap_or(segment);
    if segment.starts_with("crio-conmon-") {
        return None;
    }
    let id = segment.rsplit('-').next()?;
    (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_ascii_lowercase())
}

#[cfg(test)]
#[path = "cgroup_tests.rs"]
mod tests;
