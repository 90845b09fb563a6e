//! National statistics with disclosure control (DESIGN.md section 10): counts computed in the
//! database from summary columns only, never by decrypting a personal group, and published
//! only as far as no figure can single out a person.

pub mod csv;
pub mod disclosure;
pub mod export;
pub mod response_times;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tumaini_db::models::statistics::{self as counts, Dimension, Subject};
use tumaini_db::vocabulary::{
    AgeBand, CaseStatus, ExploitationType, IdentificationStage, OrganisationKind, ReferralState,
    ReferralUrgency, Sex,
};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use disclosure::{Key, Protected};

/// The most dimensions (requested and filtered together) one table may have.
pub const MAX_DIMENSIONS: usize = 5;

/// The most entries (cells and totals) the protected table behind one answer may have: the
/// product over its dimensions of (values + 1). Protection is computed over every entry, so a
/// breakdown finer than this (say month x region x citizenship x country) is refused rather than
/// left to take the server's memory; it would be almost all suppressed anyway.
pub const MAX_ENTRIES: u64 = 250_000;

/// What a table asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRequest {
    /// What is counted.
    pub subject: Subject,
    /// The breakdown, in order.
    pub dimensions: Vec<Dimension>,
    /// Fixed values of other dimensions (or of the same ones).
    pub filters: Vec<(Dimension, String)>,
    /// Cells below this are suppressed.
    pub threshold: i64,
}

/// One published entry: a cell, or a total where a value is `None` ("all").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Entry {
    /// A value for each requested dimension, in order; `null` is the total over that dimension.
    pub values: Vec<Option<String>>,
    /// The count, or `null` when suppressed.
    pub count: Option<i64>,
    /// Why it is suppressed: `below_threshold` or `complementary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<&'static str>,
}

/// A protected table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Table {
    /// The breakdown.
    pub dimensions: Vec<String>,
    /// The filters applied, as `dimension` and value.
    pub filters: Vec<(String, String)>,
    /// What is counted: `people` (cases and anonymous notifications), or
    /// `people_by_exploitation_type` when broken down by form of exploitation (a person with
    /// several forms counts once in each); for referrals, `referrals` or
    /// `referrals_by_exploitation_type`.
    pub unit: &'static str,
    /// Figures of fewer people than this are suppressed.
    pub threshold: i64,
    /// The values of each requested dimension, in order.
    pub values: Vec<Vec<String>>,
    /// Every entry that is not a published zero: cells and totals ("all" as `null`). An entry
    /// not listed is a published zero.
    pub entries: Vec<Entry>,
    /// How many entries are suppressed for each reason.
    pub suppressed: BTreeMap<&'static str, usize>,
    /// Names of values that are ids (organisations, in reports broken down by organisation).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The values a closed dimension always has (so that its zeros are well defined); open
/// dimensions (periods, countries, regions, organisations) have the values found.
fn closed_values(dimension: Dimension) -> Vec<String> {
    fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Vec<String> {
        all.iter().map(|v| code(*v).to_owned()).collect()
    }
    let mut values = match dimension {
        Dimension::Sex => codes(Sex::ALL, Sex::code),
        Dimension::AgeBand => codes(AgeBand::ALL, AgeBand::code),
        Dimension::AgeGroup => vec!["adult".to_owned(), "child".to_owned()],
        Dimension::ExploitationType => {
            let mut v = codes(ExploitationType::ALL, ExploitationType::code);
            v.push("not_recorded".to_owned());
            v
        }
        Dimension::IdentificationStage => {
            let mut v = codes(IdentificationStage::ALL, IdentificationStage::code);
            v.push("not_applicable".to_owned());
            v
        }
        Dimension::CaseStatus => {
            let mut v = codes(CaseStatus::ALL, CaseStatus::code);
            v.push("not_applicable".to_owned());
            v
        }
        Dimension::OrganisationKind => codes(OrganisationKind::ALL, OrganisationKind::code),
        Dimension::Flow => vec![
            "cross_border".to_owned(),
            "domestic".to_owned(),
            "unknown".to_owned(),
        ],
        Dimension::RecordKind => vec!["anonymous_notification".to_owned(), "case".to_owned()],
        Dimension::Urgency => codes(ReferralUrgency::ALL, ReferralUrgency::code),
        Dimension::ReferralState => codes(ReferralState::ALL, ReferralState::code),
        Dimension::ReferralFlow => vec!["cross_border".to_owned(), "domestic".to_owned()],
        Dimension::Year
        | Dimension::Quarter
        | Dimension::Month
        | Dimension::Citizenship
        | Dimension::ExploitationCountry
        | Dimension::Region
        | Dimension::Organisation => Vec::new(),
    };
    values.sort();
    values
}

/// Why a table request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    /// Too many dimensions.
    #[error("a table has at most {MAX_DIMENSIONS} dimensions, the filtered ones included")]
    TooManyDimensions,
    /// The same dimension twice.
    #[error("`{0}` is named twice")]
    Repeated(&'static str),
    /// A dimension of the other subject.
    #[error("tables of {1} are not broken down by `{0}`")]
    NotForSubject(&'static str, &'static str),
    /// Too fine a breakdown.
    #[error(
        "this breakdown has {0} cells and totals, more than {MAX_ENTRIES}: drop a dimension or \
         choose a coarser one (year for month, age_group for age_band)"
    )]
    TooLarge(u64),
}

/// Computes, protects and slices a table: the whole table over the requested and filtered
/// dimensions is protected first, then the filters pick its slice, so every figure published
/// is an entry of one canonical protected table.
pub fn table(
    conn: &mut DbConn,
    request: &TableRequest,
) -> Result<Result<Table, RequestRefusal>, DbError> {
    let mut all: Vec<Dimension> = request.dimensions.clone();
    let mut seen = BTreeSet::new();
    for d in request
        .dimensions
        .iter()
        .chain(request.filters.iter().map(|(d, _)| d))
    {
        if !d.applies_to(request.subject) {
            return Ok(Err(RequestRefusal::NotForSubject(
                d.code(),
                request.subject.code(),
            )));
        }
    }
    for d in &request.dimensions {
        if !seen.insert(*d) {
            return Ok(Err(RequestRefusal::Repeated(d.code())));
        }
    }
    let mut filtered = BTreeSet::new();
    for (d, _) in &request.filters {
        if !filtered.insert(*d) {
            return Ok(Err(RequestRefusal::Repeated(d.code())));
        }
        if !all.contains(d) {
            all.push(*d);
        }
    }
    if all.len() > MAX_DIMENSIONS {
        return Ok(Err(RequestRefusal::TooManyDimensions));
    }
    let rows = counts::count_cells(conn, request.subject, &all)?;
    Ok(build(request, &all, &rows))
}

/// Builds the protected slice from the counted cells over `all` (the requested dimensions,
/// then the filtered ones), unless the table would be too large to protect.
pub fn build(
    request: &TableRequest,
    all: &[Dimension],
    rows: &[(Vec<String>, i64)],
) -> Result<Table, RequestRefusal> {
    let mut values: Vec<Vec<String>> = all.iter().map(|d| closed_values(*d)).collect();
    for (row, _) in rows {
        for (i, value) in row.iter().enumerate() {
            if let Some(list) = values.get_mut(i)
                && !list.contains(value)
            {
                list.push(value.clone());
            }
        }
    }
    for list in &mut values {
        list.sort();
    }
    let entries = values
        .iter()
        .map(|list| list.len() as u64 + 1)
        .fold(1u64, u64::saturating_mul);
    if entries > MAX_ENTRIES {
        return Err(RequestRefusal::TooLarge(entries));
    }
    let index = |i: usize, value: &str| {
        values[i]
            .iter()
            .position(|v| v == value)
            .and_then(|p| u32::try_from(p).ok())
    };
    let mut cells: BTreeMap<Vec<u32>, i64> = BTreeMap::new();
    for (row, count) in rows {
        let key: Option<Vec<u32>> = row.iter().enumerate().map(|(i, v)| index(i, v)).collect();
        if let Some(key) = key {
            *cells.entry(key).or_insert(0) += count;
        }
    }
    let sizes: Vec<u32> = values
        .iter()
        .map(|v| u32::try_from(v.len()).unwrap_or(u32::MAX))
        .collect();
    let protected = disclosure::protect(&sizes, &cells, request.threshold);
    Ok(slice(request, all, &values, &protected))
}

fn slice(
    request: &TableRequest,
    all: &[Dimension],
    values: &[Vec<String>],
    protected: &Protected,
) -> Table {
    let requested = request.dimensions.len();
    // The filter's coordinate for each filtered dimension; a value never seen is an empty slice.
    let mut fixed: BTreeMap<usize, Option<u32>> = BTreeMap::new();
    for (d, value) in &request.filters {
        let i = all.iter().position(|x| x == d).unwrap_or(0);
        let at = values[i]
            .iter()
            .position(|v| v == value)
            .and_then(|p| u32::try_from(p).ok());
        fixed.insert(i, at);
    }
    let empty_slice = fixed.values().any(Option::is_none);
    let mut entries = Vec::new();
    let mut suppressed: BTreeMap<&'static str, usize> = BTreeMap::new();
    if !empty_slice {
        let keys: BTreeSet<&Key> = protected
            .counts
            .keys()
            .chain(protected.suppressed.keys())
            .collect();
        for key in keys {
            let matches = key.iter().enumerate().all(|(i, v)| match fixed.get(&i) {
                Some(at) => v == at,
                None => i < requested || v.is_none(),
            });
            if !matches {
                continue;
            }
            let status = protected.suppressed.get(key);
            if let Some(status) = status {
                *suppressed.entry(status.code()).or_insert(0) += 1;
            }
            entries.push(Entry {
                values: key[..requested]
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v.map(|v| values[i][v as usize].clone()))
                    .collect(),
                count: protected.published(key),
                suppressed: status.map(|s| s.code()),
            });
        }
    }
    Table {
        dimensions: request
            .dimensions
            .iter()
            .map(|d| d.code().to_owned())
            .collect(),
        filters: request
            .filters
            .iter()
            .map(|(d, v)| (d.code().to_owned(), v.clone()))
            .collect(),
        unit: match (request.subject, all.contains(&Dimension::ExploitationType)) {
            (Subject::People, false) => "people",
            (Subject::People, true) => "people_by_exploitation_type",
            (Subject::Referrals, false) => "referrals",
            (Subject::Referrals, true) => "referrals_by_exploitation_type",
        },
        threshold: request.threshold,
        values: values[..requested].to_vec(),
        entries,
        suppressed,
        labels: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(subject: Subject, dimensions: &[Dimension]) -> TableRequest {
        TableRequest {
            subject,
            dimensions: dimensions.to_vec(),
            filters: Vec::new(),
            threshold: 10,
        }
    }

    #[test]
    fn too_fine_a_breakdown_is_refused_before_it_is_protected() {
        // 600 regions x 500 months: 601 x 501 entries with the totals.
        let rows: Vec<(Vec<String>, i64)> = (0..600)
            .map(|n| (vec![format!("R{n}"), format!("M{}", n % 500)], 1))
            .collect();
        let dims = [Dimension::Region, Dimension::Month];
        let refused = build(&request(Subject::People, &dims), &dims, &rows);
        assert_eq!(refused, Err(RequestRefusal::TooLarge(601 * 501)));
        // The same rows by region alone are protected: every region has one person.
        let by_region: Vec<(Vec<String>, i64)> =
            rows.iter().map(|(k, n)| (vec![k[0].clone()], *n)).collect();
        let table = build(
            &request(Subject::People, &[Dimension::Region]),
            &[Dimension::Region],
            &by_region,
        )
        .unwrap_or_else(|refusal| panic!("{refusal}"));
        assert_eq!(table.suppressed.get("below_threshold"), Some(&600));
    }

    #[test]
    fn a_table_counts_what_its_subject_holds() {
        let rows = vec![(vec!["high".to_owned()], 12)];
        let dims = [Dimension::Urgency];
        let table = build(&request(Subject::Referrals, &dims), &dims, &rows)
            .unwrap_or_else(|refusal| panic!("{refusal}"));
        assert_eq!(table.unit, "referrals");
        assert_eq!(table.values[0], ["emergency", "high", "normal"]);
        assert!(Dimension::RecordKind.applies_to(Subject::People));
        assert!(!Dimension::RecordKind.applies_to(Subject::Referrals));
        assert!(!Dimension::ReferralState.applies_to(Subject::People));
    }
}
