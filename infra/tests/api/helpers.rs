//! The API as its callers see it. A test holds a `TestApp` (fresh tables, a clock it moves) and
//! callers of it: `app.anonymous()`, `app.demo_admin().await`, `app.user(email, password).await`,
//! each carrying its own session, whose methods are the API (as crates.io's
//! `TestApp::init().with_user()` hands out `anon` and `user`). The `cloudhub` paths the tests need
//! are used here, in one place.

use cloudhub::App;
use cloudhub::clock::ManualClock;
use cloudhub::testing::fresh_app;
use infra::gateway::{Gateway, IncomingRequest};
use infra::seed;
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{Value, json};
use std::ops::Deref;
use std::sync::Arc;

// Not every test binary that includes this module uses them all.
#[allow(unused_imports)]
pub use cloudhub::invitations::{Ended, LINK_LIFETIME, LISTED_AFTER_EXPIRY, LinkState};
pub use cloudhub::links::LinkToken;

/// The address requests come from unless a test names another (TEST-NET-1, RFC 5737).
pub const DEFAULT_SOURCE: &str = "192.0.2.1";

/// The API as the frontend sees it, over its own fresh tables and a clock the test moves. Cheap
/// to clone: callers hold a clone, so they can be moved into spawned tasks.
#[derive(Clone)]
pub struct TestApp(Arc<TestAppInner>);

/// What a `TestApp` is made of.
pub struct TestAppInner {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub gateway: Gateway,
    /// Where [`TestApp::recorded`] has read the stream to.
    recording: std::sync::Mutex<Option<infra::delivery::StreamPoller>>,
}

impl Deref for TestApp {
    type Target = TestAppInner;

    fn deref(&self) -> &TestAppInner {
        &self.0
    }
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

    /// The session token of a log-in's or an accept's answer.
    #[track_caller]
    pub fn session_token(&self) -> &str {
        self.body["sessionToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no session in {self:?}"))
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        let (app, clock) = fresh_app().await;
        Self::over(app, clock)
    }

    /// A test app with the demo customer and its admin.
    pub async fn with_demo_customer() -> Self {
        let test_app = Self::spawn().await;
        seed::demo(&test_app.app.store, test_app.clock.now_for_tests())
            .await
            .expect("the demo data seeds");
        test_app
    }

    /// The functions built over `app` (its tables, keys and services), on `clock`.
    pub fn over(app: App, clock: Arc<ManualClock>) -> Self {
        let gateway = Gateway::new(app.clone()).expect("every route of template.yaml has a handler");
        Self::from_parts(app, clock, gateway)
    }

    /// A gateway that need not be over `app` (say, over a store that hangs).
    pub fn from_parts(app: App, clock: Arc<ManualClock>, gateway: Gateway) -> Self {
        Self(Arc::new(TestAppInner {
            app,
            clock,
            gateway,
            recording: std::sync::Mutex::new(None),
        }))
    }

    /// Hands every stream record written so far to the recorder, as the deployed one does
    /// within its delay: the invitation counters are then up to date.
    pub async fn recorded(&self) {
        use infra::delivery::{Recorder, StreamPoller, local_streams_client};
        let taken = self.recording.lock().unwrap().take();
        let mut poller = match taken {
            Some(poller) => poller,
            None => StreamPoller::new(
                self.app.store.client(),
                local_streams_client(&cloudhub::testing::endpoint()),
                &self.app.store.tables().data,
            )
            .await
            .unwrap(),
        };
        let recorder = Recorder(self.app.store.clone());
        loop {
            let polled = poller.poll_once(&recorder).await.unwrap();
            assert!(!polled.failed, "the recorder failed a record");
            if polled.records == 0 {
                break;
            }
        }
        *self.recording.lock().unwrap() = Some(poller);
    }

    /// Someone with no session, from the default source address.
    pub fn anonymous(&self) -> Caller {
        self.anonymous_from(DEFAULT_SOURCE)
    }

    /// Someone with no session, from the source address `source` (API Gateway's `sourceIp`).
    pub fn anonymous_from(&self, source: &str) -> Caller {
        Caller {
            app: self.clone(),
            source: source.to_owned(),
            session: None,
            user_id: None,
        }
    }

    /// A caller presenting `token` as its session, whatever it is: forged, expired, malformed.
    pub fn with_session(&self, token: &str) -> Caller {
        Caller {
            session: Some(token.to_owned()),
            ..self.anonymous()
        }
    }

    /// A caller presenting a well-formed session token that no log-in issued.
    pub fn with_forged_session(&self) -> Caller {
        self.with_session(cloudhub::domain::SecretToken::generate().reveal())
    }

    /// Logs `email` in with `password` (which must work) and returns the caller with that session.
    pub async fn user(&self, email: &str, password: &str) -> Caller {
        let response = self.anonymous().log_in(email, password).await;
        assert_eq!(response.status, 200, "{response:?}");
        Caller {
            session: Some(response.session_token().to_owned()),
            user_id: response.body["userId"].as_str().map(str::to_owned),
            ..self.anonymous()
        }
    }

    /// Logs the demo admin in.
    pub async fn demo_admin(&self) -> Caller {
        self.user(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await
    }

    /// Adds a member of the demo customer holding the named roles, and logs it in.
    pub async fn member_of_demo(&self, email: &str, role_names: &[&str]) -> Caller {
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
            MEMBER_PASSWORD,
            &roles,
            self.clock.now_for_tests(),
        )
        .await;
        self.user(email, MEMBER_PASSWORD).await
    }

    /// A raw request with exactly these headers, from the default source address: no session
    /// unless the headers carry one.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> TestResponse {
        self.request_from(DEFAULT_SOURCE, method, path, headers, body).await
    }

    /// A raw request from the source address `source` (API Gateway's `sourceIp`). Every problem
    /// it answers must be one the API document lists for its operation.
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
}

/// The password of members added with `member_of_demo`.
pub const MEMBER_PASSWORD: &str = "member password 1";

/// Someone calling the API: anonymous, or holding a session. Its methods are the API's
/// operations; each request carries the session (if any) and comes from the caller's source.
#[derive(Clone)]
pub struct Caller {
    app: TestApp,
    source: String,
    session: Option<String>,
    user_id: Option<String>,
}

impl Caller {
    /// The session token the caller presents.
    #[track_caller]
    pub fn session(&self) -> &str {
        self.session.as_deref().expect("an anonymous caller has no session")
    }

    /// The caller's user id, where the helper that made it knew it without a request.
    #[track_caller]
    pub fn user_id(&self) -> &str {
        self.user_id.as_deref().expect("a caller whose user id is known")
    }

    /// The same caller (session, source) at `app`, another instance of the functions.
    pub fn on(&self, app: &TestApp) -> Caller {
        Caller {
            app: app.clone(),
            ..self.clone()
        }
    }

    /// A request with the caller's session (if any) and these further headers.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> TestResponse {
        let authorization = self.session.as_ref().map(|token| format!("Bearer {token}"));
        let mut all_headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("authorization", value.as_str()))
            .collect();
        all_headers.extend_from_slice(headers);
        self.app
            .request_from(&self.source, method, path, &all_headers, body)
            .await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, &[], Vec::new()).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.request(Method::DELETE, path, &[], Vec::new()).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.request(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> TestResponse {
        self.request(
            Method::PUT,
            path,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }

    /// `POST /auth/login`.
    pub async fn log_in(&self, email: &str, password: &str) -> TestResponse {
        self.post_json("/auth/login", &json!({ "email": email, "password": password }))
            .await
    }

    /// `POST /auth/logout`, with no body.
    pub async fn log_out(&self) -> TestResponse {
        self.request(Method::POST, "/auth/logout", &[], Vec::new()).await
    }

    /// `GET /me`.
    pub async fn me(&self) -> TestResponse {
        self.get("/me").await
    }

    /// The caller's entry for `customer` in `GET /me`, if it has one.
    pub async fn my_access(&self, customer: &str) -> Option<Value> {
        let me = self.me().await;
        assert_eq!(me.status, 200, "{me:?}");
        me.body["customers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["customerNumber"] == customer)
            .cloned()
    }

    pub async fn invite(&self, customer: &str, body: Value) -> TestResponse {
        self.post_json(&format!("/customers/{customer}/invitations"), &body)
            .await
    }

    /// Invites `email` into the demo customer with no roles and returns the invitation id.
    pub async fn invite_to_demo(&self, email: &str) -> String {
        let response = self.invite(seed::CUSTOMER_NUMBER, json!({ "email": email })).await;
        assert_eq!(response.status, 201, "{response:?}");
        response.body["invitation"]["id"].as_str().unwrap().to_owned()
    }

    /// Invites `email` into the demo customer with the named roles; returns the invitation id
    /// and its link token, as the email will carry it.
    pub async fn invite_with_link(&self, email: &str, role_names: &[&str]) -> (String, String) {
        self.invite_to_customer_with_link(seed::CUSTOMER_NUMBER, email, role_names)
            .await
    }

    /// Invites `email` into `customer` with the named roles of that customer.
    pub async fn invite_to_customer_with_link(
        &self,
        customer: &str,
        email: &str,
        role_names: &[&str],
    ) -> (String, String) {
        let role_ids = self.app.role_ids(customer, role_names).await;
        let response = self
            .invite(customer, json!({ "email": email, "roleIds": role_ids }))
            .await;
        assert_eq!(response.status, 201, "{response:?}");
        let id = response.body["invitation"]["id"].as_str().unwrap().to_owned();
        let link = self.app.link_of(customer, &id).await.reveal().to_owned();
        (id, link)
    }

    pub async fn list_invitations(&self, customer: &str, query: &str) -> TestResponse {
        self.get(&format!("/customers/{customer}/invitations{query}")).await
    }

    pub async fn get_invitation(&self, customer: &str, id: &str) -> TestResponse {
        self.get(&format!("/customers/{customer}/invitations/{id}")).await
    }

    pub async fn resend(&self, customer: &str, id: &str) -> TestResponse {
        self.post_json(&format!("/customers/{customer}/invitations/{id}/resend"), &json!({}))
            .await
    }

    pub async fn delete_invitation(&self, customer: &str, id: &str) -> TestResponse {
        self.delete(&format!("/customers/{customer}/invitations/{id}")).await
    }

    pub async fn quota(&self, customer: &str) -> TestResponse {
        self.get(&format!("/customers/{customer}/invitation-quota")).await
    }

    /// The demo customer's roles.
    pub async fn roles(&self) -> TestResponse {
        self.get(&format!("/customers/{}/roles", seed::CUSTOMER_NUMBER)).await
    }

    /// The demo customer's users.
    pub async fn users(&self) -> TestResponse {
        self.get(&format!("/customers/{}/users", seed::CUSTOMER_NUMBER)).await
    }

    /// Gives a user of the demo customer these roles.
    pub async fn assign(&self, user_id: &str, role_ids: Value) -> TestResponse {
        let path = format!("/customers/{}/users/{user_id}/roles", seed::CUSTOMER_NUMBER);
        self.put_json(&path, &json!({ "roleIds": role_ids })).await
    }

    /// `GET /invitations/{link}`.
    pub async fn preview(&self, link: &str) -> TestResponse {
        self.get(&format!("/invitations/{link}")).await
    }

    /// `POST /invitations/{link}/accept`, with the caller's session if it has one.
    pub async fn accept(&self, link: &str, body: &Value) -> TestResponse {
        self.post_json(&format!("/invitations/{link}/accept"), body).await
    }

    /// Accepts as a new account with `password`; returns that account, logged in.
    pub async fn accept_as_new(&self, link: &str, password: &str) -> Caller {
        let response = self.accept(link, &json!({ "password": password })).await;
        assert_eq!(response.status, 201, "{response:?}");
        self.app.signed_in(&response)
    }

    pub async fn leave(&self, customer: &str, confirmation: &str) -> TestResponse {
        self.post_json(
            &format!("/me/customers/{customer}/leave"),
            &json!({ "confirmCustomerNumber": confirmation }),
        )
        .await
    }
}

impl TestApp {
    /// The caller a log-in's or an accept's answer opened a session for.
    pub fn signed_in(&self, response: &TestResponse) -> Caller {
        Caller {
            session: Some(response.session_token().to_owned()),
            user_id: response.body["userId"].as_str().map(str::to_owned),
            ..self.anonymous()
        }
    }
}

/// A role id in the right form that no role has.
pub fn unknown_role_id() -> String {
    cloudhub::domain::RoleId::generate().to_string()
}

/// A user id in the right form that no user has.
pub fn unknown_user_id() -> String {
    cloudhub::domain::UserId::generate().to_string()
}

/// An invitation id in the right form that no invitation has.
pub fn unknown_invitation_id() -> String {
    cloudhub::domain::InvitationId::generate().to_string()
}

/// A well-formed link of the key `test` that no invitation has.
pub fn forged_link() -> LinkToken {
    LinkToken::parse(&format!("test.{}", cloudhub::domain::SecretToken::generate().reveal()))
        .expect("a well-formed link")
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

/// One stored item: its table, its keys, and every attribute (keys included) as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredItem {
    pub table: String,
    pub pk: String,
    /// Empty in the sessions table, which has no sort key.
    pub sk: String,
    pub attributes: Value,
}

impl StoredItem {
    /// The attribute `name` (`Value::Null` when the item has none).
    pub fn attr(&self, name: &str) -> &Value {
        &self.attributes[name]
    }

    /// The item as text: its table and every attribute, in a stable order.
    pub fn text(&self) -> String {
        // serde_json's maps are sorted, so equal items print equally.
        format!("{}: {}", self.table, self.attributes)
    }
}

/// Stored items, ordered by table and keys, so that equal contents compare equal.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredItems(Vec<StoredItem>);

impl Deref for StoredItems {
    type Target = [StoredItem];

    fn deref(&self) -> &[StoredItem] {
        &self.0
    }
}

impl StoredItems {
    /// The items `keep` says yes to.
    pub fn matching(&self, keep: impl Fn(&StoredItem) -> bool) -> StoredItems {
        StoredItems(self.0.iter().filter(|item| keep(item)).cloned().collect())
    }

    pub fn with_pk_prefix(&self, prefix: &str) -> StoredItems {
        self.matching(|item| item.pk.starts_with(prefix))
    }

    pub fn without_pk_prefix(&self, prefix: &str) -> StoredItems {
        self.matching(|item| !item.pk.starts_with(prefix))
    }

    pub fn with_sk_prefix(&self, prefix: &str) -> StoredItems {
        self.matching(|item| item.sk.starts_with(prefix))
    }

    /// The items whose partition or sort key starts with `prefix`.
    pub fn with_key_prefix(&self, prefix: &str) -> StoredItems {
        self.matching(|item| item.pk.starts_with(prefix) || item.sk.starts_with(prefix))
    }

    pub fn with_pk(&self, pk: &str) -> StoredItems {
        self.matching(|item| item.pk == pk)
    }

    pub fn with_sk(&self, sk: &str) -> StoredItems {
        self.matching(|item| item.sk == sk)
    }

    pub fn with_attr(&self, name: &str, value: impl Into<Value>) -> StoredItems {
        let value = value.into();
        self.matching(|item| *item.attr(name) == value)
    }
}

/// What the tests read and arrange beside the API: stored items, links, roles, other customers.
impl TestApp {
    /// Every item of both tables, to prove that a refused request changed nothing. Tests may
    /// Scan; request paths never do.
    pub async fn all_items(&self) -> StoredItems {
        let mut items = Vec::new();
        for table in [&self.app.store.tables().data, &self.app.store.tables().sessions] {
            let output = self.app.store.client().scan().table_name(table).send().await.unwrap();
            for item in output.items() {
                let attributes: Value = serde_dynamo::from_item(item.clone()).unwrap();
                let key = |name: &str| attributes[name].as_str().unwrap_or_default().to_owned();
                items.push(StoredItem {
                    table: table.clone(),
                    pk: key("PK"),
                    sk: key("SK"),
                    attributes,
                });
            }
        }
        items.sort_by(|a, b| (&a.table, &a.pk, &a.sk).cmp(&(&b.table, &b.pk, &b.sk)));
        StoredItems(items)
    }

    /// Whether `needle` appears anywhere in the stored items' text (keys, attributes, values):
    /// for secrets that must appear nowhere, and the one form that must.
    pub async fn table_text_contains(&self, needle: &str) -> bool {
        self.all_items().await.iter().any(|item| item.text().contains(needle))
    }

    /// The failed log-ins counted under keys that start with `prefix` (`LOGIN#{email}#{source}#`
    /// or `LOGINSRC#{source}#`), over all windows.
    pub async fn failures_counted(&self, prefix: &str) -> i64 {
        self.all_items()
            .await
            .with_pk_prefix(prefix)
            .iter()
            .filter(|item| item.table == self.app.store.tables().sessions)
            .map(|item| item.attr("attempts").as_i64().expect("a count of attempts"))
            .sum()
    }

    /// The raw role ids stored on every invitation of the demo customer.
    pub async fn stored_invitation_roles(&self) -> Vec<Vec<String>> {
        self.all_items()
            .await
            .with_sk_prefix("INVITATION#")
            .iter()
            .map(|invitation| {
                invitation
                    .attr("roleIds")
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect()
            })
            .collect()
    }

    /// The demo customer's role id by name.
    pub async fn demo_role(&self, name: &str) -> String {
        self.role_ids(seed::CUSTOMER_NUMBER, &[name]).await.remove(0)
    }

    /// The ids of all of `customer`'s roles, in the order the roles are listed.
    pub async fn all_role_ids(&self, customer: &str) -> Vec<String> {
        cloudhub::roles::list(
            &self.app.store,
            &cloudhub::domain::CustomerNumber::parse(customer).unwrap(),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|role| role.id.to_string())
        .collect()
    }

    /// The ids of `customer`'s roles by name.
    pub async fn role_ids(&self, customer: &str, role_names: &[&str]) -> Vec<String> {
        let roles = cloudhub::roles::list(
            &self.app.store,
            &cloudhub::domain::CustomerNumber::parse(customer).unwrap(),
        )
        .await
        .unwrap();
        role_names
            .iter()
            .map(|name| {
                roles
                    .iter()
                    .find(|r| r.name.as_str() == *name)
                    .unwrap_or_else(|| panic!("no role {name} in {customer}"))
                    .id
                    .to_string()
            })
            .collect()
    }

    pub async fn demo_role_exists(&self, id: &str) -> bool {
        let roles = cloudhub::roles::list(
            &self.app.store,
            &cloudhub::domain::CustomerNumber::parse(seed::CUSTOMER_NUMBER).unwrap(),
        )
        .await
        .unwrap();
        roles.iter().any(|r| r.id.to_string() == id)
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
    pub async fn link_of(&self, customer: &str, id: &str) -> LinkToken {
        let invitation = self.invitation_item(customer, id).await;
        let keyring = self.app.link_keys().unwrap().keyring().await.unwrap();
        invitation.link_token(&keyring).expect("its key is in force")
    }

    /// What the link `token` opens now, as the functions read it.
    pub async fn open_link(&self, token: &LinkToken) -> LinkState {
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
        self.create_customer(
            &other.number,
            "Beta Logistik AG",
            "de",
            &other.admin_email,
            &other.admin_password,
        )
        .await;
        other
    }

    /// Creates customer `number` with no roles, speaking `default_language` (`de`, `en`), whose
    /// admin is a new account.
    pub async fn create_customer(
        &self,
        number: &str,
        company_name: &str,
        default_language: &str,
        admin_email: &str,
        admin_password: &str,
    ) {
        cloudhub::usecases::onboarding::create(
            &self.app.store,
            cloudhub::usecases::onboarding::NewCustomer {
                number: cloudhub::domain::CustomerNumber::parse(number).unwrap(),
                company_name: cloudhub::domain::CompanyName::parse(company_name).unwrap(),
                default_language: cloudhub::domain::Language::parse(default_language).unwrap(),
                roles: vec![],
            },
            cloudhub::usecases::onboarding::FirstAdmin::NewAccount {
                user_id: cloudhub::domain::UserId::generate(),
                email: cloudhub::domain::Email::parse(admin_email).unwrap(),
                password_hash: cloudhub::domain::Password::parse(
                    admin_password.to_owned(),
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

/// A proxy to DynamoDB at `upstream` on loopback; returns its endpoint. For every request it
/// forwards, once the answer is in, it calls `seen` with the operation (`TransactWriteItems`, ...)
/// and when the request arrived, and holds the answer back for as long as `seen` says.
pub async fn dynamodb_proxy(
    upstream: &str,
    seen: impl Fn(&str, std::time::Instant) -> std::time::Duration + Send + Sync + 'static,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let seen = Arc::new(seen);
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let (upstream, seen) = (upstream.clone(), seen.clone());
            tokio::spawn(async move {
                while let Some((head, body)) = crate::moto::read_request_or_end(&mut client).await {
                    let started = std::time::Instant::now();
                    let operation = head
                        .lines()
                        .find_map(|line| {
                            let (name, value) = line.split_once(':')?;
                            name.eq_ignore_ascii_case("x-amz-target")
                                .then(|| value.trim().to_owned())
                        })
                        .and_then(|target| target.split('.').nth(1).map(str::to_owned))
                        .unwrap_or_default();
                    let head: String = head
                        .lines()
                        .filter(|line| !line.is_empty() && !line.to_lowercase().starts_with("connection:"))
                        .map(|line| format!("{line}\r\n"))
                        .collect();
                    let mut server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                    server
                        .write_all(format!("{head}connection: close\r\n\r\n").as_bytes())
                        .await
                        .unwrap();
                    server.write_all(&body).await.unwrap();
                    let mut answer = Vec::new();
                    server.read_to_end(&mut answer).await.unwrap();
                    let hold = seen(&operation, started);
                    if !hold.is_zero() {
                        tokio::time::sleep(hold).await;
                    }
                    if client.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    endpoint
}
