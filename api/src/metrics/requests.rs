//! The middleware that counts and times every HTTP request by route pattern, method and
//! status. The route is the pattern of the route table (`/api/v1/cases/{id}`), never the path
//! asked for: a mistyped URL may hold anything, a name included, so a request no route matched
//! is counted as `unmatched`. An unusual method is counted as `OTHER`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, web};

use super::Metrics;

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The method as a label from a fixed set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// See the module documentation. The metrics are the application's `web::Data<Metrics>`;
/// without them the request passes uncounted.
pub async fn track_requests<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let Some(metrics) = req.app_data::<web::Data<Metrics>>().cloned() else {
        return next.call(req).await;
    };
    let method = method_label(req.method());
    let started = Instant::now();
    let result = next.call(req).await;
    let (route, status) = match &result {
        Ok(response) => (
            response.request().match_pattern(),
            response.status().as_u16(),
        ),
        Err(err) => (None, err.as_response_error().status_code().as_u16()),
    };
    metrics.request_served(
        route.as_deref().unwrap_or(UNMATCHED),
        method,
        status,
        started.elapsed(),
    );
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_come_from_a_fixed_set() {
        assert_eq!(method_label(&Method::GET), "GET");
        let invented = Method::from_bytes(b"JANEDOE").unwrap();
        assert_eq!(method_label(&invented), "OTHER");
    }
}
