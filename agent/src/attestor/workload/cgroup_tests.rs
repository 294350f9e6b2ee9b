//! Recorded `/proc/PID/cgroup` and `/proc/PID/mountinfo` files, one per node layout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

const CID: &str = "9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961";
const POD: &str = "2c48913c-b29f-11e7-9350-020968147796";

fn expect(text: &str) {
    assert_eq!(
        from_cgroup_file(text).unwrap(),
        Some(PodContainer {
            pod_uid: POD.into(),
            container_id: CID.into(),
        }),
        "{text}"
    );
}

fn nothing(text: &str) {
    assert_eq!(from_cgroup_file(text).unwrap(), None, "{text}");
}

/// cgroup v1, cgroupfs driver (docker/containerd on older kubeadm nodes).
const V1_CGROUPFS: &str = "\
12:hugetlb:/kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
11:memory:/kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
10:devices:/kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
9:cpu,cpuacct:/kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
8:pids:/kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
7:net_cls,net_prio:/kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
1:name=systemd:/kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
";

/// cgroup v1, guaranteed QoS (no QoS directory).
const V1_CGROUPFS_GUARANTEED: &str = "\
11:memory:/kubepods/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
1:name=systemd:/kubepods/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
";

/// cgroup v1, systemd driver with docker.
const V1_SYSTEMD_DOCKER: &str = "\
11:pids:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c48913c_b29f_11e7_9350_020968147796.slice/docker-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope
10:memory:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c48913c_b29f_11e7_9350_020968147796.slice/docker-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope
1:name=systemd:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c48913c_b29f_11e7_9350_020968147796.slice/docker-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope
";

/// cgroup v1 hybrid, systemd driver with containerd (with the unified `0::` line).
const V1_SYSTEMD_CONTAINERD: &str = "\
12:cpuset:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2c48913c_b29f_11e7_9350_020968147796.slice/cri-containerd-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope
4:memory:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2c48913c_b29f_11e7_9350_020968147796.slice/cri-containerd-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope
1:name=systemd:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2c48913c_b29f_11e7_9350_020968147796.slice/cri-containerd-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope
0::/
";

/// CRI-O, systemd driver, guaranteed QoS (`kubepods-pod<uid>.slice`).
const V1_SYSTEMD_CRIO: &str = "\
11:memory:/kubepods.slice/kubepods-pod2c48913c_b29f_11e7_9350_020968147796.slice/crio-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope
1:name=systemd:/kubepods.slice/kubepods-pod2c48913c_b29f_11e7_9350_020968147796.slice/crio-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope
";

/// kind: the node is itself a docker container, kubepods nested below it.
const KIND: &str = "\
13:name=systemd:/docker/4b9f7c3c9a6bd4a1d0c9e7d2be1f0e07a0de3d0b6e3c9c77e0f0d8c8a6c5b4a3/kubepods/besteffort/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
12:pids:/docker/4b9f7c3c9a6bd4a1d0c9e7d2be1f0e07a0de3d0b6e3c9c77e0f0d8c8a6c5b4a3/kubepods/besteffort/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
";

/// kind on a cgroup v2 host with systemd driver inside the node container.
const KIND_V2_SYSTEMD: &str = "0::/docker/4b9f7c3c9a6bd4a1d0c9e7d2be1f0e07a0de3d0b6e3c9c77e0f0d8c8a6c5b4a3/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod2c48913c_b29f_11e7_9350_020968147796.slice/cri-containerd-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope\n";

/// cgroup v2, read by an agent in its own cgroup namespace (paths relative to it).
const V2_NAMESPACED: &str = "0::/../../kubepods-besteffort-pod2c48913c_b29f_11e7_9350_020968147796.slice/cri-containerd-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope\n";

/// cgroup v2, read from the host cgroup namespace.
const V2_PLAIN: &str = "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c48913c_b29f_11e7_9350_020968147796.slice/cri-containerd-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope\n";

/// cgroup v2, cgroupfs driver.
const V2_CGROUPFS: &str = "0::/kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961\n";

/// cgroup v2 with CRI-O.
const V2_CRIO: &str = "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c48913c_b29f_11e7_9350_020968147796.slice/crio-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope\n";

#[test]
fn every_kubernetes_layout_yields_pod_and_container() {
    for text in [
        V1_CGROUPFS,
        V1_CGROUPFS_GUARANTEED,
        V1_SYSTEMD_DOCKER,
        V1_SYSTEMD_CONTAINERD,
        V1_SYSTEMD_CRIO,
        KIND,
        KIND_V2_SYSTEMD,
        V2_NAMESPACED,
        V2_PLAIN,
        V2_CGROUPFS,
        V2_CRIO,
    ] {
        expect(text);
    }
}

#[test]
fn not_in_a_pod_yields_nothing() {
    // cgroup v2, the agent's own namespace root or a host process.
    nothing("0::/\n");
    nothing("0::/init.scope\n");
    // A login session.
    nothing("0::/user.slice/user-1000.slice/session-3.scope\n");
    nothing(
        "12:pids:/user.slice/user-1000.slice/user@1000.service\n\
         1:name=systemd:/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome.scope\n\
         0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome.scope\n",
    );
    // A system service.
    nothing("0::/system.slice/containerd.service\n");
    // Docker outside Kubernetes: a container ID but no pod.
    nothing(&format!(
        "12:memory:/docker/{CID}\n1:name=systemd:/docker/{CID}\n"
    ));
    nothing(&format!("0::/system.slice/docker-{CID}.scope\n"));
    // The pod cgroup itself (no container below it) and CRI-O's monitor process.
    nothing(
        "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c48913c_b29f_11e7_9350_020968147796.slice\n",
    );
    nothing(&format!(
        "0::/kubepods.slice/kubepods-pod2c48913c_b29f_11e7_9350_020968147796.slice/crio-conmon-{CID}.scope\n"
    ));
    // Garbage.
    nothing("");
    nothing("no colons here\n");
    nothing("0::/kubepods/burstable/podNOTAUUID/abc\n");
}

#[test]
fn container_before_the_pod_segment_is_not_the_container() {
    // kind's host container ID precedes the pod; with no container after it there is none.
    nothing(
        "1:name=systemd:/docker/4b9f7c3c9a6bd4a1d0c9e7d2be1f0e07a0de3d0b6e3c9c77e0f0d8c8a6c5b4a3/kubepods/besteffort/pod2c48913c-b29f-11e7-9350-020968147796\n",
    );
}

#[test]
fn disagreeing_lines_are_ambiguous() {
    let other = "0".repeat(64);
    let text = format!(
        "11:memory:/kubepods/burstable/pod{POD}/{CID}\n10:pids:/kubepods/burstable/pod{POD}/{other}\n"
    );
    let err = from_cgroup_file(&text).unwrap_err();
    assert_eq!(err.first, CID);
    assert_eq!(err.second, other);
}

#[test]
fn uppercase_and_underscores_are_normalized() {
    let upper = CID.to_ascii_uppercase();
    let pc = from_path(&format!(
        "/kubepods.slice/kubepods-pod2C48913C_B29F_11E7_9350_020968147796.slice/docker-{upper}.scope"
    ))
    .unwrap();
    assert_eq!(pc.pod_uid, POD);
    assert_eq!(pc.container_id, CID);
}

/// A container sharing the host cgroup namespace: its cgroup file was namespaced to `/`
/// for the reader, but its cgroup mounts show where it really is.
const MOUNTINFO: &str = "\
1236 1141 0:155 / / rw,relatime master:398 - overlay overlay rw,lowerdir=/var/lib/containerd/l1,upperdir=/var/lib/containerd/u,workdir=/var/lib/containerd/w
1237 1236 0:158 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1240 1236 0:159 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
1241 1240 0:30 /kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961 /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
1250 1236 259:1 /var/lib/kubelet/pods/2c48913c-b29f-11e7-9350-020968147796/etc-hosts /etc/hosts rw,relatime - ext4 /dev/nvme0n1p1 rw
";

#[test]
fn mountinfo_cgroup_roots() {
    assert_eq!(
        from_mountinfo(MOUNTINFO).unwrap(),
        Some(PodContainer {
            pod_uid: POD.into(),
            container_id: CID.into(),
        })
    );
    // A private cgroup namespace mounts its own root: nothing to learn.
    let private = MOUNTINFO.replace(&format!("/kubepods/burstable/pod{POD}/{CID} "), "/ ");
    assert_eq!(from_mountinfo(&private).unwrap(), None);
    assert_eq!(from_mountinfo("").unwrap(), None);
}
