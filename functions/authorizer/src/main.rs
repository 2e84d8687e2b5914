// The AWS SDK's futures nest deeply; computing their layout needs more than the default 128.
#![recursion_limit = "256"]

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    cloudhub::telemetry::init();
    let app = cloudhub::App::from_env()?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async {
            Ok::<_, Error>(authorizer::authorize(&app, event.payload).await)
        },
    ))
    .await
}
