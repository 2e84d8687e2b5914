//! The cold-start baseline of `infra/bench`: a hello-world `lambda_runtime` function that echoes
//! its event, with the same tracing set-up as the real functions.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    cloudhub::telemetry::init();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
