//! The API's own description: the OpenAPI 3.1 document, and a page that renders it for people.
//!
//! The page is rendered on the server from the same document, with no script and nothing
//! fetched from elsewhere: it works on an air-gapped network and under a content security
//! policy that forbids scripts.

use std::fmt::Write as _;
use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpResponse, get};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, RefOr};

use crate::http::ApiError;
use crate::http::html::escape;

/// The OpenAPI document, serialised, and the page rendering it: built once, on first use (the
/// server builds them before it listens, and refuses to start if the document cannot be
/// serialised).
pub fn description() -> Result<&'static (String, String), ApiError> {
    static DESCRIPTION: OnceLock<Result<(String, String), String>> = OnceLock::new();
    DESCRIPTION
        .get_or_init(|| {
            let doc = super::openapi();
            let json = doc.to_pretty_json().map_err(|err| err.to_string())?;
            Ok((json, render_docs_page(&doc)))
        })
        .as_ref()
        .map_err(|reason| {
            ApiError::Internal(anyhow::anyhow!(
                "serialising the OpenAPI document: {reason}"
            ))
        })
}

/// The OpenAPI 3.1 document describing every route of this server.
#[utoipa::path(
    tag = "operations",
    responses(
        (
            status = 200,
            description = "The OpenAPI 3.1 document",
            body = serde_json::Value,
            content_type = "application/json",
        ),
    ),
)]
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(description()?.0.as_str()))
}

/// A human-readable rendering of the OpenAPI document.
#[utoipa::path(
    tag = "operations",
    responses(
        (
            status = 200,
            description = "The API reference as an HTML page",
            body = String,
            content_type = "text/html",
        ),
    ),
)]
#[get("/api/v1/docs")]
pub async fn docs_page() -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // No scripts, no external resources; only the page's own inline style.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ))
        .body(description()?.1.as_str()))
}

fn reference_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// Renders the document as one self-contained HTML page.
pub fn render_docs_page(doc: &OpenApi) -> String {
    let mut html = String::new();
    let title = escape(&doc.info.title);
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}}\
         h2{{border-bottom:1px solid #ccc;padding-bottom:.3rem;margin-top:2.5rem}}\
         .op{{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}}\
         .m{{display:inline-block;min-width:4.5rem;font-weight:700;font-family:monospace}}\
         code,pre{{background:#f4f4f4;border-radius:4px;padding:.1rem .3rem}}\
         pre{{padding:.6rem;overflow-x:auto}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}}\
         </style></head><body><h1>{title} <small>{version}</small></h1>",
        version = escape(&doc.info.version),
    );
    if let Some(description) = &doc.info.description {
        let _ = write!(html, "<p>{}</p>", escape(description));
    }
    html.push_str(
        "<p>Machine-readable: <a href=\"/api/v1/openapi.json\"><code>/api/v1/openapi.json</code></a> \
         (OpenAPI 3.1).</p><h2>Endpoints</h2>",
    );
    for (path, item) in &doc.paths.paths {
        let operations = [
            ("GET", &item.get),
            ("PUT", &item.put),
            ("POST", &item.post),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
            ("HEAD", &item.head),
            ("OPTIONS", &item.options),
            ("TRACE", &item.trace),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                render_operation(&mut html, method, path, operation);
            }
        }
    }
    if let Some(components) = &doc.components {
        html.push_str("<h2>Schemas</h2>");
        for (name, schema) in &components.schemas {
            let json = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                html,
                "<h3 id=\"schema-{id}\">{id}</h3><pre>{json}</pre>",
                id = escape(name),
                json = escape(&json)
            );
        }
    }
    html.push_str("</body></html>");
    html
}

fn render_operation(html: &mut String, method: &str, path: &str, operation: &Operation) {
    let _ = write!(
        html,
        "<div class=\"op\"><p><span class=\"m\">{method}</span><code>{}</code></p>",
        escape(path)
    );
    if let Some(summary) = &operation.summary {
        let _ = write!(html, "<p><strong>{}</strong></p>", escape(summary));
    }
    if let Some(description) = &operation.description {
        let _ = write!(html, "<p>{}</p>", escape(description));
    }
    if let Some(parameters) = operation.parameters.as_ref().filter(|p| !p.is_empty()) {
        html.push_str(
            "<table><tr><th>Parameter</th><th>In</th><th>Required</th><th>Description</th></tr>",
        );
        for parameter in parameters.iter().filter_map(|p| match p {
            RefOr::T(parameter) => Some(parameter),
            RefOr::Ref(_) => None,
        }) {
            let location = match parameter.parameter_in {
                ParameterIn::Query => "query",
                ParameterIn::Path => "path",
                ParameterIn::Header => "header",
                ParameterIn::Cookie => "cookie",
                ParameterIn::QueryString => "querystring",
            };
            let required = matches!(parameter.required, utoipa::openapi::Required::True);
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{location}</td><td>{}</td><td>{}</td></tr>",
                escape(&parameter.name),
                if required { "yes" } else { "no" },
                escape(parameter.description.as_deref().unwrap_or(""))
            );
        }
        html.push_str("</table>");
    }
    html.push_str("<table><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>");
    for (status, response) in &operation.responses.responses {
        let (description, bodies) = match response {
            RefOr::T(response) => {
                let bodies: Vec<String> = response
                    .content
                    .iter()
                    .map(|(media, content)| match content {
                        RefOr::T(utoipa::openapi::Content {
                            schema: Some(RefOr::Ref(r)),
                            ..
                        }) => {
                            let name = escape(reference_name(&r.ref_location));
                            format!(
                                "<code>{}</code> <a href=\"#schema-{name}\">{name}</a>",
                                escape(media)
                            )
                        }
                        _ => format!("<code>{}</code>", escape(media)),
                    })
                    .collect();
                (response.description.clone(), bodies.join("<br>"))
            }
            RefOr::Ref(r) => (reference_name(&r.ref_location).to_owned(), String::new()),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{bodies}</td></tr>",
            escape(status),
            escape(&description)
        );
    }
    html.push_str("</table></div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
