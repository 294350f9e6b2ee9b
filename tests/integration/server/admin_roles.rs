//! Admin roles through the real binary: `[[admin_bindings]]` give socket callers (other
//! uids, via `setpriv`) a role each; the gate refuses what a role lacks with the missing
//! permission named, `whoami` shows the role, and only role admin grants admin roles.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use tessera_tests::{ServerProcess, bin, run_with_stdin};

use crate::workload::as_uid;

const AUDITOR: u32 = 65531;
const OPERATOR: u32 = 65532;
const IDENTITY_ADMIN: u32 = 65530;
/// Bound by its primary gid only.
const BY_GROUP: u32 = 65529;
/// identity-admin of tenant `acme` only.
const ACME_ADMIN: u32 = 65528;

struct Roles {
    server: ServerProcess,
    socket: String,
    _dir: tempfile::TempDir,
}

impl Roles {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = format!(
            "{}[[admin_bindings]]\nuid = {AUDITOR}\nrole = \"auditor\"\n\
             [[admin_bindings]]\nuid = {OPERATOR}\nrole = \"operator\"\n\
             [[admin_bindings]]\nuid = {IDENTITY_ADMIN}\nrole = \"identity-admin\"\n\
             [[admin_bindings]]\ngid = {BY_GROUP}\nrole = \"auditor\"\n\
             [[admin_bindings]]\nuid = {ACME_ADMIN}\nrole = \"identity-admin\"\ntenant = \"acme\"\n",
            super::config()
        );
        let server = ServerProcess::start(dir.path(), &config);
        // The data directory is private: let others traverse (not list) it to the socket,
        // whose own mode (0666) lets them connect.
        let mut p = server.socket.clone();
        while p.pop() && p.starts_with(dir.path()) && p != dir.path() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o711)).unwrap();
        }
        let mode = std::fs::metadata(&server.socket)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o666);
        let socket = server.socket.to_str().unwrap().to_string();
        Self {
            server,
            socket,
            _dir: dir,
        }
    }

    fn as_uid(&self, uid: u32, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--socket", &self.socket]);
        as_uid(uid, &bin("tessera-server"), &all)
    }

    /// Runs `args` as `uid` and expects the gate's refusal naming `role` and `permission`.
    fn refused(&self, uid: u32, args: &[&str], role: &str, permission: &str) {
        let out = self.as_uid(uid, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "server refused: role \"{role}\" lacks permission \"{permission}\" (caller: uid \
                 {uid}) (PermissionDenied)"
            )),
            "{args:?}: {err}"
        );
    }

    fn ok(&self, uid: u32, args: &[&str]) -> String {
        let out = self.as_uid(uid, args);
        assert!(
            out.status.success(),
            "{args:?} as {uid}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

const ENTRY: &[&str] = &[
    "entry",
    "create",
    "--parent-id",
    "spiffe://example.org/tessera/agent/n1",
    "--spiffe-id",
    "spiffe://example.org/web",
    "--selector",
    "unix:uid:1000",
];

fn with(base: &[&'static str], extra: &[&'static str]) -> Vec<&'static str> {
    base.iter().chain(extra).copied().collect()
}

#[test]
fn each_role_gets_its_permissions_only() {
    let roles = Roles::start();
    // auditor: reads, never writes.
    roles.ok(AUDITOR, &["entry", "show"]);
    roles.ok(AUDITOR, &["user", "list"]);
    roles.refused(AUDITOR, ENTRY, "auditor", "entries.write");
    roles.refused(
        AUDITOR,
        &["token", "generate"],
        "auditor",
        "join_tokens.create",
    );
    // operator: entries yes, users no.
    roles.ok(OPERATOR, ENTRY);
    let create_user = [
        "user",
        "create",
        "--username",
        "mallory",
        "--password-stdin",
    ];
    let mut args: Vec<&str> = create_user.to_vec();
    args.extend(["--socket", &roles.socket]);
    let out = run_with_stdin(
        Command::new("setpriv")
            .args([
                format!("--reuid={OPERATOR}"),
                format!("--regid={OPERATOR}"),
                "--clear-groups".into(),
            ])
            .arg(bin("tessera-server"))
            .args(&args)
            .current_dir("/"),
        "correct horse battery staple\n",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "role \"operator\" lacks permission \"users.write\" (caller: uid {OPERATOR})"
        )),
        "{err}"
    );
    // identity-admin: users yes, entries no.
    roles.ok(IDENTITY_ADMIN, &["user", "list"]);
    roles.refused(
        IDENTITY_ADMIN,
        &["entry", "show"],
        "identity-admin",
        "entries.read",
    );
    // A primary-gid binding.
    let me: serde_json::Value =
        serde_json::from_str(&roles.ok(BY_GROUP, &["whoami", "--output", "json"])).unwrap();
    assert_eq!(me["role"], "auditor");
    assert_eq!(me["principal"], format!("uid {BY_GROUP} (gid {BY_GROUP})"));
    // The refusals are audited.
    let log = roles.server.log();
    assert!(log.contains("admin_denied"), "{log}");
}

#[test]
fn whoami_shows_the_callers_role() {
    let roles = Roles::start();
    let me: serde_json::Value =
        serde_json::from_str(&roles.ok(AUDITOR, &["whoami", "--output", "json"])).unwrap();
    assert_eq!(me["role"], "auditor");
    assert_eq!(me["principal"], format!("uid {AUDITOR}"));
    assert!(me["tenant"].is_null());
    let perms: Vec<&str> = me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(perms.contains(&"entries.read") && !perms.contains(&"entries.write"));
    let pretty = roles.server.ok(&["whoami"]);
    assert!(pretty.contains("Role        : admin"), "{pretty}");
}

#[test]
fn only_role_admin_grants_admin_roles() {
    let roles = Roles::start();
    let out = roles.as_uid(OPERATOR, &with(ENTRY, &["--admin-role", "auditor"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "server refused: role \"operator\" may not grant admin role \"auditor\": only role \
             \"admin\" may create or change admin-role entries (PermissionDenied)"
        ),
        "{err}"
    );
    let out = roles.as_uid(OPERATOR, &with(ENTRY, &["--admin"]));
    assert_eq!(out.status.code(), Some(1));
    // The server's own uid is admin: it may.
    let created: serde_json::Value = serde_json::from_str(&roles.server.ok(&with(
        ENTRY,
        &["--admin-role", "operator", "--output", "json"],
    )))
    .unwrap();
    let entry = &created["entries"][0];
    assert_eq!(entry["admin_role"], "operator");
    assert_eq!(entry["admin"], false);
    // An operator may not change an entry that has a role either.
    let id = entry["id"].as_str().unwrap();
    let update = [
        "entry",
        "update",
        "--entry-id",
        id,
        "--parent-id",
        "spiffe://example.org/tessera/agent/n1",
        "--spiffe-id",
        "spiffe://example.org/web",
        "--selector",
        "unix:uid:0",
    ];
    let out = roles.as_uid(OPERATOR, &update);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let legacy: serde_json::Value = serde_json::from_str(&roles.server.ok(&with(
        ENTRY,
        &["--admin", "--selector", "unix:uid:2", "--output", "json"],
    )))
    .unwrap();
    assert_eq!(legacy["entries"][0]["admin_role"], "admin");
    assert_eq!(legacy["entries"][0]["admin"], true);
}

#[test]
fn a_tenant_limited_binding_acts_only_in_its_tenant() {
    let roles = Roles::start();
    roles.server.ok(&["tenant", "create", "--id", "acme"]);
    roles.ok(ACME_ADMIN, &["user", "list", "--tenant", "acme"]);
    let me: serde_json::Value =
        serde_json::from_str(&roles.ok(ACME_ADMIN, &["whoami", "--output", "json"])).unwrap();
    assert_eq!(me["tenant"], "acme");
    for (args, message) in [
        (
            &["user", "list"][..],
            format!(
                "uid {ACME_ADMIN} is limited to tenant \"acme\"; the call names tenant \"default\""
            ),
        ),
        (
            &["entry", "show"][..],
            format!(
                "role \"identity-admin\" lacks permission \"entries.read\" (caller: uid {ACME_ADMIN})"
            ),
        ),
        (
            &["healthcheck"][..],
            format!(
                "uid {ACME_ADMIN} is limited to tenant \"acme\"; permission \"health.read\" is not \
                 tenant-scoped"
            ),
        ),
    ] {
        let out = roles.as_uid(ACME_ADMIN, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(&message), "{args:?}: {err}");
    }
}
