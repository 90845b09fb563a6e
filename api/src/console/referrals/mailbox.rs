//! The organisation's referrals: received (the inbox) and sent (the outbox), newest first, as
//! the API's mailbox lists them (`crate::referrals::mailbox`), each linking to its page.

use actix_web::web;
use maud::{Markup, html};
use serde::Deserialize;
use tumaini_db::ids::ReferralId;
use tumaini_db::vocabulary::ReferralState;

use super::super::PageResult;
use super::super::i18n::{self, Arg, Locale, t, ta};
use super::super::layout::{self, Field, Section, vocabulary_options};
use super::super::session::Staff;
use super::{labels, when};
use crate::referrals::{self, MailboxPage, ReferralPage, Side};
use crate::state::AppState;

/// How many referrals a box shows at once.
const PAGE: i64 = 50;

/// The filter's fields (each empty when not given).
#[derive(Debug, Default, Deserialize)]
pub(super) struct MailboxQuery {
    #[serde(default, rename = "box")]
    side: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    cursor: String,
}

/// `GET /console/referrals`: both boxes (or the one asked for, from `cursor` on).
pub(super) async fn page(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<MailboxQuery>,
) -> PageResult {
    let l = staff.locale;
    let query = query.into_inner();
    let only = match query.side.as_str() {
        "inbox" => Some(Side::Inbox),
        "outbox" => Some(Side::Outbox),
        _ => None,
    };
    let wanted_state = query.state.parse::<ReferralState>().ok();
    let cursor = query.cursor.parse::<ReferralId>().ok();
    let mut boxes = Vec::new();
    for side in [Side::Inbox, Side::Outbox] {
        if only.is_some_and(|o| !same_side(o, side)) {
            continue;
        }
        let page = MailboxPage {
            side,
            state: wanted_state,
            cursor: cursor.clone().filter(|_| only.is_some()),
            limit: PAGE,
        };
        boxes.push((
            side,
            referrals::mailbox(&state, staff.caller.clone(), page).await?,
        ));
    }
    let title = t(l, "referrals-title");
    let sides = vec![
        ("both".to_owned(), t(l, "referrals-both")),
        ("inbox".to_owned(), t(l, "referrals-inbox")),
        ("outbox".to_owned(), t(l, "referrals-outbox")),
    ];
    let shown = match only {
        Some(Side::Inbox) => "inbox",
        Some(Side::Outbox) => "outbox",
        None => "both",
    };
    let body = html! {
        form.filters method="get" action="/console/referrals" aria-label=(t(l, "referrals-filter")) {
            (Field::new("box", &t(l, "referrals-field-box")).required().select(&sides, shown))
            (Field::new("state", &t(l, "referral-state")).select(&vocabulary_options::<ReferralState>(l), &query.state))
            button type="submit" { (t(l, "referrals-show")) }
        }
        @for (side, page) in &boxes {
            (mailbox(l, *side, page, wanted_state))
        }
    };
    Ok(layout::ok(&staff, Section::Referrals, &title, body))
}

const fn same_side(a: Side, b: Side) -> bool {
    matches!(
        (a, b),
        (Side::Inbox, Side::Inbox) | (Side::Outbox, Side::Outbox)
    )
}

fn mailbox(l: Locale, side: Side, page: &ReferralPage, state: Option<ReferralState>) -> Markup {
    let state = state.map_or("", ReferralState::code);
    let (code, heading, other_party) = match side {
        Side::Inbox => ("inbox", "referrals-inbox", "referral-from"),
        Side::Outbox => ("outbox", "referrals-outbox", "referral-to"),
    };
    let heading_id = format!("{code}-heading");
    html! {
        h2 id=(heading_id) { (t(l, heading)) }
        @if page.items.is_empty() {
            p { (t(l, &format!("referrals-{code}-empty"))) }
        } @else {
            p { (ta(l, "referrals-count", &[("count", Arg::from(page.items.len()))])) }
            table aria-labelledby=(heading_id) {
                thead { tr {
                    th scope="col" { (t(l, "referral-reference")) }
                    th scope="col" { (t(l, "referral-case")) }
                    th scope="col" { (t(l, "referral-services")) }
                    th scope="col" { (t(l, other_party)) }
                    th scope="col" { (t(l, "referral-state")) }
                    th scope="col" { (t(l, "referral-respond-by")) }
                    th scope="col" { (t(l, "referral-sent")) }
                } }
                tbody {
                    @for r in &page.items {
                        tr.overdue[r.overdue] {
                            td { a href=(format!("/console/referrals/{}", r.id)) { (r.reference) } }
                            td { a href=(format!("/console/cases/{}", r.case_id)) { (r.case_reference) } }
                            td { (labels(l, &r.services)) }
                            td { @match side { Side::Inbox => (r.from.name), Side::Outbox => (r.to.name) } }
                            td { (i18n::vocab(l, r.state)) }
                            td {
                                (when(l, r.respond_by))
                                @if r.overdue { " " strong.badge { (t(l, "referral-overdue")) } }
                            }
                            td { (when(l, r.created_at)) }
                        }
                    }
                }
            }
            @if let Some(next) = &page.next_cursor {
                p { a href=(format!("/console/referrals?box={code}&state={state}&cursor={next}")) { (t(l, &format!("referrals-{code}-more"))) } }
            }
        }
    }
}
