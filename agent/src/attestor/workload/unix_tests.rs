#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use super::*;

pub(crate) const PASSWD: &str = "\
# local users
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
+nisuser::1001:1001:::
broken line
web:x:1001:2002:Web Server,,,:/srv/web:/usr/sbin/nologin
shadowed:x:1001:2002::/:/bin/false
";

pub(crate) const GROUP: &str = "\
root:x:0:
adm:x:4:syslog,alice
sudo:x:27:alice
web:x:2002:
:x:999:
";

pub(crate) const STATUS: &str = "Name:\tweb server\nUmask:\t0022\nState:\tS (sleeping)\n\
    Tgid:\t4242\nPid:\t4242\nPPid:\t1\nUid:\t1001\t1001\t1001\t1001\n\
    Gid:\t2002\t2002\t2002\t2002\nFDSize:\t64\nGroups:\t4 27 999 \n";

/// A fixture root: `/etc/{passwd,group}` and `/proc/4242/{status,exe}` (exe → `bin/web`).
pub(crate) fn fixture(exe_contents: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("proc/4242")).unwrap();
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::write(root.join("etc/passwd"), PASSWD).unwrap();
    std::fs::write(root.join("etc/group"), GROUP).unwrap();
    std::fs::write(root.join("proc/4242/status"), STATUS).unwrap();
    std::fs::write(root.join("bin/web"), exe_contents).unwrap();
    std::os::unix::fs::symlink(root.join("bin/web"), root.join("proc/4242/exe")).unwrap();
    dir
}

fn strings(set: SelectorSet) -> Vec<String> {
    set.into_vec().iter().map(ToString::to_string).collect()
}

#[test]
fn names_ids_and_supplementary_groups() {
    let dir = fixture(b"#!/bin/sh\n");
    let mut set = SelectorSet::new();
    assert_eq!(
        UnixAttestor::new(dir.path())
            .attest(4242, &mut set)
            .unwrap(),
        Some(())
    );
    assert_eq!(
        strings(set),
        [
            "unix:gid:2002",
            "unix:group:web",
            "unix:supplementary_gid:27",
            "unix:supplementary_gid:4",
            "unix:supplementary_gid:999",
            "unix:supplementary_group:adm",
            "unix:supplementary_group:sudo",
            "unix:uid:1001",
            "unix:user:web",
        ]
    );
}

#[test]
fn missing_names_only_omit_name_selectors() {
    let dir = fixture(b"");
    std::fs::remove_file(dir.path().join("etc/passwd")).unwrap();
    std::fs::write(dir.path().join("etc/group"), "adm:x:4:\n").unwrap();
    let mut set = SelectorSet::new();
    UnixAttestor::new(dir.path())
        .attest(4242, &mut set)
        .unwrap();
    let got = strings(set);
    assert!(got.contains(&"unix:uid:1001".to_string()), "{got:?}");
    assert!(got.contains(&"unix:supplementary_group:adm".to_string()));
    assert!(!got.iter().any(|s| s.starts_with("unix:user:")), "{got:?}");
    assert!(!got.iter().any(|s| s.starts_with("unix:group:")), "{got:?}");
}

#[test]
fn workload_path_and_sha256() {
    let dir = fixture(b"abc");
    let mut set = SelectorSet::new();
    UnixAttestor::new(dir.path())
        .with_workload_path(DEFAULT_WORKLOAD_SIZE_LIMIT)
        .attest(4242, &mut set)
        .unwrap();
    let got = strings(set);
    let path = format!("unix:path:{}", dir.path().join("bin/web").display());
    assert!(got.contains(&path), "{got:?}");
    // SHA-256("abc"), FIPS 180-2 test vector.
    assert!(
        got.contains(
            &"unix:sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
                .to_string()
        ),
        "{got:?}"
    );
}

#[test]
fn oversized_executables_are_not_hashed() {
    let dir = fixture(&[7u8; 100]);
    let mut set = SelectorSet::new();
    UnixAttestor::new(dir.path())
        .with_workload_path(99)
        .attest(4242, &mut set)
        .unwrap();
    let got = strings(set);
    assert!(got.iter().any(|s| s.starts_with("unix:path:")), "{got:?}");
    assert!(
        !got.iter().any(|s| s.starts_with("unix:sha256:")),
        "{got:?}"
    );
    // Exactly at the limit is fine.
    let mut set = SelectorSet::new();
    UnixAttestor::new(dir.path())
        .with_workload_path(100)
        .attest(4242, &mut set)
        .unwrap();
    assert!(strings(set).iter().any(|s| s.starts_with("unix:sha256:")));
}

#[test]
fn a_vanished_process_is_none() {
    let dir = fixture(b"");
    let mut set = SelectorSet::new();
    assert_eq!(
        UnixAttestor::new(dir.path()).attest(777, &mut set).unwrap(),
        None
    );
    std::fs::remove_file(dir.path().join("proc/4242/exe")).unwrap();
    assert_eq!(
        UnixAttestor::new(dir.path())
            .with_workload_path(10)
            .attest(4242, &mut set)
            .unwrap(),
        None
    );
}

#[test]
fn lookup_skips_comments_nis_and_malformed_lines() {
    assert_eq!(lookup_name(PASSWD, 0), Some("root"));
    assert_eq!(lookup_name(PASSWD, 1001), Some("web"));
    assert_eq!(lookup_name(PASSWD, 5), None);
    assert_eq!(lookup_name(GROUP, 999), None);
    assert_eq!(lookup_name("", 0), None);
}

/// The uid on the `Uid:` line of our own `/proc/self/status`.
pub(crate) fn my_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    crate::attestor::workload::ProcStatus::parse(&status)
        .unwrap()
        .euid()
}

#[test]
fn the_real_current_process() {
    let pid = i32::try_from(std::process::id()).unwrap();
    let mut set = SelectorSet::new();
    UnixAttestor::new("/")
        .with_workload_path(DEFAULT_WORKLOAD_SIZE_LIMIT)
        .attest(pid, &mut set)
        .unwrap()
        .unwrap();
    let got = strings(set);
    assert!(got.contains(&format!("unix:uid:{}", my_uid())), "{got:?}");
    let exe = std::env::current_exe().unwrap();
    assert!(
        got.contains(&format!("unix:path:{}", exe.display())),
        "{got:?}"
    );
    assert!(got.iter().any(|s| s.starts_with("unix:sha256:")), "{got:?}");
    assert!(Path::new("/proc/self/exe").exists());
}
