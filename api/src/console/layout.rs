//! The page shell (language and direction, skip link, navigation by role, sign-out, language
//! menu), the responses every page sends (headers for a shared computer), and the pieces forms
//! are made of: labelled fields whose errors are announced next to them.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use tumaini_db::vocabulary::Role;

use super::i18n::{self, Locale, t};
use super::session::{Staff, Visitor};
use super::{CONTENT_SECURITY_POLICY, STYLESHEET};

/// Where a page sits in the navigation (marked `aria-current`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// My work.
    Work,
    /// Cases.
    Cases,
    /// Referrals.
    Referrals,
    /// Supervision: approvals, assignments.
    Supervision,
    /// Coordination: deadlines and statistics.
    Coordination,
    /// The person's own account.
    Account,
    /// Outside the navigation (sign-in, errors).
    None,
}

fn nav_items(role: Role) -> Vec<(Section, &'static str, &'static str)> {
    let mut items = vec![(Section::Work, "/console/work", "nav-work")];
    if role != Role::Admin {
        items.push((Section::Cases, "/console/cases", "nav-cases"));
    }
    if matches!(
        role,
        Role::FirstResponder | Role::CaseWorker | Role::Supervisor | Role::Coordinator
    ) {
        items.push((Section::Referrals, "/console/referrals", "nav-referrals"));
    }
    if role == Role::Supervisor {
        items.push((
            Section::Supervision,
            "/console/supervision",
            "nav-supervision",
        ));
    }
    if role == Role::Coordinator {
        items.push((
            Section::Coordination,
            "/console/coordination",
            "nav-coordination",
        ));
    }
    items.push((Section::Account, "/console/account", "nav-account"));
    items
}

/// The hidden fields of a signed-in person's form: the CSRF token, and a key new with every
/// page (`once`) that a handler may pass on as the action's idempotency key, so that the same
/// form sent twice acts once.
pub fn csrf_field(token: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(token);
        input type="hidden" name="once" value=(uuid::Uuid::now_v7().simple().to_string());
    }
}

/// A whole page for a signed-in person.
pub fn page(staff: &Staff, section: Section, title: &str, body: Markup) -> Markup {
    let locale = staff.locale;
    shell(
        locale,
        title,
        html! {
            header.bar {
                a.brand href="/console/work" { "Tumaini" }
                nav aria-label=(t(locale, "nav-label")) {
                    ul {
                        @for (item, href, label) in nav_items(staff.caller.user.role) {
                            li {
                                @if item == section {
                                    a href=(href) aria-current="page" { (t(locale, label)) }
                                } @else {
                                    a href=(href) { (t(locale, label)) }
                                }
                            }
                        }
                    }
                }
                form.signout method="post" action="/console/sign-out" {
                    (csrf_field(&staff.csrf))
                    span.who { (staff.caller.user.display_name) " · " (i18n::vocab(locale, staff.caller.user.role)) }
                    button type="submit" { (t(locale, "sign-out")) }
                }
            }
        },
        body,
        Some(&staff.csrf),
    )
}

/// A whole page for a visitor who has not signed in.
pub fn visitor_page(visitor: &Visitor, title: &str, body: Markup) -> Markup {
    shell(
        visitor.locale,
        title,
        html! {
            header.bar { span.brand { "Tumaini" } }
        },
        body,
        None,
    )
}

fn shell(locale: Locale, title: &str, header: Markup, body: Markup, csrf: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(locale.code()) dir=(locale.direction()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Tumaini" }
                link rel="stylesheet" href=(STYLESHEET.as_str());
                // No icon to fetch (a request saved on a slow connection).
                link rel="icon" href="data:,";
            }
            body {
                a.skip href="#main" { (t(locale, "skip-to-content")) }
                (header)
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
                footer {
                    form.languages method="post" action="/console/language" {
                        @if let Some(csrf) = csrf {
                            (csrf_field(csrf))
                        }
                        span #language-label { (t(locale, "language")) }
                        @for other in Locale::ALL {
                            @if other == locale {
                                button type="submit" name="lang" value=(other.code()) lang=(other.code()) aria-pressed="true" aria-describedby="language-label" { (other.native_name()) }
                            } @else {
                                button type="submit" name="lang" value=(other.code()) lang=(other.code()) aria-pressed="false" aria-describedby="language-label" { (other.native_name()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The response of a page: HTML, the console's security policy, never stored by the browser or
/// a proxy, and (for a signed-in person) the renewed session cookie.
pub fn respond(staff: Option<&Staff>, status: StatusCode, markup: Markup) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if let Some(staff) = staff {
        response.cookie(staff.renewed.clone());
    }
    response.body(markup.into_string())
}

/// A signed-in person's page, 200.
pub fn ok(staff: &Staff, section: Section, title: &str, body: Markup) -> HttpResponse {
    respond(
        Some(staff),
        StatusCode::OK,
        page(staff, section, title, body),
    )
}

/// After a form: on to `to` (303), with the renewed cookie.
pub fn see_other(staff: &Staff, to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(staff.renewed.clone())
        .finish()
}

/// A visitor's page, with the form cookie when one was made.
pub fn visitor_respond(visitor: &Visitor, status: StatusCode, markup: Markup) -> HttpResponse {
    let mut response = respond(None, status, markup);
    if let Some(cookie) = &visitor.new_cookie {
        let _ = response.add_cookie(cookie);
    }
    response
}

/// The page of an error: what happened in plain words, and a way on.
pub fn error_page(locale: Locale, status: StatusCode, csrf: Option<&str>) -> HttpResponse {
    let key = match status.as_u16() {
        400 | 413 | 415 | 422 => "error-invalid",
        403 => "error-forbidden",
        404 | 405 => "error-not-found",
        409 | 412 | 428 => "error-conflict",
        429 => "error-too-many",
        503 => "error-unavailable",
        _ => "error-internal",
    };
    let title = t(locale, &format!("{key}-title"));
    let markup = plain_page(
        locale,
        &title,
        html! {
            p { (t(locale, &format!("{key}-text"))) }
            p { a href="/console/work" { (t(locale, "error-back")) } }
        },
        csrf,
    );
    respond(None, status, markup)
}

/// A page outside the navigation, for whoever asks (an error, an e-mail link's way on): the
/// shell with the brand only.
pub fn plain_page(locale: Locale, title: &str, body: Markup, csrf: Option<&str>) -> Markup {
    shell(
        locale,
        title,
        html! { header.bar { a.brand href="/console/work" { "Tumaini" } } },
        body,
        csrf,
    )
}

/// An error message for the whole form, announced when the page loads.
pub fn form_alert(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.alert role="alert" id="form-error" { (message) }
        }
    }
}

/// What a form's field shows: its label, an optional hint, the error next to it.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// The `name` (and `id`).
    pub name: &'a str,
    /// The visible label.
    pub label: &'a str,
    /// A hint under the label.
    pub hint: Option<&'a str>,
    /// The error of this field, if the last attempt had one.
    pub error: Option<&'a str>,
    /// Whether it must be filled in.
    pub required: bool,
}

impl<'a> Field<'a> {
    /// A field with a label.
    pub const fn new(name: &'a str, label: &'a str) -> Self {
        Self {
            name,
            label,
            hint: None,
            error: None,
            required: false,
        }
    }

    /// With a hint.
    pub const fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// Must be filled in.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// With the error of the last attempt, if any.
    pub const fn error(mut self, error: Option<&'a str>) -> Self {
        self.error = error;
        self
    }

    fn described_by(&self) -> Option<String> {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.name));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.name));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn head(&self) -> Markup {
        html! {
            label for=(self.name) { (self.label) }
            @if let Some(hint) = self.hint {
                span.hint id=(format!("{}-hint", self.name)) { (hint) }
            }
            @if let Some(error) = self.error {
                span.error id=(format!("{}-error", self.name)) role="alert" { (error) }
            }
        }
    }

    /// An `<input>` of `kind` with `value`.
    pub fn input(&self, kind: &str, value: &str) -> Markup {
        self.input_with(kind, value, None)
    }

    /// An `<input>` with an `autocomplete` token.
    pub fn input_with(&self, kind: &str, value: &str, autocomplete: Option<&str>) -> Markup {
        html! {
            div.field {
                (self.head())
                input type=(kind) id=(self.name) name=(self.name) value=(value)
                    required[self.required] autocomplete=[autocomplete]
                    aria-invalid=[self.error.map(|_| "true")]
                    aria-describedby=[self.described_by()];
            }
        }
    }

    /// A `<textarea>`.
    pub fn textarea(&self, value: &str) -> Markup {
        html! {
            div.field {
                (self.head())
                textarea id=(self.name) name=(self.name) rows="4" required[self.required]
                    aria-invalid=[self.error.map(|_| "true")]
                    aria-describedby=[self.described_by()] { (value) }
            }
        }
    }

    /// A `<select>` of `(code, label)` options, `selected` chosen, after an empty first choice.
    pub fn select(&self, options: &[(String, String)], selected: &str) -> Markup {
        html! {
            div.field {
                (self.head())
                select id=(self.name) name=(self.name) required[self.required]
                    aria-invalid=[self.error.map(|_| "true")]
                    aria-describedby=[self.described_by()] {
                    // Always an empty first choice: a required field left alone is refused
                    // by the service, never recorded as the list's first value.
                    option value="" { "—" }
                    @for (code, label) in options {
                        option value=(code) selected[code == selected] { (label) }
                    }
                }
            }
        }
    }
}

/// Checkboxes in a fieldset with a legend: `name` repeated for each ticked value.
pub fn checkboxes(
    name: &str,
    legend: &str,
    options: &[(String, String)],
    ticked: &[String],
    error: Option<&str>,
) -> Markup {
    html! {
        fieldset.field aria-describedby=[error.map(|_| format!("{name}-error"))] {
            legend { (legend) }
            @if let Some(error) = error {
                span.error id=(format!("{name}-error")) role="alert" { (error) }
            }
            @for (i, (code, label)) in options.iter().enumerate() {
                div.choice {
                    input type="checkbox" id=(format!("{name}-{i}")) name=(name) value=(code)
                        checked[ticked.contains(code)];
                    label for=(format!("{name}-{i}")) { (label) }
                }
            }
        }
    }
}

/// Every value of a vocabulary as `(code, label)` options in `locale`.
pub fn vocabulary_options<V: tumaini_db::vocabulary::Coded>(
    locale: Locale,
) -> Vec<(String, String)> {
    V::all()
        .iter()
        .map(|v| (v.code().to_owned(), i18n::vocab(locale, *v)))
        .collect()
}

/// Text known to be safe markup (an SVG drawn by the server).
pub fn trusted(markup: String) -> Markup {
    PreEscaped(markup)
}
