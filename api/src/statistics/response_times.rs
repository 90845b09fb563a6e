//! How quickly each receiving organisation answers referrals, with the same disclosure control
//! as the count tables: an organisation's figures are published only when it answered at least
//! `threshold` referrals, and never one alone suppressed beside a national figure (its total
//! time would be the national one less the published ones), so a second, the smallest
//! published, is suppressed with it. How many referrals each answered is never published: it
//! is a partial sum of a line of the outcome tables (accepted, in service, completed, declined)
//! and would undo their suppression.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::disclosure::Suppression;

/// One organisation's answer times, or the national ones (`organisation` is `null`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AnswerTimes {
    /// The receiving organisation's id; `null` for every organisation together.
    pub organisation: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Mean hours from sending to the answer, to two decimals; `null` when suppressed.
    pub mean_hours: Option<f64>,
    /// Median hours from sending to the answer; `null` when suppressed.
    pub median_hours: Option<f64>,
    /// Why the figures are not published: `below_threshold` or `complementary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<&'static str>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResponseTimes {
    /// Figures over fewer answered referrals than this are suppressed.
    pub threshold: i64,
    /// One entry per receiving organisation that answered any, by name, then the national one
    /// when the whole country was asked for.
    pub organisations: Vec<AnswerTimes>,
    /// How many entries are suppressed for each reason.
    pub suppressed: BTreeMap<&'static str, usize>,
}

fn hours(seconds: f64) -> f64 {
    (seconds / 36.0).round() / 100.0
}

/// Mean and median hours of `seconds` (not empty).
fn summarise(seconds: &mut [i64]) -> (f64, f64) {
    seconds.sort_unstable();
    #[expect(
        clippy::cast_precision_loss,
        reason = "seconds and counts of answers, far below 2^52"
    )]
    let mean = seconds.iter().sum::<i64>() as f64 / seconds.len() as f64;
    let middle = seconds.len() / 2;
    #[expect(clippy::cast_precision_loss, reason = "seconds of an answer")]
    let median = if seconds.len().is_multiple_of(2) {
        (seconds[middle - 1] + seconds[middle]) as f64 / 2.0
    } else {
        seconds[middle] as f64
    };
    (hours(mean), hours(median))
}

/// Builds the report from each answered referral's receiving organisation and seconds to
/// answer. `names` gives the organisations' names; `scope` keeps one organisation only (then no
/// national entry is given).
pub fn build(
    answers: &[(String, i64)],
    names: &BTreeMap<String, String>,
    scope: Option<&str>,
    threshold: i64,
) -> ResponseTimes {
    let mut by_org: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (org, seconds) in answers {
        by_org.entry(org.as_str()).or_default().push(*seconds);
    }
    let mut status: BTreeMap<&str, Suppression> = by_org
        .iter()
        .filter(|(_, s)| (s.len() as i64) < threshold)
        .map(|(org, _)| (*org, Suppression::Primary))
        .collect();
    if status.len() == 1 {
        let smallest = by_org
            .iter()
            .filter(|(org, _)| !status.contains_key(*org))
            .min_by_key(|(org, s)| (s.len(), **org));
        if let Some((org, _)) = smallest {
            status.insert(org, Suppression::Complementary);
        }
    }
    let mut organisations: Vec<AnswerTimes> = by_org
        .iter_mut()
        .filter(|(org, _)| scope.is_none_or(|s| s == **org))
        .map(|(org, seconds)| {
            let hidden = status.get(org).copied();
            let (mean, median) = summarise(seconds);
            AnswerTimes {
                organisation: Some((*org).to_owned()),
                name: names.get(*org).cloned(),
                mean_hours: hidden.is_none().then_some(mean),
                median_hours: hidden.is_none().then_some(median),
                suppressed: hidden.map(Suppression::code),
            }
        })
        .collect();
    organisations.sort_by(|a, b| (&a.name, &a.organisation).cmp(&(&b.name, &b.organisation)));
    if scope.is_none() {
        let mut all: Vec<i64> = answers.iter().map(|(_, s)| *s).collect();
        let total = all.len() as i64;
        let national = if all.is_empty() {
            (None, None)
        } else {
            let (mean, median) = summarise(&mut all);
            (Some(mean), Some(median))
        };
        let hidden = (total > 0 && total < threshold).then_some(Suppression::Primary);
        organisations.push(AnswerTimes {
            organisation: None,
            name: None,
            mean_hours: national.0.filter(|_| hidden.is_none()),
            median_hours: national.1.filter(|_| hidden.is_none()),
            suppressed: hidden.map(Suppression::code),
        });
    }
    let mut suppressed = BTreeMap::new();
    for entry in &organisations {
        if let Some(reason) = entry.suppressed {
            *suppressed.entry(reason).or_insert(0) += 1;
        }
    }
    ResponseTimes {
        threshold,
        organisations,
        suppressed,
    }
}

/// The report as CSV: one row per organisation, `all` for the national one.
pub fn csv(report: &ResponseTimes) -> String {
    use super::csv::field;
    let mut out = String::from("organisation,name,mean_hours,median_hours,suppressed\r\n");
    let text = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for e in &report.organisations {
        let row = [
            field(e.organisation.as_deref().unwrap_or("all")),
            field(e.name.as_deref().unwrap_or("")),
            text(e.mean_hours),
            text(e.median_hours),
            e.suppressed.unwrap_or("").to_owned(),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(spec: &[(&str, usize, i64)]) -> Vec<(String, i64)> {
        spec.iter()
            .flat_map(|(org, n, secs)| (0..*n).map(move |_| ((*org).to_owned(), *secs)))
            .collect()
    }

    #[test]
    fn a_lone_small_organisation_takes_the_smallest_other_with_it() {
        // a: 12 answers in 1 h, b: 3 in 2 h, c: 20 in 30 min.
        let report = build(
            &answers(&[("a", 12, 3600), ("b", 3, 7200), ("c", 20, 1800)]),
            &BTreeMap::new(),
            None,
            10,
        );
        let of = |org: Option<&str>| {
            report
                .organisations
                .iter()
                .find(|e| e.organisation.as_deref() == org)
                .unwrap()
                .clone()
        };
        assert_eq!(of(Some("b")).suppressed, Some("below_threshold"));
        assert_eq!(of(Some("a")).suppressed, Some("complementary"));
        assert_eq!(of(Some("c")).mean_hours, Some(0.5));
        assert_eq!(of(Some("c")).suppressed, None);
        let national = of(None);
        // (12 x 1 + 3 x 2 + 20 x 0.5) / 35 = 0.8 h; the median is the 18th of 35: half an hour.
        assert_eq!(national.mean_hours, Some(0.8));
        assert_eq!(national.median_hours, Some(0.5));
    }

    #[test]
    fn one_organisation_only_and_no_national_figure() {
        let report = build(
            &answers(&[("a", 11, 3600), ("b", 10, 60)]),
            &BTreeMap::from([("a".to_owned(), "Alpha".to_owned())]),
            Some("a"),
            10,
        );
        assert_eq!(report.organisations.len(), 1);
        assert_eq!(report.organisations[0].name.as_deref(), Some("Alpha"));
        assert_eq!(report.organisations[0].median_hours, Some(1.0));
        assert!(csv(&report).starts_with("organisation,name,mean_hours"));
    }
}
