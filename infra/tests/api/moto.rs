//! moto's server mode, started by `infra/test` on 127.0.0.1, as a stand-in AWS for EventBridge,
//! SQS, SES v2 and Secrets Manager. Every test makes its own bus, queue, sender and secret, so
//! tests share one server.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The account moto answers as.
const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-central-1";

pub fn endpoint() -> String {
    std::env::var("CLOUDHUB_MOTO_ENDPOINT")
        .expect("CLOUDHUB_MOTO_ENDPOINT is not set: run the tests with infra/test, which starts moto's server")
}

fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_sesv2::config::SharedCredentialsProvider::new(
            aws_sdk_sesv2::config::Credentials::new("dummy", "dummy", None, None, "moto"),
        ))
        .build()
}

/// An EventBridge client whose endpoint is `endpoint` (moto, or a port where nothing listens).
pub fn eventbridge(endpoint: &str) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&sdk_config(endpoint))
}

/// A Secrets Manager client whose endpoint is `endpoint`.
pub fn secrets_manager(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config(endpoint))
}

/// A new secret on moto holding `text`, as the stack's `LinkSigningSecret`; returns its ARN.
pub async fn link_key_secret(text: &str) -> String {
    let created = secrets_manager(&endpoint())
        .create_secret()
        .name(format!(
            "cloudhub-link-keys-{}",
            ulid::Ulid::new().to_string().to_lowercase()
        ))
        .secret_string(text)
        .send()
        .await
        .unwrap();
    created.arn().unwrap().to_owned()
}

/// One test's corner of moto: a bus whose every CloudHub event is copied to a queue, and a
/// verified sender.
pub struct Moto {
    pub endpoint: String,
    pub bus_name: String,
    pub queue_url: String,
    pub sender: String,
    pub ses: aws_sdk_sesv2::Client,
}

impl Moto {
    pub async fn new() -> Self {
        let endpoint = endpoint();
        let tag = ulid::Ulid::new().to_string().to_lowercase();
        let bus_name = format!("cloudhub-{tag}");
        let queue_name = format!("events-{tag}");
        let sender_address = format!("no-reply-{tag}@cloudhub.test");
        let created = sqs(&endpoint, "CreateQueue", json!({ "QueueName": queue_name })).await;
        let queue_url = created["QueueUrl"].as_str().expect("a queue URL").to_owned();

        let events = eventbridge(&endpoint);
        events.create_event_bus().name(&bus_name).send().await.unwrap();
        events
            .put_rule()
            .name("all-cloudhub-events")
            .event_bus_name(&bus_name)
            .event_pattern(json!({ "source": [cloudhub::events::SOURCE] }).to_string())
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule("all-cloudhub-events")
            .event_bus_name(&bus_name)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();

        let ses = aws_sdk_sesv2::Client::new(&sdk_config(&endpoint));
        ses.create_email_identity()
            .email_identity(&sender_address)
            .send()
            .await
            .unwrap();
        Self {
            endpoint,
            bus_name,
            queue_url,
            sender: format!("CloudHub <{sender_address}>"),
            ses,
        }
    }

    /// The publisher's bus on this test's moto bus.
    pub fn bus(&self) -> publisher::Bus {
        publisher::Bus::EventBridge {
            client: eventbridge(&self.endpoint),
            bus_name: self.bus_name.clone(),
        }
    }

    /// The mailer's outbox on moto's SES, from this test's sender.
    pub fn outbox(&self) -> mailer::Outbox {
        mailer::Outbox::Ses {
            client: self.ses.clone(),
            sender: self.sender.clone(),
        }
    }

    /// Every event that reached the bus since the last call, as EventBridge delivers them.
    pub async fn received_events(&self) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let received = sqs(
                &self.endpoint,
                "ReceiveMessage",
                json!({ "QueueUrl": self.queue_url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 300 }),
            )
            .await;
            let messages = received["Messages"].as_array().cloned().unwrap_or_default();
            if messages.is_empty() {
                return events;
            }
            for message in messages {
                events.push(serde_json::from_str(message["Body"].as_str().unwrap()).unwrap());
            }
        }
    }

    /// The emails SES accepted from this test's sender: (to, subject, HTML body).
    pub async fn sent_emails(&self) -> Vec<SentEmail> {
        let data = get_json(&self.endpoint, "/moto-api/data.json").await;
        data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|message| message["source"] == self.sender.as_str())
            .map(|message| SentEmail {
                to: message["destinations"]["ToAddresses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|to| to.as_str().unwrap().to_owned())
                    .collect(),
                subject: message["subject"].as_str().unwrap_or_default().to_owned(),
                html: message["body"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct SentEmail {
    pub to: Vec<String>,
    pub subject: String,
    pub html: String,
}

impl SentEmail {
    /// The invitation link's token in the email's button.
    pub fn link_token(&self) -> String {
        let html = self.html.replace("&#x2f;", "/");
        let start = html.find("/invitations/").expect("an invitation link") + "/invitations/".len();
        html[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')
            .collect()
    }
}

/// An HTTP/1.1 exchange with moto over a fresh connection; returns the body.
async fn exchange(endpoint: &str, request: String) -> String {
    let address = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{answer}"
    );
    body.to_owned()
}

async fn get_json(endpoint: &str, path: &str) -> Value {
    let host = endpoint.trim_start_matches("http://");
    let body = exchange(
        endpoint,
        format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"),
    )
    .await;
    serde_json::from_str(&body).unwrap()
}

/// An SQS call in its JSON protocol (moto routes by the credential scope, checks no signature).
async fn sqs(endpoint: &str, action: &str, body: Value) -> Value {
    let host = endpoint.trim_start_matches("http://");
    let body = body.to_string();
    let answer = exchange(
        endpoint,
        format!(
            "POST / HTTP/1.1\r\nhost: {host}\r\nx-amz-target: AmazonSQS.{action}\r\n\
             content-type: application/x-amz-json-1.0\r\n\
             authorization: AWS4-HMAC-SHA256 Credential=dummy/20261124/{REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    serde_json::from_str(&answer).unwrap()
}

/// A proxy in front of moto that makes EventBridge refuse the first entry of the first
/// `PutEvents` call it sees (the entry never reaches moto; the answer reports it failed, as
/// EventBridge does with `FailedEntryCount`). Everything else passes through. Returns its endpoint.
pub async fn refusing_first_entry(moto: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let moto = moto.trim_start_matches("http://").to_owned();
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let (moto, refused) = (moto.clone(), refused.clone());
            tokio::spawn(async move {
                let (head, body) = read_request(&mut client).await;
                let put_events = head.to_lowercase().contains("x-amz-target: awsevents.putevents");
                let refuse = put_events && !refused.swap(true, std::sync::atomic::Ordering::SeqCst);
                let body = if refuse {
                    let mut request: Value = serde_json::from_slice(&body).unwrap();
                    request["Entries"].as_array_mut().unwrap().remove(0);
                    serde_json::to_vec(&request).unwrap()
                } else {
                    body
                };
                let head: String = head
                    .lines()
                    .filter(|line| {
                        let lower = line.to_lowercase();
                        !line.is_empty() && !lower.starts_with("content-length:") && !lower.starts_with("connection:")
                    })
                    .map(|line| format!("{line}\r\n"))
                    .collect();
                let mut upstream = tokio::net::TcpStream::connect(&moto).await.unwrap();
                upstream
                    .write_all(format!("{head}content-length: {}\r\nconnection: close\r\n\r\n", body.len()).as_bytes())
                    .await
                    .unwrap();
                upstream.write_all(&body).await.unwrap();
                let mut answer = Vec::new();
                upstream.read_to_end(&mut answer).await.unwrap();
                let answer = String::from_utf8(answer).unwrap();
                let (status, body) = answer.split_once("\r\n\r\n").unwrap();
                let status = status.lines().next().unwrap().to_owned();
                let body = if refuse {
                    let mut response: Value = serde_json::from_str(body).unwrap();
                    response["Entries"].as_array_mut().unwrap().insert(
                        0,
                        json!({ "ErrorCode": "InternalFailure", "ErrorMessage": "Injected by the test proxy." }),
                    );
                    response["FailedEntryCount"] = json!(1);
                    response.to_string()
                } else {
                    body.to_owned()
                };
                client
                    .write_all(
                        format!(
                            "{status}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await
                    .unwrap();
            });
        }
    });
    endpoint
}

/// Reads one HTTP/1.1 request with a content-length body, or `None` when the client closed the
/// connection before sending one.
pub async fn read_request_or_end(stream: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(read_request(stream).await),
    }
}

/// Reads one HTTP/1.1 request with a content-length body: (head, body).
async fn read_request(stream: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the request ended early");
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buffer[..end].to_vec()).unwrap();
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let mut body = buffer[end + 4..].to_vec();
            while body.len() < length {
                let read = stream.read(&mut chunk).await.unwrap();
                assert!(read > 0, "the body ended early");
                body.extend_from_slice(&chunk[..read]);
            }
            return (head, body);
        }
    }
}
