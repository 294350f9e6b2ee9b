//! A raw client of the agent API (the agent crate's TLS and SPIFFE server verification), to
//! probe the server with requests a well-behaved agent never sends.

use std::sync::Arc;

use tessera_agent::config::ServerAddress;
use tessera_agent::tls::{SpiffeServerVerifier, client_config, connect};
use tessera_agent::x509::SvidWithKey;
use tessera_agent::x509::{NewKey, generate_key};
use tessera_proto::wire::tessera::agent::v1::agent_client::AgentClient;
use tessera_proto::wire::tessera::agent::v1::{AttestRequest, AttestResponse, AttestationData};
use tessera_proto::wire::tessera::types::v1::{Bundle, X509Authority};
use tonic::transport::Channel;

/// A runtime and the server's address and bundle.
#[derive(Debug)]
pub struct AgentApi {
    /// Drives the async client from plain `#[test]`s.
    pub rt: tokio::runtime::Runtime,
    address: ServerAddress,
    bundle: Bundle,
}

impl AgentApi {
    /// A client of the agent API at `address`, trusting the PEM bundle `bundle_pem`.
    pub fn new(address: &str, bundle_pem: &str) -> Self {
        let x509_authorities = x509_parser::pem::Pem::iter_from_buffer(bundle_pem.as_bytes())
            .map(|p| X509Authority {
                asn1: p.unwrap().contents,
                tainted: false,
            })
            .collect();
        Self {
            rt: tokio::runtime::Runtime::new().unwrap(),
            address: ServerAddress::parse(address).unwrap(),
            bundle: Bundle {
                trust_domain: "example.org".into(),
                x509_authorities,
                ..Bundle::default()
            },
        }
    }

    /// A connection, presenting `svid` as client certificate when given.
    pub fn channel(&self, svid: Option<&SvidWithKey>) -> Result<AgentClient<Channel>, String> {
        Ok(AgentClient::new(self.raw_channel(svid)?)
            .max_decoding_message_size(64 * 1024 * 1024)
            .max_encoding_message_size(64 * 1024 * 1024))
    }

    /// A gRPC channel to the server's TCP listener, for any service on it.
    pub fn raw_channel(&self, svid: Option<&SvidWithKey>) -> Result<Channel, String> {
        let verifier = Arc::new(SpiffeServerVerifier::new(
            &self.bundle,
            "spiffe://example.org/tessera/server".into(),
        ));
        let config = client_config(verifier, svid).map_err(|e| e.to_string())?;
        self.rt
            .block_on(connect(
                std::slice::from_ref(&self.address),
                Arc::new(config),
            ))
            .map_err(|e| e.to_string())
    }

    /// An X.509-SVID for an entry the agent holding `agent` is authorized for.
    pub fn entry_svid(&self, agent: &SvidWithKey, entry_id: &str) -> SvidWithKey {
        use tessera_proto::wire::tessera::agent::v1::{BatchNewX509SvidRequest, NewX509SvidParams};
        let key = fresh_key();
        let mut client = self.channel(Some(agent)).unwrap();
        let reply = self
            .rt
            .block_on(client.batch_new_x509_svid(BatchNewX509SvidRequest {
                params: vec![NewX509SvidParams {
                    entry_id: entry_id.into(),
                    csr: key.csr.clone(),
                }],
            }))
            .unwrap()
            .into_inner();
        let svid = reply.results[0]
            .svid
            .clone()
            .expect("an authorized entry gets an SVID");
        SvidWithKey::from_parts(
            svid.cert_chain,
            key.private_key_pkcs8,
            Some(&key.public_key_spki),
        )
        .unwrap()
    }

    /// `Attest` with the given attestor, payload and CSR.
    pub fn attest(
        &self,
        attestor: &str,
        payload: &[u8],
        csr: &[u8],
    ) -> Result<AttestResponse, tonic::Status> {
        let mut client = self.channel(None).map_err(tonic::Status::unavailable)?;
        self.rt
            .block_on(client.attest(AttestRequest {
                data: Some(AttestationData {
                    r#type: attestor.into(),
                    payload: payload.to_vec(),
                }),
                csr: csr.to_vec(),
            }))
            .map(tonic::Response::into_inner)
    }

    /// Attests with a fresh key; returns the agent SVID with its key.
    pub fn attest_with_key(
        &self,
        attestor: &str,
        payload: &[u8],
    ) -> Result<SvidWithKey, tonic::Status> {
        let key = fresh_key();
        let reply = self.attest(attestor, payload, &key.csr)?;
        let svid = reply.svid.unwrap();
        Ok(SvidWithKey::from_parts(
            svid.cert_chain,
            key.private_key_pkcs8,
            Some(&key.public_key_spki),
        )
        .unwrap())
    }
}

/// A fresh P-256 key and CSR.
pub fn fresh_key() -> NewKey {
    generate_key().unwrap()
}
