//! The AWS SDK's configuration for the Lambda functions, from Lambda's environment alone.
//!
//! `aws-config` would look for the same settings in a dozen places (profile files, SSO, web
//! identity, IMDS, ECS) and brings STS into every binary; a function on Lambda gets its region and
//! its role's credentials as environment variables, so that is all this reads. It also decides
//! what the HTTPS client trusts: AWS's endpoints present certificates of Amazon Trust Services
//! (<https://aws.amazon.com/blogs/security/how-to-prepare-for-aws-move-to-its-own-certificate-authority/>),
//! so the functions trust its five roots instead of parsing the system's whole CA bundle on every
//! cold start (`CLOUDHUB_TLS_ROOTS=system` adds the system's, e.g. behind a TLS-inspecting proxy).
//! The operator's command and the tests keep `aws-config`, profiles included.

use anyhow::{Context as _, bail};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_types::SdkConfig;
use aws_types::sdk_config::{SharedCredentialsProvider, SharedHttpClient};
use std::sync::OnceLock;

/// The roots of Amazon Trust Services (Amazon Root CA 1–4 and Starfield Services Root Certificate
/// Authority – G2), as <https://www.amazontrust.com/repository/> recommends a custom trust store to
/// hold them; checked against the SHA-256 hashes of the public keys it publishes (see the tests).
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("aws/amazon-trust-services.pem");

/// The variable that chooses the HTTPS client's trust: `amazon` (the default) or `system`.
pub const TLS_ROOTS_VAR: &str = "CLOUDHUB_TLS_ROOTS";

/// An AWS service a function calls; names the variable that can point it at a local endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The tables (every function).
    DynamoDb,
    /// The event bus (publisher).
    EventBridge,
    /// Sending emails (mailer).
    SesV2,
    /// The invitation link keys (invite, resend, accept, mailer).
    SecretsManager,
}

impl Service {
    /// The service's own endpoint variable, as the SDKs name it (`AWS_ENDPOINT_URL_<SERVICE ID>`).
    fn endpoint_var(self) -> &'static str {
        match self {
            Self::DynamoDb => "AWS_ENDPOINT_URL_DYNAMODB",
            Self::EventBridge => "AWS_ENDPOINT_URL_EVENTBRIDGE",
            Self::SesV2 => "AWS_ENDPOINT_URL_SESV2",
            Self::SecretsManager => "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        }
    }

    /// How long a call may take: a request answers within 5 seconds even when a service hangs
    /// (the request functions call DynamoDB and Secrets Manager; after the authorizer's read, at
    /// most one hanging call, since the first failure ends the request). Each attempt has its own
    /// limit, so the SDK's retry of a stuck attempt still fits. The publisher and the mailer are
    /// asynchronous, so EventBridge and SES get more time; their functions' timeouts (30 s) stay
    /// above it.
    pub fn timeouts(self) -> TimeoutConfig {
        let (attempt, operation) = match self {
            Self::DynamoDb | Self::SecretsManager => (1_000, 2_000),
            Self::EventBridge => (2_000, 5_000),
            Self::SesV2 => (3_000, 8_000),
        };
        TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_millis(1_000))
            .operation_attempt_timeout(std::time::Duration::from_millis(attempt))
            .operation_timeout(std::time::Duration::from_millis(operation))
            .build()
    }
}

/// Marks an error whose cause is an AWS service that is down, slow or throttling: the request
/// changed nothing it could not take back and may be retried, so it is answered 503.
#[derive(Debug, thiserror::Error)]
#[error("An AWS service did not answer in time, could not be reached, or throttled the request.")]
pub struct Unavailable;

/// Whether `error` (or any error it carries as context) was marked [`Unavailable`].
pub fn is_unavailable(error: &anyhow::Error) -> bool {
    error.downcast_ref::<Unavailable>().is_some()
}

/// Turns an SDK call's failure into an error with `context`, marked [`Unavailable`] when it was a
/// timeout, a failed connection, an unreadable answer, a 5xx or a throttling refusal.
pub fn sdk_error<E>(
    context: impl std::fmt::Display + std::fmt::Debug + Send + Sync + 'static,
) -> impl FnOnce(SdkError<E, HttpResponse>) -> anyhow::Error
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    move |error| {
        let transient = is_transient(&error);
        let error = anyhow::Error::new(error).context(context);
        if transient { error.context(Unavailable) } else { error }
    }
}

/// See [`sdk_error`].
pub fn is_transient<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    const THROTTLING: &[&str] = &[
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
    ];
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(failure) => {
            failure.raw().status().is_server_error() || error.code().is_some_and(|code| THROTTLING.contains(&code))
        }
        _ => false,
    }
}

/// Which roots the HTTPS client trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Roots {
    /// Amazon Trust Services' five roots only.
    Amazon,
    /// The system's roots as well.
    System,
}

/// The configuration for `service`, read from the process's environment: `AWS_REGION` (or
/// `AWS_DEFAULT_REGION`), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (as
/// Lambda sets them), and the endpoint from `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`
/// (local runs only). Every service of one process shares one HTTPS client.
pub fn sdk_config(service: Service) -> anyhow::Result<SdkConfig> {
    sdk_config_from(service, |name| std::env::var(name).ok())
}

/// [`sdk_config`] with the variables read from `env` instead of the process's environment (tests
/// that point one function's client somewhere else).
pub fn sdk_config_from(service: Service, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<SdkConfig> {
    static HTTP_CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    let settings = Settings::read(service, |name| env(name).filter(|value| !value.is_empty()))?;
    let http_client = HTTP_CLIENT.get_or_init(|| https_client(settings.roots)).clone();
    Ok(settings.into_sdk_config(service, http_client))
}

/// What [`sdk_config`] reads, before any client exists.
#[derive(Debug)]
struct Settings {
    region: String,
    credentials: Credentials,
    endpoint_url: Option<String>,
    roots: Roots,
}

impl Settings {
    fn read(service: Service, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .context("The environment variable AWS_REGION is not set (Lambda sets it).")?;
        let key = |name: &str| {
            env(name).with_context(|| format!("The environment variable {name} is not set (Lambda sets it from the function's role; locally any value does for DynamoDB Local)."))
        };
        let credentials = Credentials::new(
            key("AWS_ACCESS_KEY_ID")?,
            key("AWS_SECRET_ACCESS_KEY")?,
            env("AWS_SESSION_TOKEN"),
            None,
            "Environment",
        );
        let roots = match env(TLS_ROOTS_VAR).as_deref() {
            None | Some("amazon") => Roots::Amazon,
            Some("system") => Roots::System,
            Some(other) => bail!("{TLS_ROOTS_VAR} is {other:?}; it takes `amazon` (the default) or `system`."),
        };
        Ok(Self {
            region,
            credentials,
            endpoint_url: env(service.endpoint_var()).or_else(|| env("AWS_ENDPOINT_URL")),
            roots,
        })
    }

    fn into_sdk_config(self, service: Service, http_client: SharedHttpClient) -> SdkConfig {
        let mut builder = SdkConfig::builder();
        builder.set_endpoint_url(self.endpoint_url);
        builder
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region))
            .credentials_provider(SharedCredentialsProvider::new(self.credentials))
            .http_client(http_client)
            .timeout_config(service.timeouts())
            .build()
    }
}

/// The SDK's own hyper client (rustls with aws-lc, its timeouts and error classification for
/// retries), trusting `roots`.
fn https_client(roots: Roots) -> SharedHttpClient {
    https_client_trusting(roots, &[])
}

/// [`https_client`], trusting `extra` PEM certificates as well (the tests' own CA).
fn https_client_trusting(roots: Roots, extra: &[&str]) -> SharedHttpClient {
    let trust_store = extra.iter().fold(
        TrustStore::empty()
            .with_native_roots(roots == Roots::System)
            .with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS.as_bytes()),
        |store, pem| store.with_pem_certificate(pem.as_bytes()),
    );
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .expect("a TLS context of a trust store alone always builds");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_throttling_and_server_errors_are_transient_refusals_are_not() {
        use aws_sdk_dynamodb::error::ErrorMetadata;
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        use aws_smithy_types::body::SdkBody;
        let answered = |status: u16, code: &str| {
            let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
            SdkError::service_error(GetItemError::generic(ErrorMetadata::builder().code(code).build()), raw)
        };
        assert!(is_transient(&SdkError::<GetItemError, HttpResponse>::timeout_error(
            "slow"
        )));
        assert!(is_transient(&answered(500, "InternalServerError")));
        assert!(is_transient(&answered(400, "ThrottlingException")));
        assert!(is_transient(&answered(400, "ProvisionedThroughputExceededException")));
        assert!(!is_transient(&answered(400, "ValidationException")));
        assert!(!is_transient(&answered(400, "ResourceNotFoundException")));
        assert!(!is_transient(
            &SdkError::<GetItemError, HttpResponse>::construction_failure("bad")
        ));

        let marked = sdk_error("Failed to read.")(answered(503, "ServiceUnavailable"));
        assert!(is_unavailable(&marked.context("Failed to accept.")));
        assert!(!is_unavailable(&sdk_error("Failed to read.")(answered(
            400,
            "ValidationException"
        ))));
    }
    use base64::Engine as _;
    use sha2::{Digest as _, Sha256};
    use std::collections::HashMap;

    fn settings(service: Service, vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::read(service, |name| vars.get(name).cloned())
    }

    const LAMBDA: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-central-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    #[test]
    fn lambda_environment_gives_region_credentials_and_the_public_endpoint() {
        let read = settings(Service::DynamoDb, LAMBDA).unwrap();
        assert_eq!(read.region, "eu-central-1");
        assert_eq!(read.credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(read.credentials.secret_access_key(), "secret");
        assert_eq!(read.credentials.session_token(), Some("token"));
        assert_eq!(read.endpoint_url, None);
        assert_eq!(read.roots, Roots::Amazon);
    }

    #[test]
    fn a_service_endpoint_variable_wins_over_the_general_one() {
        let vars = [
            LAMBDA,
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:8000"),
                ("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:5000"),
            ],
        ]
        .concat();
        assert_eq!(
            settings(Service::SesV2, &vars).unwrap().endpoint_url.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            settings(Service::DynamoDb, &vars).unwrap().endpoint_url.as_deref(),
            Some("http://127.0.0.1:8000")
        );
    }

    #[test]
    fn missing_region_or_credentials_and_unknown_roots_are_named() {
        let without = |name: &str| LAMBDA.iter().copied().filter(|(k, _)| *k != name).collect::<Vec<_>>();
        let error = settings(Service::DynamoDb, &without("AWS_REGION")).unwrap_err();
        assert!(error.to_string().contains("AWS_REGION"), "{error}");
        let fallback = [without("AWS_REGION"), vec![("AWS_DEFAULT_REGION", "us-east-1")]].concat();
        assert_eq!(settings(Service::DynamoDb, &fallback).unwrap().region, "us-east-1");
        let error = settings(Service::DynamoDb, &without("AWS_SECRET_ACCESS_KEY")).unwrap_err();
        assert!(error.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{error}");
        let system = [LAMBDA, &[(TLS_ROOTS_VAR, "system")]].concat();
        assert_eq!(settings(Service::DynamoDb, &system).unwrap().roots, Roots::System);
        let error = settings(Service::DynamoDb, &[LAMBDA, &[(TLS_ROOTS_VAR, "all")]].concat()).unwrap_err();
        assert!(error.to_string().contains(TLS_ROOTS_VAR), "{error}");
    }

    /// The five roots and no other certificate. The fingerprints are of the certificates whose
    /// public keys hash (SHA-256 of the SubjectPublicKeyInfo) to the values amazontrust.com lists:
    /// fbe30180…, 7f4296fc…, 36abc326…, f7ecded5… and 2b071c59… (checked with openssl).
    #[test]
    fn the_trust_store_holds_exactly_amazon_trust_services_roots() {
        let mut fingerprints = Vec::new();
        let mut base64 = None::<String>;
        for line in AMAZON_TRUST_SERVICES_ROOTS.lines() {
            match line {
                "-----BEGIN CERTIFICATE-----" => base64 = Some(String::new()),
                "-----END CERTIFICATE-----" => {
                    let der = base64::engine::general_purpose::STANDARD
                        .decode(base64.take().unwrap())
                        .unwrap();
                    fingerprints.push(
                        Sha256::digest(der)
                            .iter()
                            .map(|byte| format!("{byte:02x}"))
                            .collect::<String>(),
                    );
                }
                line => {
                    if let Some(body) = base64.as_mut() {
                        body.push_str(line);
                    }
                }
            }
        }
        assert_eq!(
            fingerprints,
            [
                "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e", // Amazon Root CA 1
                "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4", // Amazon Root CA 2
                "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4", // Amazon Root CA 3
                "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092", // Amazon Root CA 4
                "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5", // Starfield Services G2
            ]
        );
    }

    /// A TLS server on 127.0.0.1 that answers every request with a ListTables answer, with a
    /// certificate for `localhost` from a test CA that no trust store holds.
    async fn tls_server() -> u16 {
        use rustls_pki_types::pem::PemObject as _;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let chain = CertificateDer::pem_slice_iter(include_bytes!("aws/test-server.pem"))
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(include_bytes!("aws/test-server.key")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(rustls::crypto::aws_lc_rs::default_provider().into())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = vec![0; 64 * 1024];
                    let _ = tls.read(&mut request).await;
                    let body = r#"{"TableNames":["reached"]}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        port
    }

    fn client_of(endpoint: &str, http_client: SharedHttpClient) -> aws_sdk_dynamodb::Client {
        let vars = [LAMBDA, &[("AWS_ENDPOINT_URL", endpoint)]].concat();
        let config = settings(Service::DynamoDb, &vars)
            .unwrap()
            .into_sdk_config(Service::DynamoDb, http_client);
        // The trust is under test, not the timeouts: a handshake on a busy machine may be slow.
        let config = aws_sdk_dynamodb::config::Builder::from(&config)
            .timeout_config(TimeoutConfig::disabled())
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// HTTPS verifies the server against Amazon's roots: a server of another CA is refused at the
    /// handshake, and the same server is reached once that CA is trusted too (so it is the trust
    /// that refuses, not a broken server).
    #[tokio::test]
    async fn https_trusts_amazon_trust_services_and_refuses_other_servers() {
        let endpoint = format!("https://localhost:{}", tls_server().await);
        let trusting_the_test_ca = client_of(
            &endpoint,
            https_client_trusting(Roots::Amazon, &[include_str!("aws/test-ca.pem")]),
        );
        let reached = trusting_the_test_ca.list_tables().send().await.unwrap();
        assert_eq!(reached.table_names(), ["reached"]);

        let error = client_of(&endpoint, https_client(Roots::Amazon))
            .list_tables()
            .send()
            .await
            .unwrap_err();
        let mut chain = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(&error);
        while let Some(cause) = source {
            chain.push_str(&format!("{cause} / "));
            source = cause.source();
        }
        assert!(
            matches!(error, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)) && chain.contains("UnknownIssuer"),
            "{chain}"
        );
    }
}
