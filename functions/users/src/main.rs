// The AWS SDK's futures nest deeply; computing their layout needs more than the default 128.
#![recursion_limit = "256"]

use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    cloudhub::telemetry::init();
    let app = cloudhub::App::from_env()?;
    cloudhub::http::run(|request| users::handle(&app, request)).await
}
