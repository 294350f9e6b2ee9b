//! Printing user accounts (`user create|show|list|update|disable`); the wire `User` holds
//! no password hash or TOTP secret, so neither can reach these functions.

use serde_json::{Value, json};
use tessera_proto::clock::from_unix_seconds;
use tessera_proto::wire::tessera::admin::v1::User;

use super::CliError;
use super::output::{Output, outln};

/// The JSON form of a user.
pub fn to_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "email": u.email,
        "disabled": u.disabled,
        "totp_enabled": u.totp_enabled,
        "created_at": u.created_at,
        "updated_at": u.updated_at,
    })
}

fn time(secs: i64) -> String {
    time::OffsetDateTime::from(from_unix_seconds(secs)).to_string()
}

fn line(label: &str, value: &str) {
    if !value.is_empty() {
        outln!("{label:<13}: {value}");
    }
}

/// The human form of a user.
pub fn print_pretty(u: &User) {
    line("ID", &u.id);
    line("Username", &u.username);
    line("Display name", &u.display_name);
    line("Email", &u.email);
    line("Disabled", &u.disabled.to_string());
    line("TOTP", if u.totp_enabled { "enabled" } else { "off" });
    line("Created", &time(u.created_at));
    line("Updated", &time(u.updated_at));
}

/// Prints one user in `format`.
pub fn print_user(u: Option<User>, format: Output) -> Result<(), CliError> {
    let u = u.ok_or_else(|| CliError("server sent no user".into()))?;
    match format {
        Output::Json => outln!("{}", to_json(&u)),
        Output::Pretty => print_pretty(&u),
    }
    Ok(())
}
