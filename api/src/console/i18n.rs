//! The console's languages, through Project Fluent: English and Swahili complete, French and
//! Arabic (right to left) prepared, each falling back to English message by message. Messages
//! live in `locales/<language>/<area>.ftl`, compiled into the binary. Dates and numbers are
//! written the way each language writes them.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{Datelike as _, NaiveDate, NaiveDateTime};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    /// English, the fallback of every message.
    #[default]
    En,
    /// Kiswahili.
    Sw,
    /// French (prepared: messages not yet translated show in English).
    Fr,
    /// Arabic, written right to left (prepared likewise).
    Ar,
}

impl Locale {
    /// Every language, in the order the language menu lists them.
    pub const ALL: [Self; 4] = [Self::En, Self::Sw, Self::Fr, Self::Ar];

    /// The BCP 47 code (`lang` attribute, stored preference, cookie).
    pub const fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Sw => "sw",
            Self::Fr => "fr",
            Self::Ar => "ar",
        }
    }

    /// The language by its code; anything else is `None`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code.trim())
    }

    /// The language's own name for itself.
    pub const fn native_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Sw => "Kiswahili",
            Self::Fr => "Français",
            Self::Ar => "العربية",
        }
    }

    /// The writing direction (`dir` attribute).
    pub const fn direction(self) -> &'static str {
        match self {
            Self::Ar => "rtl",
            _ => "ltr",
        }
    }

    /// The first language of an `Accept-Language` header that the console speaks.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut ranked: Vec<(f32, Self)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim().to_ascii_lowercase();
                let quality = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                let primary = tag.split('-').next()?;
                Some((quality, Self::from_code(primary)?))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|(_, l)| *l)
    }
}

/// The message files of each language: one per area of the console.
const SOURCES: [(Locale, &[&str]); 4] = [
    (
        Locale::En,
        &[
            include_str!("locales/en/main.ftl"),
            include_str!("locales/en/cases.ftl"),
            include_str!("locales/en/referrals.ftl"),
            include_str!("locales/en/oversight.ftl"),
            include_str!("locales/en/vocabulary.ftl"),
        ],
    ),
    (
        Locale::Sw,
        &[
            include_str!("locales/sw/main.ftl"),
            include_str!("locales/sw/cases.ftl"),
            include_str!("locales/sw/referrals.ftl"),
            include_str!("locales/sw/oversight.ftl"),
            include_str!("locales/sw/vocabulary.ftl"),
            include_str!("locales/sw/screening.ftl"),
        ],
    ),
    (Locale::Fr, &[include_str!("locales/fr/main.ftl")]),
    (Locale::Ar, &[include_str!("locales/ar/main.ftl")]),
];

struct Catalog {
    bundles: HashMap<Locale, FluentBundle<FluentResource>>,
}

/// Builds the bundles; a message file that does not parse, or a message defined twice, is
/// reported by `catalog_errors` (a unit test) and otherwise skipped.
fn build() -> (Catalog, Vec<String>) {
    let mut errors = Vec::new();
    let mut bundles = HashMap::new();
    for (locale, files) in SOURCES {
        let id: LanguageIdentifier = locale.code().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // Values are inserted into HTML that sets its own direction per element; the isolation
        // marks would show as stray characters in form values and titles.
        bundle.set_use_isolating(false);
        for (index, source) in files.iter().enumerate() {
            let resource = match FluentResource::try_new((*source).to_owned()) {
                Ok(resource) => resource,
                Err((resource, parse_errors)) => {
                    errors.push(format!(
                        "{} file {index}: {} syntax errors",
                        locale.code(),
                        parse_errors.len()
                    ));
                    resource
                }
            };
            if let Err(added) = bundle.add_resource(resource) {
                errors.push(format!(
                    "{} file {index}: {} messages defined twice",
                    locale.code(),
                    added.len()
                ));
            }
        }
        bundles.insert(locale, bundle);
    }
    (Catalog { bundles }, errors)
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| build().0);

/// Parse errors and duplicate messages in the message files (empty when they are sound).
pub fn catalog_errors() -> Vec<String> {
    build().1
}

fn format(locale: Locale, id: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
    let bundle = CATALOG.bundles.get(&locale)?;
    let message = bundle.get_message(id)?;
    let pattern = message.value()?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, args, &mut errors);
    errors.is_empty().then(|| text.into_owned())
}

/// Whether `locale` (not its fallback) has message `id`.
pub fn has(locale: Locale, id: &str) -> bool {
    CATALOG
        .bundles
        .get(&locale)
        .is_some_and(|b| b.has_message(id))
}

/// The ids of the messages of `locale`'s files.
pub fn message_ids(locale: Locale) -> Vec<String> {
    let mut ids = Vec::new();
    for (l, files) in SOURCES {
        if l != locale {
            continue;
        }
        for source in files {
            if let Ok(resource) = FluentResource::try_new((*source).to_owned()) {
                for entry in resource.entries() {
                    if let fluent_syntax::ast::Entry::Message(m) = entry {
                        ids.push(m.id.name.to_owned());
                    }
                }
            }
        }
    }
    ids
}

/// Message `id` in `locale`, or in English where the language lacks it, or the id itself
/// (which a unit test keeps from happening for the messages the console uses).
pub fn t(locale: Locale, id: &str) -> String {
    format(locale, id, None)
        .or_else(|| format(Locale::En, id, None))
        .unwrap_or_else(|| id.to_owned())
}

/// Message `id` with arguments.
pub fn ta(locale: Locale, id: &str, args: &[(&str, Arg)]) -> String {
    let mut fluent = FluentArgs::new();
    for (name, value) in args {
        match value {
            Arg::Text(text) => fluent.set(*name, FluentValue::from(text.clone())),
            Arg::Number(n) => fluent.set(*name, FluentValue::from(*n)),
        }
    }
    format(locale, id, Some(&fluent))
        .or_else(|| format(Locale::En, id, Some(&fluent)))
        .unwrap_or_else(|| id.to_owned())
}

/// An argument of a message.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Text, inserted as it is (escaped by the page, like any text).
    Text(String),
    /// A count, which chooses the plural form.
    Number(i64),
}

impl From<&str> for Arg {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Arg {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Self::Number(n)
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Self::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// The label of code `code` of vocabulary `vocabulary` (message `v-<vocabulary>-<code>`, with
/// `_` as `-`), or `english` (the vocabulary's own label) where no language has it.
pub fn label(locale: Locale, vocabulary: &str, code: &str, english: &str) -> String {
    let id = format!("v-{vocabulary}-{code}").replace('_', "-");
    format(locale, &id, None)
        .or_else(|| format(Locale::En, &id, None))
        .unwrap_or_else(|| english.to_owned())
}

/// The label of a vocabulary's value in `locale`.
pub fn vocab<V: tumaini_db::vocabulary::Coded>(locale: Locale, value: V) -> String {
    label(locale, V::VOCABULARY, value.code(), value.label())
}

/// A date as the language writes it: "7 December 2026", "7 Desemba 2026".
pub fn date(locale: Locale, date: NaiveDate) -> String {
    let month = t(locale, &format!("month-{}", date.month()));
    format!("{} {} {}", date.day(), month, date.year())
}

/// A date and time in East Africa Time (UTC+3), the zone of the deployments the console serves:
/// "7 December 2026, 14:05".
pub fn date_time(locale: Locale, utc: NaiveDateTime) -> String {
    let local = utc + chrono::Duration::hours(3);
    format!("{}, {}", date(locale, local.date()), local.format("%H:%M"))
}

/// A whole number with the language's grouping: "12,345" in English and Swahili, "12 345"
/// (narrow no-break space) in French, "12,345" in Arabic (Latin digits, as the region's
/// official forms use).
pub fn number(locale: Locale, n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let separator = match locale {
        Locale::Fr => "\u{202f}",
        _ => ",",
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(separator);
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_files_are_sound() {
        assert_eq!(catalog_errors(), Vec::<String>::new());
    }

    #[test]
    fn swahili_has_every_english_message() {
        let swahili: std::collections::HashSet<String> =
            message_ids(Locale::Sw).into_iter().collect();
        let missing: Vec<String> = message_ids(Locale::En)
            .into_iter()
            .filter(|id| !swahili.contains(id))
            .collect();
        assert!(missing.is_empty(), "untranslated in Swahili: {missing:?}");
    }

    #[test]
    fn other_languages_fall_back_to_english() {
        assert_eq!(t(Locale::Fr, "month-12"), "décembre");
        assert_eq!(t(Locale::Ar, "nav-work"), t(Locale::Ar, "nav-work"));
        assert_eq!(t(Locale::Sw, "month-12"), "Desemba");
        assert!(has(Locale::En, "sign-in-title"));
    }

    #[test]
    fn every_screening_indicator_and_dimension_reads_in_swahili() {
        use crate::rules::screening::{CATALOGUE, Dimension};
        let missing: Vec<&str> = CATALOGUE
            .iter()
            .filter(|i| {
                !has(
                    Locale::Sw,
                    &format!("v-indicator-{}", i.code).replace('_', "-"),
                )
            })
            .map(|i| i.code)
            .chain(
                Dimension::ALL
                    .iter()
                    .filter(|d| {
                        !has(
                            Locale::Sw,
                            &format!("v-dimension-{}", d.code()).replace('_', "-"),
                        )
                    })
                    .map(|d| d.code()),
            )
            .collect();
        assert!(missing.is_empty(), "untranslated in Swahili: {missing:?}");
    }

    #[test]
    fn numbers_and_dates_follow_the_language() {
        assert_eq!(number(Locale::En, 1_234_567), "1,234,567");
        assert_eq!(number(Locale::Fr, 12_345), "12\u{202f}345");
        assert_eq!(number(Locale::Sw, 999), "999");
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default();
        assert_eq!(date(Locale::En, day), "7 December 2026");
        assert_eq!(date(Locale::Sw, day), "7 Desemba 2026");
    }

    #[test]
    fn accept_language_picks_a_spoken_language() {
        assert_eq!(
            Locale::from_accept_language("de-DE, sw-KE;q=0.8, en;q=0.5"),
            Some(Locale::Sw)
        );
        assert_eq!(Locale::from_accept_language("de"), None);
    }
}
