//! Writing SVID files atomically: a temp file with the final mode in the same directory,
//! synced, then renamed — a reader never sees a half-written key.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use tessera_proto::wire::workload::X509svidResponse;

use super::CliError;

/// Splits concatenated DER certificates.
pub fn split_der(mut der: &[u8]) -> Result<Vec<Vec<u8>>, CliError> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let (rest, _) = x509_parser::parse_x509_certificate(der).map_err(|e| {
            CliError(format!(
                "the agent sent a certificate that does not parse: {e}"
            ))
        })?;
        let len = der.len() - rest.len();
        out.push(der[..len].to_vec());
        der = rest;
    }
    Ok(out)
}

/// PEM of concatenated DER certificates.
pub fn certs_pem(der: &[u8]) -> Result<String, CliError> {
    Ok(split_der(der)?
        .into_iter()
        .map(|c| pem::encode(&pem::Pem::new("CERTIFICATE", c)))
        .collect())
}

/// Writes `contents` to `dir/name` atomically with `mode`.
pub fn write_atomic(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<(), CliError> {
    let target = dir.join(name);
    let temp = dir.join(format!(".{name}.tmp"));
    let fail = |e: std::io::Error| CliError(format!("writing {}: {e}", target.display()));
    let _ = std::fs::remove_file(&temp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temp)
        .map_err(fail)?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    std::fs::rename(&temp, &target).map_err(fail)
}

/// Writes the default SVID as `svid.pem`, `svid.key` (0600), `bundle.pem`; further SVIDs as
/// `svid.N.pem` / `svid.N.key` / `bundle.N.pem`; federated bundles as
/// `federated_bundle.<trust domain>.pem`. Returns the file names written.
pub fn write_x509(dir: &Path, response: &X509svidResponse) -> Result<Vec<String>, CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError(format!("creating {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    for (i, svid) in response.svids.iter().enumerate() {
        let suffix = if i == 0 {
            String::new()
        } else {
            format!(".{i}")
        };
        let key = pem::encode(&pem::Pem::new("PRIVATE KEY", svid.x509_svid_key.clone()));
        let key = zeroize::Zeroizing::new(key);
        for (name, contents, mode) in [
            (format!("svid{suffix}.key"), key.as_bytes().to_vec(), 0o600),
            (
                format!("svid{suffix}.pem"),
                certs_pem(&svid.x509_svid)?.into_bytes(),
                0o644,
            ),
            (
                format!("bundle{suffix}.pem"),
                certs_pem(&svid.bundle)?.into_bytes(),
                0o644,
            ),
        ] {
            write_atomic(dir, &name, &contents, mode)?;
            written.push(name);
        }
    }
    for (td, der) in &response.federated_bundles {
        let name = format!(
            "federated_bundle.{}.pem",
            td.trim_start_matches("spiffe://")
        );
        write_atomic(dir, &name, certs_pem(der)?.as_bytes(), 0o644)?;
        written.push(name);
    }
    Ok(written)
}
