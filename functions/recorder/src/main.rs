// The AWS SDK's futures nest deeply; computing their layout needs more than the default 128.
#![recursion_limit = "256"]

use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    cloudhub::telemetry::init();
    let store = cloudhub::store::Store::from_env()?;
    lambda_runtime::run(service_fn(|event| recorder::handle(&store, event))).await
}
