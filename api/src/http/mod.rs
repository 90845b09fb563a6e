//! HTTP plumbing shared by every route: errors as RFC 9457 problems, request ids and access
//! logs, body limits, security headers, extractor configuration.

mod guards;
pub mod problem;
mod request_context;

pub use guards::{body_guard, extractor_configs, security_headers};
pub use problem::{ApiError, Problem, ProblemType};
pub use request_context::{REQUEST_ID_HEADER, RequestId, request_context};
