//! A protected statistics table as a page shows it: one or two dimensions with their totals,
//! each value in words, and every figure the server suppressed marked by a symbol (explained in
//! a legend, and in words for screen readers), never by colour alone; the threshold stated.

use std::collections::HashMap;

use maud::{Markup, html};
use tumaini_db::models::statistics::Dimension;
use tumaini_db::vocabulary::{
    AgeBand, CaseStatus, Coded, ExploitationType, IdentificationStage, OrganisationKind,
    ReferralState, ReferralUrgency, Sex,
};

use crate::console::i18n::{self, Arg, Locale, t, ta};
use crate::statistics::Table;

/// The mark of a figure below the threshold.
pub(super) const BELOW_THRESHOLD: &str = "✱";
/// The mark of a figure suppressed so that a small one cannot be worked out from the totals.
pub(super) const COMPLEMENTARY: &str = "†";

/// A dimension's name.
pub(super) fn dimension_label(locale: Locale, dimension: Dimension) -> String {
    t(
        locale,
        &format!("statistics-dim-{}", dimension.code()).replace('_', "-"),
    )
}

fn vocabulary<V: Coded>(locale: Locale, code: &str) -> Option<String> {
    V::all()
        .iter()
        .find(|v| v.code() == code)
        .map(|v| i18n::vocab(locale, *v))
}

/// A value of a dimension in words: a name the table gives (organisations, regions), a
/// vocabulary's label, one of the statistics' own values, or the value itself (years, months,
/// countries).
fn value_label(locale: Locale, table: &Table, dimension: &str, value: &str) -> String {
    if let Some(name) = table.labels.get(value) {
        return name.clone();
    }
    let label = match Dimension::from_code(dimension) {
        Some(Dimension::Sex) => vocabulary::<Sex>(locale, value),
        Some(Dimension::AgeBand) => vocabulary::<AgeBand>(locale, value),
        Some(Dimension::ExploitationType) => vocabulary::<ExploitationType>(locale, value),
        Some(Dimension::IdentificationStage) => vocabulary::<IdentificationStage>(locale, value),
        Some(Dimension::CaseStatus) => vocabulary::<CaseStatus>(locale, value),
        Some(Dimension::OrganisationKind) => vocabulary::<OrganisationKind>(locale, value),
        Some(Dimension::Urgency) => vocabulary::<ReferralUrgency>(locale, value),
        Some(Dimension::ReferralState) => vocabulary::<ReferralState>(locale, value),
        _ => None,
    };
    label.unwrap_or_else(|| {
        let id = format!("statistics-value-{value}").replace('_', "-");
        if i18n::has(Locale::En, &id) {
            t(locale, &id)
        } else {
            value.to_owned()
        }
    })
}

/// One figure: the number, or the mark of its suppression with its meaning in words.
fn figure(locale: Locale, table: &Table, found: Option<&crate::statistics::Entry>) -> Markup {
    match found {
        None => html! { (i18n::number(locale, 0)) },
        Some(entry) => match (entry.count, entry.suppressed) {
            (Some(n), _) => html! { (i18n::number(locale, n)) },
            (None, Some("complementary")) => html! {
                span.suppressed {
                    span aria-hidden="true" { (COMPLEMENTARY) }
                    span.visually-hidden { (t(locale, "statistics-complementary-short")) }
                }
            },
            (None, _) => html! {
                span.suppressed {
                    span aria-hidden="true" { (BELOW_THRESHOLD) }
                    span.visually-hidden { (ta(locale, "statistics-below-short", &[("threshold", Arg::from(table.threshold))])) }
                }
            },
        },
    }
}

/// The table, its threshold and the legend of its marks.
pub(super) fn table_view(locale: Locale, table: &Table) -> Markup {
    let l = locale;
    let found: HashMap<&[Option<String>], &crate::statistics::Entry> = table
        .entries
        .iter()
        .map(|e| (e.values.as_slice(), e))
        .collect();
    let cell =
        |values: Vec<Option<String>>| figure(l, table, found.get(values.as_slice()).copied());
    let name = |at: usize| {
        table
            .dimensions
            .get(at)
            .and_then(|d| Dimension::from_code(d))
            .map(|d| dimension_label(l, d))
            .unwrap_or_default()
    };
    let values = |at: usize| table.values.get(at).cloned().unwrap_or_default();
    let label = |at: usize, v: &str| {
        value_label(
            l,
            table,
            table.dimensions.get(at).map_or("", String::as_str),
            v,
        )
    };
    let unit = t(
        l,
        &format!("statistics-unit-{}", table.unit).replace('_', "-"),
    );
    let caption = if table.dimensions.len() > 1 {
        ta(
            l,
            "statistics-caption-two",
            &[
                ("unit", Arg::from(unit.clone())),
                ("rows", Arg::from(name(0))),
                ("columns", Arg::from(name(1))),
            ],
        )
    } else {
        ta(
            l,
            "statistics-caption-one",
            &[
                ("unit", Arg::from(unit.clone())),
                ("rows", Arg::from(name(0))),
            ],
        )
    };
    let suppressed: usize = table.suppressed.values().sum();
    html! {
        p #statistics-threshold { strong { (ta(l, "statistics-threshold", &[("threshold", Arg::from(table.threshold))])) } }
        table.figures aria-describedby="statistics-threshold statistics-legend" {
            caption { (caption) }
            @if table.dimensions.len() > 1 {
                thead { tr {
                    th scope="col" { (name(0)) " \\ " (name(1)) }
                    @for column in &values(1) { th scope="col" { (label(1, column)) } }
                    th scope="col" { (t(l, "statistics-total")) }
                } }
                tbody {
                    @for row in &values(0) {
                        tr {
                            th scope="row" { (label(0, row)) }
                            @for column in &values(1) {
                                td { (cell(vec![Some(row.clone()), Some(column.clone())])) }
                            }
                            td { (cell(vec![Some(row.clone()), None])) }
                        }
                    }
                    tr.total {
                        th scope="row" { (t(l, "statistics-total")) }
                        @for column in &values(1) {
                            td { (cell(vec![None, Some(column.clone())])) }
                        }
                        td { (cell(vec![None, None])) }
                    }
                }
            } @else {
                thead { tr {
                    th scope="col" { (name(0)) }
                    th scope="col" { (unit) }
                } }
                tbody {
                    @for row in &values(0) {
                        tr {
                            th scope="row" { (label(0, row)) }
                            td { (cell(vec![Some(row.clone())])) }
                        }
                    }
                    tr.total {
                        th scope="row" { (t(l, "statistics-total")) }
                        td { (cell(vec![None])) }
                    }
                }
            }
        }
        div #statistics-legend {
            h3 { (t(l, "statistics-legend")) }
            dl.facts {
                dt { span aria-hidden="true" { (BELOW_THRESHOLD) } span.visually-hidden { (t(l, "statistics-symbol-star")) } }
                dd { (ta(l, "statistics-below", &[("threshold", Arg::from(table.threshold))])) }
                dt { span aria-hidden="true" { (COMPLEMENTARY) } span.visually-hidden { (t(l, "statistics-symbol-dagger")) } }
                dd { (t(l, "statistics-complementary")) }
            }
            p { (ta(l, "statistics-suppressed-count", &[("count", Arg::from(suppressed))])) }
        }
    }
}
