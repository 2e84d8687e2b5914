//! `POST /me/customers/{customerId}/leave`: the caller cancels its own access to one customer.
//!
//! The body must repeat the customer number (`{"confirmCustomerNumber": "100234"}`), the
//! server-side half of the frontend's two confirmation windows. The answer names the next screen.

use cloudhub::App;
use cloudhub::domain::{CustomerNumber, InvalidValue};
use cloudhub::http::{ApiError, caller, customer_in_path, json, json_body};
use cloudhub::usecases::leave::{self, NextScreen};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LeaveBody {
    confirm_customer_number: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LeaveAnswer {
    left: String,
    next: Next,
}

/// The screen the portal shows next.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case", tag = "screen")]
enum Next {
    /// Two or more customers remain.
    ChooseCustomer,
    /// One remains.
    #[serde(rename_all = "camelCase")]
    Home {
        customer_number: String,
        company_name: String,
    },
    /// None remain: the notice's code and its sentence in the user's language.
    NoAccess { code: &'static str, detail: &'static str },
}

fn confirmed(body: LeaveBody, customer: &CustomerNumber) -> Result<(), InvalidValue> {
    let typed = CustomerNumber::parse(body.confirm_customer_number.trim());
    if typed.as_ref() == Ok(customer) {
        Ok(())
    } else {
        Err(InvalidValue {
            code: "confirmation-mismatch",
            reason: "To leave, `confirmCustomerNumber` must repeat the customer number of the path.".into(),
        })
    }
}

/// Handles `POST /me/customers/{customerId}/leave`.
#[tracing::instrument(name = "Leaving a customer", skip_all)]
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(&request)?;
    let body: LeaveBody = json_body(&request)?;
    let customer = customer_in_path(&request)?;
    confirmed(body, &customer)?;
    let next = leave::leave(&app.store, &caller.user_id, &customer, app.clock.now()).await?;
    let next = match next {
        NextScreen::ChooseCustomer => Next::ChooseCustomer,
        NextScreen::Home {
            customer_number,
            company_name,
        } => Next::Home {
            customer_number: customer_number.to_string(),
            company_name: company_name.to_string(),
        },
        NextScreen::NoAccess { language } => {
            let notice = cloudhub::notices::left_last_customer(language);
            Next::NoAccess {
                code: notice.code,
                detail: notice.text,
            }
        }
    };
    Ok(json(
        StatusCode::OK,
        &LeaveAnswer {
            left: customer.to_string(),
            next,
        },
    ))
}
