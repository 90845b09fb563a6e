//! The subject access export as one self-contained, printable HTML page: the same content as
//! the JSON document, section by section, with every value escaped
//! ([`crate::http::html::escape`]). No script, nothing fetched from elsewhere; the page's only
//! style is its own `<style>` element, allowed by [`CONTENT_SECURITY_POLICY`].

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::{DisclosureEvent, SubjectAccessExport};
use crate::http::html::escape;

/// The content security policy the page is served under: nothing but its inline style.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#111;max-width:70em}\
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:2px solid #333;margin-top:2em}\
h3{font-size:1.05em;margin-bottom:.3em}\
table{border-collapse:collapse;margin:.4em 0 1em;width:100%;font-size:.9em}\
th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top;\
overflow-wrap:anywhere}\
th{background:#eee;font-weight:600}table.kv>tbody>tr>th{width:14em}\
.muted{color:#666;font-style:italic}.note{background:#f6f6f6;padding:.6em;border-left:4px solid #666}\
pre{white-space:pre-wrap;margin:0;font-family:inherit}\
@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}";

/// The page of `export`.
pub fn render(export: &SubjectAccessExport) -> String {
    let mut page = Page::default();
    let reference = &export.case.reference;
    let _ = write!(
        page.out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Subject access: case {reference}</title><style>{STYLE}</style></head><body>\
         <h1>Everything held about the person of case {reference}</h1>",
        reference = escape(reference),
    );
    let made = &export.export;
    let _ = write!(
        page.out,
        "<p class=\"note\">{basis}</p><p>Made on {at} by {organisation}, the organisation that \
         holds the case. Each part below is what Tumaini holds; a part marked <em>withheld</em> \
         is held but could not be read by the person who made this export, and a part marked \
         <em>erased</em> was destroyed for good.</p>",
        basis = escape(&made.legal_basis),
        at = escape(&made.generated_at.format("%Y-%m-%d %H:%M UTC").to_string()),
        organisation = escape(&made.organisation_name),
    );
    if let Some(at) = export.erased_at {
        let _ = write!(
            page.out,
            "<p class=\"note\">The personal data of this case was <strong>erased</strong> on \
             {}: only the coarse summary below remains.</p>",
            escape(&at.format("%Y-%m-%d").to_string())
        );
    }
    if export.restricted {
        page.out.push_str(
            "<p class=\"note\">Processing of this case is <strong>restricted</strong>.</p>",
        );
    }

    page.section("The case", &export.case);
    page.personal_data(export);
    page.heading("Consent");
    let _ = write!(
        page.out,
        "<p>Version in force now: {}</p>",
        export
            .consent_in_force_version
            .map_or_else(|| "none".to_owned(), |v| v.to_string())
    );
    page.list(&export.consents);
    page.section("Screenings for trafficking indicators", &export.screenings);
    page.section("Identification decisions", &export.identification_decisions);
    page.section("Assistance", &export.assistance);
    page.section("Case notes", &export.notes);
    page.section("Risk assessments", &export.risk_assessments);
    page.section("Assistance plan", &export.plan);
    page.section(
        "Break-glass openings (personal details opened outside the normal rules)",
        &export.break_glass,
    );
    page.section(
        "Other cases that may be the same person",
        &export.possible_duplicates,
    );
    page.section(
        "Referrals to other organisations (what each received, and when)",
        &export.referrals,
    );
    page.section(
        "Documents (every version; each downloaded from its link)",
        &export.documents,
    );
    page.heading("Who accessed the data");
    page.out.push_str("<h3>By person</h3>");
    page.list(&export.disclosures.accessed_by);
    page.out.push_str("<h3>Every event</h3>");
    page.events(&export.disclosures.events);
    page.out.push_str("</body></html>\n");
    page.out
}

#[derive(Default)]
struct Page {
    out: String,
}

impl Page {
    fn heading(&mut self, title: &str) {
        let _ = write!(self.out, "<h2>{}</h2>", escape(title));
    }

    /// A section: a heading and the value, rendered.
    fn section<T: Serialize>(&mut self, title: &str, value: &T) {
        self.heading(title);
        self.list(value);
    }

    /// A value rendered (a list of flat records as one table).
    fn list<T: Serialize>(&mut self, value: &T) {
        match serde_json::to_value(value) {
            Ok(value) => self.value(&value),
            Err(_) => self
                .out
                .push_str("<p class=\"muted\">This part could not be shown.</p>"),
        }
    }

    fn personal_data(&mut self, export: &SubjectAccessExport) {
        self.heading("Personal details");
        let data = &export.personal_data;
        let groups = [
            ("identity", "Identity", &data.identity),
            ("contact", "Contact", &data.contact),
            (
                "exploitation",
                "The account of exploitation",
                &data.exploitation,
            ),
            ("health", "Health", &data.health),
            ("legal", "Legal situation", &data.legal),
            ("notes", "Summary note", &data.notes),
        ];
        for (code, title, value) in groups {
            let _ = write!(self.out, "<h3>{}</h3>", escape(title));
            let listed =
                |list: &[tumaini_db::vocabulary::FieldGroup]| list.iter().any(|g| g.code() == code);
            match value {
                Some(value) => self.value(value),
                None if listed(data.erased_groups.as_slice()) => self.muted("Erased."),
                None if listed(data.withheld_groups.as_slice()) => self.muted("Withheld."),
                None => self.muted("Not recorded."),
            }
        }
    }

    /// The disclosure log, one row per event: when, who, what, which groups, why, how it ended.
    fn events(&mut self, events: &[DisclosureEvent]) {
        if events.is_empty() {
            self.muted("None.");
            return;
        }
        self.out.push_str(
            "<table><thead><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Groups</th>\
             <th>Purpose</th><th>Outcome</th></tr></thead><tbody>",
        );
        let or_dash = |text: Option<&str>| escape(text.unwrap_or("—"));
        for e in events {
            let who = match (&e.actor_user_id, &e.actor_client_id) {
                (Some(user), _) => format!("account {}", escape(user)),
                (None, Some(client)) => format!("machine client {}", escape(client)),
                (None, None) => "the system".to_owned(),
            };
            let _ = write!(
                self.out,
                "<tr><td>{at}<br><small class=\"muted\">event {id}</small></td>\
                 <td>{role}<br>{organisation}<br><small>{who}</small></td>\
                 <td>{what}<br><small>{code}{on}</small>{severity}</td>\
                 <td>{groups}</td><td>{purpose}</td><td>{outcome}</td></tr>",
                at = escape(&e.occurred_at.format("%Y-%m-%d %H:%M:%S").to_string()),
                id = escape(&e.id),
                role = or_dash(e.actor_role.as_deref()),
                organisation = or_dash(
                    e.actor_organisation_name
                        .as_deref()
                        .or(e.actor_organisation_id.as_deref())
                ),
                what = escape(e.action_label.as_deref().unwrap_or(&e.action)),
                code = escape(&e.action),
                on = match (e.resource_type.as_deref(), &e.resource_id) {
                    (Some("referral"), Some(id)) => format!(", referral {}", escape(id)),
                    _ => String::new(),
                },
                severity = if e.severity == "high" {
                    "<br><strong>high severity</strong>"
                } else {
                    ""
                },
                groups = if e.field_groups.is_empty() {
                    "—".to_owned()
                } else {
                    escape(&e.field_groups.join(", "))
                },
                purpose = or_dash(e.purpose.as_deref()),
                outcome = escape(&e.outcome),
            );
        }
        self.out.push_str("</tbody></table>");
    }

    fn muted(&mut self, text: &str) {
        let _ = write!(self.out, "<p class=\"muted\">{}</p>", escape(text));
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Array(items) if items.is_empty() => self.muted("None."),
            Value::Array(items) if items.iter().all(is_flat_record) => self.table(items),
            Value::Array(items) => {
                for (n, item) in items.iter().enumerate() {
                    let _ = write!(self.out, "<h4>{}.</h4>", n + 1);
                    self.value(item);
                }
            }
            Value::Object(_) => self.cell(value),
            Value::Null => self.muted("None."),
            scalar => {
                self.out.push_str("<p>");
                self.cell(scalar);
                self.out.push_str("</p>");
            }
        }
    }

    /// Flat records as one table, a column per field.
    fn table(&mut self, items: &[Value]) {
        let mut columns: Vec<&str> = Vec::new();
        for item in items {
            for key in item.as_object().into_iter().flat_map(|o| o.keys()) {
                if !columns.contains(&key.as_str()) {
                    columns.push(key);
                }
            }
        }
        self.out.push_str("<table><thead><tr>");
        for column in &columns {
            let _ = write!(self.out, "<th>{}</th>", escape(&label(column)));
        }
        self.out.push_str("</tr></thead><tbody>");
        for item in items {
            self.out.push_str("<tr>");
            for column in &columns {
                self.out.push_str("<td>");
                self.cell(item.get(*column).unwrap_or(&Value::Null));
                self.out.push_str("</td>");
            }
            self.out.push_str("</tr>");
        }
        self.out.push_str("</tbody></table>");
    }

    /// A value inside a cell or a paragraph: objects as a table of fields, lists of scalars
    /// joined, text kept with its line breaks.
    fn cell(&mut self, value: &Value) {
        match value {
            Value::Null => self.out.push_str("<span class=\"muted\">—</span>"),
            Value::Bool(true) => self.out.push_str("yes"),
            Value::Bool(false) => self.out.push_str("no"),
            Value::Number(n) => self.out.push_str(&escape(&n.to_string())),
            Value::String(text) if text.contains('\n') => {
                let _ = write!(self.out, "<pre>{}</pre>", escape(text));
            }
            Value::String(text) => self.out.push_str(&escape(text)),
            Value::Array(items) if items.iter().all(is_scalar) => {
                if items.is_empty() {
                    self.out.push_str("<span class=\"muted\">none</span>");
                }
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        self.out.push_str(", ");
                    }
                    self.cell(item);
                }
            }
            Value::Array(items) => {
                if items.iter().all(is_flat_record) {
                    self.table(items);
                } else {
                    self.out.push_str("<ol>");
                    for item in items {
                        self.out.push_str("<li>");
                        self.cell(item);
                        self.out.push_str("</li>");
                    }
                    self.out.push_str("</ol>");
                }
            }
            Value::Object(fields) => {
                self.out.push_str("<table class=\"kv\"><tbody>");
                for (key, field) in fields {
                    let _ = write!(self.out, "<tr><th>{}</th><td>", escape(&label(key)));
                    self.cell(field);
                    self.out.push_str("</td></tr>");
                }
                self.out.push_str("</tbody></table>");
            }
        }
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// An object whose fields are scalars or lists of scalars: one row of a table.
fn is_flat_record(value: &Value) -> bool {
    value.as_object().is_some_and(|fields| {
        fields.values().all(|v| match v {
            Value::Array(items) => items.iter().all(is_scalar),
            other => is_scalar(other),
        })
    })
}

/// A field's name for people: `decided_at` → `Decided at`.
fn label(key: &str) -> String {
    let spaced = key.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Page, label};

    #[test]
    fn values_are_escaped_and_laid_out() {
        let mut page = Page::default();
        page.value(&json!([
            {"text": "<script>alert(1)</script>", "written_at": "2026-12-07"},
            {"text": "a & b", "written_at": null}
        ]));
        let html = page.out;
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("a &amp; b"), "{html}");
        assert!(html.contains("<th>Written at</th>"), "{html}");
    }

    #[test]
    fn keys_become_labels() {
        assert_eq!(label("decided_at"), "Decided at");
        assert_eq!(label(""), "");
    }
}
