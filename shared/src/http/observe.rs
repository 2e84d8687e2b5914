//! What every HTTP function tells operators about each request: one structured log line (request
//! id, route, status, problem code, duration, customer, user id; never an email, a token or a
//! body), and the product's metrics in CloudWatch's Embedded Metric Format.

use super::routes::{self, Route};
use crate::domain::CustomerNumber;
use crate::http::{ApiError, AuthorizerContext};
use crate::metrics::{self, Metric};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use std::time::Instant;

/// The stable problem code of an answer, attached by [`crate::http::ApiError::into_response`]
/// so that the request's log line can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemCode(pub &'static str);

/// What the request line says about a request, read before the handler consumes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    /// API Gateway's request id (Lambda's when there is none).
    pub request_id: String,
    /// The route key, e.g. `POST /customers/{customerId}/invitations`: the path's template, so
    /// that tokens in paths (`/invitations/{token}`) never reach the log.
    pub route: String,
    /// The `{customerId}` of the path, when it is a customer number.
    pub customer: Option<String>,
    /// The caller's user id, when the authorizer vouched for one.
    pub user: Option<String>,
}

impl RequestFacts {
    /// Reads the facts of `request`.
    pub fn of(request: &Request) -> Self {
        let (gateway_request_id, route, user) = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => (
                context.request_id.clone(),
                context.route_key.clone(),
                context
                    .authorizer
                    .as_ref()
                    .map(|authorizer| serde_json::Value::Object(authorizer.fields.clone().into_iter().collect()))
                    .and_then(|fields| serde_json::from_value::<AuthorizerContext>(fields).ok())
                    .and_then(|context| context.user_id),
            ),
            _ => (None, None, None),
        };
        let request_id = gateway_request_id
            .or_else(|| request.lambda_context_ref().map(|context| context.request_id.clone()))
            .unwrap_or_default();
        let customer = request
            .path_parameters_ref()
            .and_then(|parameters| parameters.first("customerId"))
            .and_then(|raw| CustomerNumber::parse(raw).ok())
            .map(|customer| customer.as_str().to_owned());
        Self {
            request_id,
            route: route.unwrap_or_else(|| "-".into()),
            customer,
            user,
        }
    }
}

/// Runs `handler` on `request` and answers its error, if any, as a problem; then logs the
/// request's one line and emits its metric, if any. Every request of every HTTP function passes
/// here, so here its query is checked against what its route takes: a parameter the route does
/// not take is refused before the handler runs.
pub async fn observed<F, Fut>(request: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let started = Instant::now();
    let facts = RequestFacts::of(&request);
    let answer = match super::params::refuse_unknown_query_parameters(&request, &facts.route) {
        // The activity log's entries name the request their writes were made in.
        Ok(()) => crate::store::stamp::within_request(facts.request_id.clone(), handler(request)).await,
        Err(refused) => Err(refused),
    };
    let response = answer.unwrap_or_else(ApiError::into_response);
    let status = response.status().as_u16();
    let code = response.extensions().get::<ProblemCode>().map(|code| code.0);
    tracing::info!(
        request_id = %facts.request_id,
        route = %facts.route,
        status,
        code,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        customer = facts.customer.as_deref(),
        user = facts.user.as_deref(),
        "request"
    );
    if let Some(metric) = metric_of_answer(&facts.route, status) {
        metrics::emit(
            &[(metric, 1)],
            &[
                ("requestId", facts.request_id.as_str()),
                ("route", facts.route.as_str()),
            ],
        );
    }
    response
}

/// Which product metric an answer counts toward: invitations sent (created or resent), quota
/// refusals, accepts and leaves. Emails sent are counted by the mailer.
pub fn metric_of_answer(route: &str, status: u16) -> Option<Metric> {
    match (Route::of_key(route)?, status) {
        (routes::INVITATIONS_CREATE, 201) | (routes::INVITATIONS_RESEND, 200) => Some(Metric::InvitationsSent),
        (routes::INVITATIONS_CREATE | routes::INVITATIONS_RESEND, 429) => Some(Metric::QuotaRefusals),
        (routes::LINK_ACCEPT, 200 | 201) => Some(Metric::Accepts),
        (routes::ME_LEAVE_CUSTOMER, 200) => Some(Metric::Leaves),
        _ => None,
    }
}

/// Runs an HTTP function on Lambda: each request goes through [`observed`], which answers the
/// handler's error as a problem.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut + Sync,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send,
{
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, lambda_http::Error>(observed(request, &handler).await)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_count_toward_the_product_metrics() {
        let invite = "POST /customers/{customerId}/invitations";
        let resend = "POST /customers/{customerId}/invitations/{invitationId}/resend";
        assert_eq!(metric_of_answer(invite, 201), Some(Metric::InvitationsSent));
        assert_eq!(metric_of_answer(resend, 200), Some(Metric::InvitationsSent));
        assert_eq!(metric_of_answer(invite, 429), Some(Metric::QuotaRefusals));
        assert_eq!(metric_of_answer(resend, 429), Some(Metric::QuotaRefusals));
        assert_eq!(
            metric_of_answer("POST /invitations/{token}/accept", 201),
            Some(Metric::Accepts)
        );
        assert_eq!(
            metric_of_answer("POST /invitations/{token}/accept", 200),
            Some(Metric::Accepts)
        );
        assert_eq!(
            metric_of_answer("POST /me/customers/{customerId}/leave", 200),
            Some(Metric::Leaves)
        );
        // Refusals other than the quota, and other routes, count toward nothing.
        assert_eq!(metric_of_answer(invite, 409), None);
        assert_eq!(metric_of_answer("POST /auth/login", 429), None);
        assert_eq!(metric_of_answer("POST /invitations/{token}/accept", 404), None);
        assert_eq!(metric_of_answer("GET /customers/{customerId}/invitations", 200), None);
    }
}
