// The AWS SDK's futures nest deeply; computing their layout needs more than the default 128.
#![recursion_limit = "256"]

use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = cloudhub::App::from_env().await?;
    lambda_http::run(service_fn(|request| async {
        Ok::<_, Error>(leave_customer::handle(&app, request).await)
    }))
    .await
}
