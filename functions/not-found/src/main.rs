use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    cloudhub::telemetry::init();
    cloudhub::http::run(not_found::handle).await
}
