//! `tessera-server whoami`: the caller's admin role, permissions and tenant limit.

use tessera_proto::wire::tessera::admin::v1::WhoAmIRequest;
use tessera_proto::wire::tessera::admin::v1::access_client::AccessClient;

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
        Output::Json => println!(
            "{}",
            serde_json::json!({
                "principal": me.principal,
                "role": me.role,
                "permissions": me.permissions,
                "tenant": (!me.tenant.is_empty()).then_some(&me.tenant),
            })
        ),
        Output::Pretty => {
            println!("Principal   : {}", me.principal);
            println!("Role        : {}", me.role);
            if !me.tenant.is_empty() {
                println!("Tenant      : {}", me.tenant);
            }
            println!("Permissions : {}", me.permissions.join(", "));
        }
    }
    Ok(())
}
