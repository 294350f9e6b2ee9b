//! `tessera-server whoami`: the caller's admin role, permissions and tenant limit.

use tessera_proto::wire::tessera::admin::v1::WhoAmIRequest;
use tessera_proto::wire::tessera::admin::v1::access_client::AccessClient;

use super::output::outln;
use super::output::{Output, OutputArg};
use super::{CliError, SocketArg, TenantArg, connect_in};

/// Asks the server who this caller is and prints it.
pub async fn run(
    socket: &SocketArg,
    tenant: &TenantArg,
    output: OutputArg,
) -> Result<(), CliError> {
    let mut client = AccessClient::new(connect_in(socket, tenant).await?);
    let me = client.who_am_i(WhoAmIRequest {}).await?.into_inner();
    match output.format {
        Output::Json => outln!(
            "{}",
            serde_json::json!({
                "principal": me.principal,
                "role": me.role,
                "permissions": me.permissions,
                "tenant": (!me.tenant.is_empty()).then_some(&me.tenant),
            })
        ),
        Output::Pretty => {
            outln!("Principal   : {}", me.principal);
            outln!("Role        : {}", me.role);
            if !me.tenant.is_empty() {
                outln!("Tenant      : {}", me.tenant);
            }
            outln!("Permissions : {}", me.permissions.join(", "));
        }
    }
    Ok(())
}
