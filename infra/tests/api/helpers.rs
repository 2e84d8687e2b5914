use cloudhub::App;
use cloudhub::clock::ManualClock;
use cloudhub::testing::fresh_app;
use infra::gateway::{Gateway, IncomingRequest};
use infra::seed;
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{Value, json};
use std::sync::Arc;

/// The API as the frontend sees it, over its own fresh tables and a clock the test moves.
pub struct TestApp {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub gateway: Gateway,
}

/// An answer, with its body parsed when it is JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// Asserts an RFC 9457 problem with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "unexpected answer: {self:?}");
        assert_eq!(self.headers["content-type"], "application/problem+json", "{self:?}");
        assert_eq!(self.body["code"], code, "{self:?}");
        assert_eq!(self.body["status"], status, "{self:?}");
        for member in ["type", "title", "detail"] {
            assert!(self.body[member].is_string(), "problem without {member}: {self:?}");
        }
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        let (app, clock) = fresh_app().await;
        let gateway = Gateway::new(app.clone()).expect("every route of template.yaml has a handler");
        Self { app, clock, gateway }
    }

    /// A test app with the demo customer and its admin.
    pub async fn with_demo_customer() -> Self {
        let test_app = Self::spawn().await;
        seed::demo(&test_app.app.store, test_app.clock.now_for_tests())
            .await
            .expect("the demo data seeds");
        test_app
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> TestResponse {
        let mut header_map = HeaderMap::new();
        for (name, value) in headers {
            header_map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let response = self
            .gateway
            .handle(IncomingRequest {
                method,
                path_and_query: path.to_owned(),
                headers: header_map,
                body: body.into(),
            })
            .await;
        let (parts, body) = response.into_parts();
        let bytes: &[u8] = body.as_ref();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
        };
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
        let authorization = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization));
        }
        self.request(Method::POST, path, &headers, body.to_string()).await
    }

    pub async fn post_login(&self, email: &str, password: &str) -> TestResponse {
        self.post_json("/auth/login", None, &json!({ "email": email, "password": password }))
            .await
    }

    /// Logs the demo admin in and returns the session token.
    pub async fn log_in_as_demo_admin(&self) -> String {
        let response = self.post_login(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
        assert_eq!(response.status, 200, "{response:?}");
        response.body["sessionToken"].as_str().unwrap().to_owned()
    }

    pub async fn get_me(&self, token: Option<&str>) -> TestResponse {
        let authorization = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = authorization.iter().map(|a| ("authorization", a.as_str())).collect();
        self.request(Method::GET, "/me", &headers, Vec::new()).await
    }

    pub async fn post_logout(&self, token: Option<&str>) -> TestResponse {
        let authorization = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = authorization.iter().map(|a| ("authorization", a.as_str())).collect();
        self.request(Method::POST, "/auth/logout", &headers, Vec::new()).await
    }

    /// Every item of both tables, to prove that a refused request changed nothing. Tests may
    /// Scan; request paths never do.
    pub async fn all_items(&self) -> Vec<String> {
        let mut items = Vec::new();
        for table in [&self.app.store.tables().data, &self.app.store.tables().sessions] {
            let output = self.app.store.client().scan().table_name(table).send().await.unwrap();
            for item in output.items() {
                // serde_json's maps are sorted, so equal items print equally.
                let item: Value = serde_dynamo::from_item(item.clone()).unwrap();
                items.push(format!("{table}: {item}"));
            }
        }
        items.sort();
        items
    }
}

/// Reads the manual clock (it implements `Clock`, in scope here under a short name).
pub trait NowForTests {
    fn now_for_tests(&self) -> time::OffsetDateTime;
}

impl NowForTests for ManualClock {
    fn now_for_tests(&self) -> time::OffsetDateTime {
        cloudhub::clock::Clock::now(self)
    }
}
