//! DNS names for X.509-SVID SANs: the rules live in [`tessera_proto::dns_name`], shared with
//! the CA's final check so registration accepts exactly what the CA issues.

pub(super) use tessera_proto::dns_name::normalize_dns_name;
