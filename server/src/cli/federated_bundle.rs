//! `tessera-server bundle list|set|delete`: federated bundles (SPIRE's verbs and flags).

use std::io::Read as _;
use std::path::PathBuf;

use serde_json::{Value, json};
use tessera_proto::bundle::BundleDocument;
use tessera_proto::identity::TrustDomain;
use tessera_proto::wire::tessera::admin::v1::federated_bundles_client::FederatedBundlesClient;
use tessera_proto::wire::tessera::admin::v1::{
    DeleteFederatedBundleRequest, ListFederatedBundlesRequest, SetFederatedBundleRequest,
};
use tessera_proto::wire::tessera::types::v1::Bundle;

use super::bundle::BundleFormat;
use super::output::{Output, out, outln};
use super::{CliError, SocketArg, connect};

/// Largest bundle file read (the server refuses larger documents too).
const MAX_INPUT_BYTES: u64 = 1024 * 1024;

/// The SPIFFE bundle document of a stored bundle.
fn document(bundle: &Bundle) -> Result<BundleDocument, CliError> {
    let td = TrustDomain::new(&bundle.trust_domain)
        .map_err(|e| CliError(format!("server sent a bad trust domain: {e}")))?;
    BundleDocument::from_wire(td, bundle)
        .map_err(|e| CliError(format!("server sent a bad bundle: {e}")))
}

fn pem_certificates(bundle: &Bundle) -> String {
    bundle
        .x509_authorities
        .iter()
        .map(|a| {
            ::pem::encode_config(
                &::pem::Pem::new("CERTIFICATE", a.asn1.clone()),
                ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF),
            )
        })
        .collect()
}

/// `bundle list`.
pub async fn list(
    id: Option<String>,
    format: BundleFormat,
    output: Output,
    socket: &SocketArg,
) -> Result<(), CliError> {
    let wanted = id
        .as_deref()
        .map(|raw| {
            TrustDomain::from_id_or_name(raw).map_err(|e| CliError(format!("--id {raw:?}: {e}")))
        })
        .transpose()?;
    let mut client = FederatedBundlesClient::new(connect(socket).await?);
    let bundles: Vec<Bundle> = client
        .list_federated_bundles(ListFederatedBundlesRequest {})
        .await?
        .into_inner()
        .bundles
        .into_iter()
        .filter(|b| {
            wanted
                .as_ref()
                .is_none_or(|td| td.as_str() == b.trust_domain)
        })
        .collect();
    if let (Some(td), true) = (&wanted, bundles.is_empty()) {
        return Err(CliError(format!("no federated bundle for spiffe://{td}")));
    }
    match output {
        Output::Json => {
            let list = bundles
                .iter()
                .map(|b| {
                    let spiffe = document(b)?
                        .to_json_value()
                        .map_err(|e| CliError(e.to_string()))?;
                    Ok(json!({
                        "trust_domain": b.trust_domain,
                        "sequence": b.sequence,
                        "spiffe_document": spiffe,
                    }))
                })
                .collect::<Result<Vec<Value>, CliError>>()?;
            outln!("{}", json!({ "bundles": list }));
        }
        Output::Pretty => {
            for b in &bundles {
                outln!("****************************************");
                outln!("* spiffe://{}", b.trust_domain);
                outln!("****************************************");
                match format {
                    BundleFormat::Pem => out!("{}", pem_certificates(b)),
                    BundleFormat::Spiffe => outln!(
                        "{}",
                        document(b)?
                            .to_json_pretty()
                            .map_err(|e| CliError(e.to_string()))?
                    ),
                }
                outln!();
            }
        }
    }
    Ok(())
}

/// Reads `path`, or stdin when `None`, up to [`MAX_INPUT_BYTES`].
pub(super) fn read_input(path: Option<&PathBuf>) -> Result<String, CliError> {
    let mut text = String::new();
    let what = path.map_or_else(|| "stdin".to_string(), |p| p.display().to_string());
    let read = match path {
        Some(p) => std::fs::File::open(p)
            .and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_string(&mut text)),
        None => std::io::stdin()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_string(&mut text),
    };
    read.map_err(|e| CliError(format!("reading {what}: {e}")))?;
    if text.len() as u64 > MAX_INPUT_BYTES {
        return Err(CliError(format!(
            "{what} is larger than {MAX_INPUT_BYTES} bytes"
        )));
    }
    Ok(text)
}

/// The SPIFFE document to send for `text` in `format` (PEM: X.509 authorities only).
pub(super) fn to_document(
    td: &TrustDomain,
    text: &str,
    format: BundleFormat,
) -> Result<String, CliError> {
    match format {
        BundleFormat::Spiffe => Ok(text.to_string()),
        BundleFormat::Pem => {
            let items = ::pem::parse_many(text.as_bytes())
                .map_err(|e| CliError(format!("not PEM: {e}")))?;
            let mut doc = BundleDocument::new(td.clone());
            doc.x509_authorities = items
                .into_iter()
                .filter(|p| p.tag() == "CERTIFICATE")
                .map(|p| p.into_contents())
                .collect();
            if doc.x509_authorities.is_empty() {
                return Err(CliError("no CERTIFICATE in the PEM input".into()));
            }
            doc.to_json().map_err(|e| CliError(e.to_string()))
        }
    }
}

/// `bundle set`.
pub async fn set(
    id: &str,
    path: Option<PathBuf>,
    format: BundleFormat,
    socket: &SocketArg,
) -> Result<(), CliError> {
    let td = TrustDomain::from_id_or_name(id).map_err(|e| CliError(format!("--id {id:?}: {e}")))?;
    let text = read_input(path.as_ref())?;
    let spiffe_document = to_document(&td, &text, format)?;
    let mut client = FederatedBundlesClient::new(connect(socket).await?);
    let stored = client
        .set_federated_bundle(SetFederatedBundleRequest {
            trust_domain: td.to_string(),
            spiffe_document,
        })
        .await?
        .into_inner()
        .bundle
        .ok_or_else(|| CliError("server sent no bundle".into()))?;
    outln!(
        "bundle set for spiffe://{} (sequence {}, {} X.509 and {} JWT authorities)",
        stored.trust_domain,
        stored.sequence,
        stored.x509_authorities.len(),
        stored.jwt_authorities.len()
    );
    Ok(())
}

/// `bundle delete`.
pub async fn delete(id: &str, socket: &SocketArg) -> Result<(), CliError> {
    let td = TrustDomain::from_id_or_name(id).map_err(|e| CliError(format!("--id {id:?}: {e}")))?;
    let mut client = FederatedBundlesClient::new(connect(socket).await?);
    client
        .delete_federated_bundle(DeleteFederatedBundleRequest {
            trust_domain: td.to_string(),
        })
        .await?;
    outln!("bundle deleted for spiffe://{td}");
    Ok(())
}
