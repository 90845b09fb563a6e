//! The parts of the API contract that hold for every operation of a kind, added to the
//! generated document in one place rather than repeated on each route: the problems an
//! authenticated, a parameterised or a body-taking operation can answer, and the headers of
//! idempotent retries and of overload. A route documents what is particular to it; this
//! module documents what the server's plumbing (extractors, guards, the database pool) answers
//! whatever the route.

use utoipa::IntoParams;
use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr};

/// The media type of every error.
const PROBLEM: &str = "application/problem+json";

/// The header that makes a retried POST safe.
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The `Idempotency-Key` header of a POST whose handler honours it: name it in the route's
/// `params(...)`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// A key of your choosing (1 to 200 visible ASCII characters) that makes a retried POST
    /// safe: the same key with the same body answers the first answer again, with
    /// `Idempotent-Replayed: true`, instead of acting twice. Keys are kept 72 hours by default
    /// (`TUMAINI_IDEMPOTENCY_HOURS`).
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 200)]
    pub key: Option<String>,
}

/// The `If-Match` header of a change to a versioned record whose handler asks for it when the
/// record exists.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatch {
    /// The `ETag` of the version being changed (required once the record exists).
    #[param(rename = "If-Match")]
    pub version: Option<String>,
}

/// Operations that never answer 503: served from memory, or (the metrics scrape) degrading to
/// the last figures read when the database does not answer.
const NEVER_UNAVAILABLE: &[&str] = &[
    "/healthz",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/metrics",
];

/// Adds, to every operation of `doc`, the responses and headers its kind implies.
pub fn complete(doc: &mut OpenApi) {
    for (path, item) in &mut doc.paths.paths {
        let served_from_memory = NEVER_UNAVAILABLE.contains(&path.as_str());
        for method in [
            HttpMethod::Get,
            HttpMethod::Head,
            HttpMethod::Post,
            HttpMethod::Put,
            HttpMethod::Patch,
            HttpMethod::Delete,
        ] {
            let slot = match method {
                HttpMethod::Get => &mut item.get,
                HttpMethod::Head => &mut item.head,
                HttpMethod::Post => &mut item.post,
                HttpMethod::Put => &mut item.put,
                HttpMethod::Patch => &mut item.patch,
                _ => &mut item.delete,
            };
            if let Some(operation) = slot.as_mut() {
                complete_operation(path, &method, operation, served_from_memory);
            }
        }
    }
}

fn complete_operation(
    path: &str,
    method: &HttpMethod,
    operation: &mut Operation,
    served_from_memory: bool,
) {
    let authenticated = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    // A person's or a client's token, which policies then decide on (a scrape token is only
    // ever accepted or not).
    let decided = operation.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.contains_key("bearer")))
            .unwrap_or(false)
    });
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)));
    let has_body = operation.request_body.is_some();
    let writes = matches!(
        method,
        HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch | HttpMethod::Delete
    );
    if authenticated {
        add(operation, "401", unauthenticated());
    }
    if decided {
        add(
            operation,
            "403",
            problem(
                "Refused: your role may not do this, or your account must first enrol a second factor",
            ),
        );
    }
    if path.contains('{') {
        add(
            operation,
            "404",
            problem("No such object, or none you may see (the two are not told apart)"),
        );
    }
    if has_query {
        add(operation, "400", problem("A query parameter is not valid"));
    }
    if has_body {
        add(
            operation,
            "400",
            problem("The body is not valid JSON, or a parameter is not valid"),
        );
        add(
            operation,
            "413",
            problem("The body is larger than the server accepts"),
        );
        add(
            operation,
            "415",
            problem("The body is not `application/json`"),
        );
        add(
            operation,
            "422",
            problem("A field is missing, of the wrong type, or not valid; the problem names it"),
        );
    }
    if writes && authenticated {
        add(
            operation,
            "409",
            problem("The change conflicts with the object's current state"),
        );
    }
    let idempotent = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.name == IDEMPOTENCY_KEY));
    if idempotent {
        idempotency(operation);
    }
    let conditional = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.name == "If-Match"));
    if conditional {
        add(
            operation,
            "412",
            problem("`If-Match` names a version that is no longer current: read the record again"),
        );
        add(
            operation,
            "428",
            problem("`If-Match` is required to change this record"),
        );
    }
    if !served_from_memory {
        add(operation, "503", unavailable());
    }
}

/// Adds `response` under `status` unless the route documented that status itself.
fn add(operation: &mut Operation, status: &str, response: Response) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert(RefOr::T(response));
}

fn problem_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
        .build()
}

/// A problem response with `description`.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM, problem_content())
        .build()
}

fn string_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn unauthenticated() -> Response {
    ResponseBuilder::new()
        .description("No valid access token: missing, expired, revoked, or of a disabled account")
        .content(PROBLEM, problem_content())
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(string_schema()))
                .description(Some("`Bearer realm=\"tumaini\"`"))
                .build(),
        )
        .build()
}

fn unavailable() -> Response {
    ResponseBuilder::new()
        .description("The database is not reachable or the server is overloaded; retry later")
        .content(PROBLEM, problem_content())
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                .description(Some(
                    "Seconds to wait before retrying, when the server knows",
                ))
                .build(),
        )
        .build()
}

/// What an `Idempotency-Key` (declared by the route, see [`IdempotencyKey`]) makes the server
/// answer.
fn idempotency(operation: &mut Operation) {
    add(
        operation,
        "400",
        problem("The `Idempotency-Key` is not 1 to 200 visible ASCII characters"),
    );
    add(
        operation,
        "422",
        problem("The `Idempotency-Key` was used before with a different body"),
    );
    for (status, response) in &mut operation.responses.responses {
        if !status.starts_with('2') {
            continue;
        }
        if let RefOr::T(response) = response {
            response
                .headers
                .entry("Idempotent-Replayed".to_owned())
                .or_insert_with(|| {
                    RefOr::T(
                        HeaderBuilder::new()
                            .schema(Some(string_schema().enum_values(Some(["true"]))))
                            .description(Some(
                                "`true` when this is the stored answer to an earlier request with \
                             the same `Idempotency-Key`",
                            ))
                            .build(),
                    )
                });
        }
    }
}
