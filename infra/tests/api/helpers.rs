use cloudhub::App;
use cloudhub::clock::ManualClock;
use cloudhub::testing::fresh_app;
use infra::gateway::{Gateway, IncomingRequest};
use infra::seed;
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{Value, json};
use std::sync::Arc;

/// The address requests come from unless a test names another (TEST-NET-1, RFC 5737).
pub const DEFAULT_SOURCE: &str = "192.0.2.1";

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
        self.request_from(DEFAULT_SOURCE, method, path, headers, body).await
    }

    /// A request from the source address `source` (API Gateway's `sourceIp`).
    pub async fn request_from(
        &self,
        source: &str,
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
        let method_of_request = method.clone();
        let path_of_request = path.split('?').next().unwrap_or_default().to_owned();
        let response = self
            .gateway
            .handle(IncomingRequest {
                method,
                path_and_query: path.to_owned(),
                headers: header_map,
                body: body.into(),
                source_ip: source.parse().expect("a test source is an IP address"),
            })
            .await;
        let (parts, body) = response.into_parts();
        let bytes: &[u8] = body.as_ref();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
        };
        if parts
            .headers
            .get("content-type")
            .is_some_and(|t| t == "application/problem+json")
        {
            let route = self.gateway.route_key(&method_of_request, &path_of_request);
            contract::assert_documented(route.as_deref(), parts.status.as_u16(), &body);
        }
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
        self.post_json_from(DEFAULT_SOURCE, path, token, body).await
    }

    pub async fn post_json_from(&self, source: &str, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
        let authorization = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization));
        }
        self.request_from(source, Method::POST, path, &headers, body.to_string())
            .await
    }

    pub async fn post_login(&self, email: &str, password: &str) -> TestResponse {
        self.post_login_from(DEFAULT_SOURCE, email, password).await
    }

    /// Logs in from the source address `source`.
    pub async fn post_login_from(&self, source: &str, email: &str, password: &str) -> TestResponse {
        self.post_json_from(
            source,
            "/auth/login",
            None,
            &json!({ "email": email, "password": password }),
        )
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

/// A second tenant with its own admin, for tenancy tests.
pub struct OtherCustomer {
    pub number: String,
    pub admin_email: String,
    pub admin_password: String,
}

impl TestApp {
    pub async fn get(&self, path: &str, token: &str) -> TestResponse {
        let authorization = format!("Bearer {token}");
        self.request(Method::GET, path, &[("authorization", &authorization)], Vec::new())
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> TestResponse {
        let authorization = format!("Bearer {token}");
        self.request(Method::DELETE, path, &[("authorization", &authorization)], Vec::new())
            .await
    }

    pub async fn log_in(&self, email: &str, password: &str) -> String {
        let response = self.post_login(email, password).await;
        assert_eq!(response.status, 200, "{response:?}");
        response.body["sessionToken"].as_str().unwrap().to_owned()
    }

    pub async fn invite(&self, token: &str, customer: &str, body: Value) -> TestResponse {
        self.post_json(&format!("/customers/{customer}/invitations"), Some(token), &body)
            .await
    }

    /// Invites `email` into the demo customer with no roles and returns the invitation id.
    pub async fn invite_to_demo(&self, token: &str, email: &str) -> String {
        let response = self
            .invite(token, seed::CUSTOMER_NUMBER, json!({ "email": email }))
            .await;
        assert_eq!(response.status, 201, "{response:?}");
        response.body["invitation"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn list_invitations(&self, token: &str, customer: &str, query: &str) -> TestResponse {
        self.get(&format!("/customers/{customer}/invitations{query}"), token)
            .await
    }

    pub async fn get_invitation(&self, token: &str, customer: &str, id: &str) -> TestResponse {
        self.get(&format!("/customers/{customer}/invitations/{id}"), token)
            .await
    }

    pub async fn resend(&self, token: &str, customer: &str, id: &str) -> TestResponse {
        self.post_json(
            &format!("/customers/{customer}/invitations/{id}/resend"),
            Some(token),
            &json!({}),
        )
        .await
    }

    pub async fn delete_invitation(&self, token: &str, customer: &str, id: &str) -> TestResponse {
        self.delete(&format!("/customers/{customer}/invitations/{id}"), token)
            .await
    }

    pub async fn quota(&self, token: &str, customer: &str) -> TestResponse {
        self.get(&format!("/customers/{customer}/invitation-quota"), token)
            .await
    }

    /// The demo customer's role id by name.
    pub async fn demo_role(&self, name: &str) -> String {
        let roles = cloudhub::roles::list(
            &self.app.store,
            &cloudhub::domain::CustomerNumber::parse(seed::CUSTOMER_NUMBER).unwrap(),
        )
        .await
        .unwrap();
        roles
            .into_iter()
            .find(|r| r.name.as_str() == name)
            .unwrap()
            .id
            .to_string()
    }

    /// An invitation as stored.
    pub async fn invitation_item(&self, customer: &str, id: &str) -> cloudhub::invitations::Invitation {
        cloudhub::invitations::find(
            &self.app.store,
            &cloudhub::domain::CustomerNumber::parse(customer).unwrap(),
            &cloudhub::domain::InvitationId::parse(id).unwrap(),
        )
        .await
        .unwrap()
        .expect("the invitation exists")
    }

    /// The current link token of an invitation, as the email will carry it.
    pub async fn link_of(&self, customer: &str, id: &str) -> cloudhub::links::LinkToken {
        let invitation = cloudhub::invitations::find(
            &self.app.store,
            &cloudhub::domain::CustomerNumber::parse(customer).unwrap(),
            &cloudhub::domain::InvitationId::parse(id).unwrap(),
        )
        .await
        .unwrap()
        .expect("the invitation exists");
        let keyring = self.app.link_keys().unwrap().keyring().await.unwrap();
        invitation.link_token(&keyring).expect("its key is in force")
    }

    pub async fn open_link(&self, token: &cloudhub::links::LinkToken) -> cloudhub::invitations::LinkState {
        cloudhub::invitations::open_link(&self.app.store, token, self.clock.now_for_tests())
            .await
            .unwrap()
    }

    /// Creates customer 200500 whose admin is a new account.
    pub async fn other_customer(&self) -> OtherCustomer {
        let other = OtherCustomer {
            number: "200500".into(),
            admin_email: "admin@beta.example".into(),
            admin_password: "beta admin password".into(),
        };
        cloudhub::usecases::onboarding::create(
            &self.app.store,
            cloudhub::usecases::onboarding::NewCustomer {
                number: cloudhub::domain::CustomerNumber::parse(&other.number).unwrap(),
                company_name: cloudhub::domain::CompanyName::parse("Beta Logistik AG").unwrap(),
                default_language: cloudhub::domain::Language::De,
                roles: vec![],
            },
            cloudhub::usecases::onboarding::FirstAdmin::NewAccount {
                user_id: cloudhub::domain::UserId::generate(),
                email: cloudhub::domain::Email::parse(&other.admin_email).unwrap(),
                password_hash: cloudhub::domain::Password::parse(
                    other.admin_password.clone(),
                    cloudhub::domain::PasswordPolicy::New,
                )
                .unwrap()
                .hash()
                .await
                .unwrap(),
                language: cloudhub::domain::Language::En,
            },
            self.clock.now_for_tests(),
        )
        .await
        .unwrap();
        other
    }

    /// Adds a member of the demo customer holding the named roles; returns its session token.
    pub async fn demo_member(&self, email: &str, role_names: &[&str]) -> String {
        let customer = cloudhub::domain::CustomerNumber::parse(seed::CUSTOMER_NUMBER).unwrap();
        let roles: Vec<_> = cloudhub::roles::list(&self.app.store, &customer)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| role_names.contains(&r.name.as_str()))
            .collect();
        cloudhub::testing::add_member(
            &self.app.store,
            &customer,
            &cloudhub::domain::CompanyName::parse(seed::COMPANY_NAME).unwrap(),
            &cloudhub::domain::Email::parse(email).unwrap(),
            "member password 1",
            &roles,
            self.clock.now_for_tests(),
        )
        .await;
        self.log_in(email, "member password 1").await
    }
}

impl TestApp {
    pub async fn put_json(&self, path: &str, token: &str, body: &Value) -> TestResponse {
        let authorization = format!("Bearer {token}");
        let headers = [
            ("authorization", authorization.as_str()),
            ("content-type", "application/json"),
        ];
        self.request(Method::PUT, path, &headers, body.to_string()).await
    }

    pub async fn roles(&self, token: &str) -> TestResponse {
        self.get(&format!("/customers/{}/roles", seed::CUSTOMER_NUMBER), token)
            .await
    }

    pub async fn users(&self, token: &str) -> TestResponse {
        self.get(&format!("/customers/{}/users", seed::CUSTOMER_NUMBER), token)
            .await
    }

    pub async fn assign(&self, token: &str, user_id: &str, role_ids: Value) -> TestResponse {
        let path = format!("/customers/{}/users/{user_id}/roles", seed::CUSTOMER_NUMBER);
        self.put_json(&path, token, &json!({ "roleIds": role_ids })).await
    }

    /// The raw role ids stored on every invitation of the demo customer.
    pub async fn stored_invitation_roles(&self) -> Vec<Vec<String>> {
        let invitations = self.all_items().await;
        invitations
            .iter()
            .filter(|line| line.contains("\"SK\":\"INVITATION#"))
            .map(|line| {
                let json: Value = serde_json::from_str(line.split_once(": ").unwrap().1).unwrap();
                json["roleIds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect()
            })
            .collect()
    }
}

impl TestApp {
    pub async fn demo_role_exists(&self, id: &str) -> bool {
        let roles = cloudhub::roles::list(
            &self.app.store,
            &cloudhub::domain::CustomerNumber::parse(seed::CUSTOMER_NUMBER).unwrap(),
        )
        .await
        .unwrap();
        roles.iter().any(|r| r.id.to_string() == id)
    }
}

/// The invited person's side: links, accepting, leaving.
impl TestApp {
    /// Invites `email` into the demo customer with the named roles; returns the invitation id
    /// and its link token, as the email will carry it.
    pub async fn invite_with_link(&self, admin_token: &str, email: &str, role_names: &[&str]) -> (String, String) {
        self.invite_to_customer_with_link(admin_token, seed::CUSTOMER_NUMBER, email, role_names)
            .await
    }

    /// Invites `email` into `customer` with the named roles of that customer.
    pub async fn invite_to_customer_with_link(
        &self,
        admin_token: &str,
        customer: &str,
        email: &str,
        role_names: &[&str],
    ) -> (String, String) {
        let roles = cloudhub::roles::list(
            &self.app.store,
            &cloudhub::domain::CustomerNumber::parse(customer).unwrap(),
        )
        .await
        .unwrap();
        let role_ids: Vec<String> = role_names
            .iter()
            .map(|name| {
                roles
                    .iter()
                    .find(|r| r.name.as_str() == *name)
                    .unwrap_or_else(|| panic!("no role {name} in {customer}"))
                    .id
                    .to_string()
            })
            .collect();
        let response = self
            .invite(admin_token, customer, json!({ "email": email, "roleIds": role_ids }))
            .await;
        assert_eq!(response.status, 201, "{response:?}");
        let id = response.body["invitation"]["id"].as_str().unwrap().to_owned();
        let link = self.link_of(customer, &id).await.reveal().to_owned();
        (id, link)
    }

    pub async fn preview(&self, link: &str) -> TestResponse {
        self.request(Method::GET, &format!("/invitations/{link}"), &[], Vec::new())
            .await
    }

    pub async fn accept(&self, link: &str, session: Option<&str>, body: &Value) -> TestResponse {
        self.accept_from(DEFAULT_SOURCE, link, session, body).await
    }

    /// Accepts from the source address `source`.
    pub async fn accept_from(&self, source: &str, link: &str, session: Option<&str>, body: &Value) -> TestResponse {
        self.post_json_from(source, &format!("/invitations/{link}/accept"), session, body)
            .await
    }

    /// Accepts as a new account with `password`; returns the new session token.
    pub async fn accept_as_new(&self, link: &str, password: &str) -> String {
        let response = self.accept(link, None, &json!({ "password": password })).await;
        assert_eq!(response.status, 201, "{response:?}");
        response.body["sessionToken"].as_str().unwrap().to_owned()
    }

    pub async fn leave(&self, token: &str, customer: &str, confirmation: &str) -> TestResponse {
        self.post_json(
            &format!("/me/customers/{customer}/leave"),
            Some(token),
            &json!({ "confirmCustomerNumber": confirmation }),
        )
        .await
    }

    /// The caller's entry for `customer` in `GET /me`, if it has one.
    pub async fn my_access(&self, token: &str, customer: &str) -> Option<Value> {
        let me = self.get_me(Some(token)).await;
        assert_eq!(me.status, 200, "{me:?}");
        me.body["customers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["customerNumber"] == customer)
            .cloned()
    }

    /// The failed log-ins counted under keys that start with `prefix` (`LOGIN#{email}#{source}#`
    /// or `LOGINSRC#{source}#`), over all windows.
    pub async fn failures_counted(&self, prefix: &str) -> i64 {
        let output = self
            .app
            .store
            .client()
            .scan()
            .table_name(&self.app.store.tables().sessions)
            .send()
            .await
            .unwrap();
        output
            .items()
            .iter()
            .filter(|item| item["PK"].as_s().unwrap().starts_with(prefix))
            .map(|item| item["attempts"].as_n().unwrap().parse::<i64>().unwrap())
            .sum()
    }

    /// Stored items whose text contains `needle` (keys and attributes), for counting what exists.
    pub async fn items_containing(&self, needle: &str) -> Vec<String> {
        self.all_items()
            .await
            .into_iter()
            .filter(|item| item.contains(needle))
            .collect()
    }
}

/// Every problem an API test meets must be one `infra/openapi.yaml` says its operation can
/// answer with that status: the codes the code answers cannot drift from the document.
pub mod contract {
    use serde_norway::Value;
    use std::sync::OnceLock;

    fn document() -> &'static Value {
        static DOCUMENT: OnceLock<Value> = OnceLock::new();
        DOCUMENT
            .get_or_init(|| serde_norway::from_str(include_str!("../../openapi.yaml")).expect("the document is YAML"))
    }

    /// Follows a local `$ref` (`#/components/...`).
    fn resolve(value: &Value) -> &Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference
                .trim_start_matches("#/")
                .split('/')
                .fold(document(), |node, step| &node[step]),
            None => value,
        }
    }

    /// The codes the document allows `route` (`POST /auth/login`) to answer with `status`.
    pub fn documented_codes(route: &str, status: u16) -> Option<Vec<String>> {
        let (method, path) = route.split_once(' ')?;
        let operation = &document()["paths"][path][method.to_ascii_lowercase().as_str()];
        let response = resolve(operation.get("responses")?.get(status.to_string().as_str())?);
        let schema = resolve(&response["content"]["application/problem+json"]["schema"]);
        let code = &schema["properties"]["code"];
        match (code["enum"].as_sequence(), code["const"].as_str()) {
            (Some(codes), _) => Some(
                codes
                    .iter()
                    .filter_map(|code| code.as_str().map(str::to_owned))
                    .collect(),
            ),
            (None, Some(code)) => Some(vec![code.to_owned()]),
            (None, None) => None,
        }
    }

    /// Panics when a problem answer is not documented for its operation and status.
    #[track_caller]
    pub fn assert_documented(route: Option<&str>, status: u16, body: &serde_json::Value) {
        let code = body["code"].as_str().unwrap_or_default();
        if let (Ok(file), Some(route)) = (std::env::var("CLOUDHUB_RECORD_PROBLEMS"), route) {
            use std::io::Write as _;
            if let Ok(mut out) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
                let _ = writeln!(out, "{route}\t{status}\t{code}");
            }
        }
        let Some(route) = route else {
            // The `$default` route: an unknown path, or a known path's other method.
            assert!(
                [(404, "route-not-found"), (405, "method-not-allowed")].contains(&(status, code)),
                "an unmatched request: {body}"
            );
            return;
        };
        let documented = documented_codes(route, status).unwrap_or_else(|| {
            panic!("{route} answered {status} {code}, which infra/openapi.yaml does not list for it")
        });
        assert!(
            documented.iter().any(|listed| listed == code),
            "{route} answered {status} `{code}`, not among the codes infra/openapi.yaml lists for it: {documented:?}"
        );
    }
}
