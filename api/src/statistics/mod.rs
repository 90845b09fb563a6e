//! National statistics with disclosure control: counts computed in the
//! database from summary columns only, never by decrypting a personal group, and published
//! only as far as no figure can single out a person.

pub mod csv;
pub mod disclosure;
pub mod export;
pub mod response_times;
pub mod service;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tumaini_db::country::CountryCode;
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
    /// The filters applied, each a pair `[dimension, value]`.
    #[schema(value_type = Vec<Vec<String>>)]
    pub filters: Vec<(String, String)>,
    /// What is counted: `people` (cases and anonymous notifications), or
    /// `people_by_exploitation_type` when broken down by form of exploitation (a person with
    /// several forms counts once in each); for referrals, `referrals` or
    /// `referrals_by_exploitation_type`.
    pub unit: &'static str,
    /// Figures of fewer people than this are suppressed (of referrals: figures of fewer
    /// referrals, or of referrals of fewer people).
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
    /// Too fine a breakdown (how fine is not said: it would tell how many values the open
    /// dimensions have beyond the caller's scope).
    #[error(
        "this breakdown has more than {MAX_ENTRIES} cells and totals: drop a dimension or choose \
         a coarser one (year for month, age_group for age_band)"
    )]
    TooLarge,
}

impl TableRequest {
    /// Checks the request before anything is counted: every dimension of the subject, none
    /// named twice, at most [`MAX_DIMENSIONS`] in all.
    pub fn check(&self) -> Result<(), RequestRefusal> {
        for d in self
            .dimensions
            .iter()
            .chain(self.filters.iter().map(|(d, _)| d))
        {
            if !d.applies_to(self.subject) {
                return Err(RequestRefusal::NotForSubject(d.code(), self.subject.code()));
            }
        }
        let mut seen = BTreeSet::new();
        for d in &self.dimensions {
            if !seen.insert(*d) {
                return Err(RequestRefusal::Repeated(d.code()));
            }
        }
        let mut filtered = BTreeSet::new();
        for (d, _) in &self.filters {
            if !filtered.insert(*d) {
                return Err(RequestRefusal::Repeated(d.code()));
            }
        }
        if self.all_dimensions().len() > MAX_DIMENSIONS {
            return Err(RequestRefusal::TooManyDimensions);
        }
        Ok(())
    }

    /// The dimensions of the table behind the answer: the requested and the filtered ones, in
    /// one fixed order whatever the order asked in, so that two queries over the same
    /// dimensions (one breaking down by what the other filters on, say) read one protected
    /// table.
    fn all_dimensions(&self) -> Vec<Dimension> {
        let all: BTreeSet<Dimension> = self
            .dimensions
            .iter()
            .copied()
            .chain(self.filters.iter().map(|(d, _)| *d))
            .collect();
        all.into_iter().collect()
    }
}

/// Computes, protects and slices a table of the records of `country` (a coordinator's
/// jurisdiction; none: every record, which a supervisor's organisation slice is cut from): the
/// whole table over the requested and filtered dimensions is protected first, then the filters
/// pick its slice, so every figure published is an entry of one canonical protected table.
pub fn table(
    conn: &mut DbConn,
    request: &TableRequest,
    country: Option<&CountryCode>,
) -> Result<Result<Table, RequestRefusal>, DbError> {
    if let Err(refusal) = request.check() {
        return Ok(Err(refusal));
    }
    let all = request.all_dimensions();
    Ok(match request.subject {
        Subject::People => {
            let rows = counts::count_cells(conn, request.subject, &all, country)?;
            build(request, &all, &rows, None)
        }
        // A person may be referred many times: the cells are counted per person too.
        Subject::Referrals => {
            let per_person = counts::count_cells_per_person(conn, request.subject, &all, country)?;
            let mut rows: BTreeMap<&[String], i64> = BTreeMap::new();
            for (values, _, count) in &per_person {
                *rows.entry(values.as_slice()).or_insert(0) += count;
            }
            let rows: Vec<(Vec<String>, i64)> =
                rows.into_iter().map(|(v, n)| (v.to_vec(), n)).collect();
            build(request, &all, &rows, Some(&per_person))
        }
    })
}

/// Builds the protected slice from the counted cells over `all` (in [`TableRequest`]'s fixed
/// order), unless the table would be too large to protect. `per_person` (referrals) gives each
/// cell's count per person: an entry of fewer people than the threshold is suppressed however
/// many referrals it holds.
pub fn build(
    request: &TableRequest,
    all: &[Dimension],
    rows: &[(Vec<String>, i64)],
    per_person: Option<&[(Vec<String>, String, i64)]>,
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
        return Err(RequestRefusal::TooLarge);
    }
    let index = |row: &[String]| -> Option<Vec<u32>> {
        row.iter()
            .enumerate()
            .map(|(i, value)| {
                values[i]
                    .iter()
                    .position(|v| v == value)
                    .and_then(|p| u32::try_from(p).ok())
            })
            .collect()
    };
    let mut cells: BTreeMap<Vec<u32>, i64> = BTreeMap::new();
    for (row, count) in rows {
        if let Some(key) = index(row) {
            *cells.entry(key).or_insert(0) += count;
        }
    }
    let few_people = per_person.map_or_else(BTreeSet::new, |per_person| {
        let keyed: Vec<(Vec<u32>, &str)> = per_person
            .iter()
            .filter_map(|(row, person, _)| index(row).map(|key| (key, person.as_str())))
            .collect();
        disclosure::entries_of_few(all.len(), &keyed, request.threshold)
    });
    let sizes: Vec<u32> = values
        .iter()
        .map(|v| u32::try_from(v.len()).unwrap_or(u32::MAX))
        .collect();
    let protected = disclosure::protect_with(&sizes, &cells, request.threshold, &few_people);
    Ok(slice(request, all, &values, &protected))
}

fn slice(
    request: &TableRequest,
    all: &[Dimension],
    values: &[Vec<String>],
    protected: &Protected,
) -> Table {
    let position = |d: &Dimension| all.iter().position(|x| x == d).unwrap_or(0);
    let requested: Vec<usize> = request.dimensions.iter().map(position).collect();
    // The filter's coordinate for each filtered dimension; a value never seen is an empty slice.
    let mut fixed: BTreeMap<usize, Option<u32>> = BTreeMap::new();
    for (d, value) in &request.filters {
        let i = position(d);
        let at = values[i]
            .iter()
            .position(|v| v == value)
            .and_then(|p| u32::try_from(p).ok());
        fixed.insert(i, at);
    }
    let empty_slice = fixed.values().any(Option::is_none);
    let open: Vec<bool> = request
        .dimensions
        .iter()
        .map(|d| closed_values(*d).is_empty())
        .collect();
    let mut in_slice: Vec<(&Key, Option<&disclosure::Suppression>)> = Vec::new();
    // Of each requested dimension, the values of the slice with a published figure: an open
    // dimension (a period, a country, a region, an organisation) lists only those, so a value
    // whose every figure is suppressed is not even named (a label can single out as well as a
    // count: a region typed as a person's name, a month with one victim).
    let mut published: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); requested.len()];
    if !empty_slice {
        let keys: BTreeSet<&Key> = protected
            .counts
            .keys()
            .chain(protected.suppressed.keys())
            .collect();
        for key in keys {
            let matches = key.iter().enumerate().all(|(i, v)| match fixed.get(&i) {
                Some(at) => v == at,
                None => requested.contains(&i) || v.is_none(),
            });
            if !matches {
                continue;
            }
            let status = protected.suppressed.get(key);
            if protected.published(key).is_some() {
                for (n, &i) in requested.iter().enumerate() {
                    if let Some(v) = key[i] {
                        published[n].insert(v);
                    }
                }
            }
            in_slice.push((key, status));
        }
    }
    let mut entries = Vec::new();
    let mut suppressed: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (key, status) in in_slice {
        let named = requested
            .iter()
            .enumerate()
            .all(|(n, &i)| !open[n] || key[i].is_none_or(|v| published[n].contains(&v)));
        if !named {
            continue;
        }
        if let Some(status) = status {
            *suppressed.entry(status.code()).or_insert(0) += 1;
        }
        entries.push(Entry {
            values: requested
                .iter()
                .map(|&i| key[i].map(|v| values[i][v as usize].clone()))
                .collect(),
            count: protected.published(key),
            suppressed: status.map(|s| s.code()),
        });
    }
    // A closed dimension lists every value (its zeros are published); an open one only those
    // of the slice with a published figure.
    let listed = requested
        .iter()
        .zip(&open)
        .zip(&published)
        .map(|((&i, &open), published)| {
            if open {
                published
                    .iter()
                    .map(|&v| values[i][v as usize].clone())
                    .collect()
            } else {
                values[i].clone()
            }
        })
        .collect();
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
        values: listed,
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
        let refused = build(&request(Subject::People, &dims), &dims, &rows, None);
        assert_eq!(refused, Err(RequestRefusal::TooLarge));
        // The same rows by region alone are protected: every region has one person.
        let by_region: Vec<(Vec<String>, i64)> =
            rows.iter().map(|(k, n)| (vec![k[0].clone()], *n)).collect();
        let table = build(
            &request(Subject::People, &[Dimension::Region]),
            &[Dimension::Region],
            &by_region,
            None,
        )
        .unwrap_or_else(|refusal| panic!("{refusal}"));
        // Every region's figure is suppressed, so no region is even named: only the total.
        assert_eq!(table.values, vec![Vec::<String>::new()]);
        assert_eq!(table.entries.len(), 1);
        assert_eq!(table.entries[0].values, vec![None]);
        assert_eq!(table.entries[0].count, Some(600));
    }

    #[test]
    fn an_open_dimension_names_only_values_with_a_published_figure() {
        // A region typed as a person's name with two people in it, beside two real regions.
        let rows: Vec<(Vec<String>, i64)> = vec![
            (vec!["Amina Nakato house".to_owned()], 2),
            (vec!["UG-102".to_owned()], 50),
            (vec!["UG-208".to_owned()], 40),
        ];
        let dims = [Dimension::Region];
        let table = build(&request(Subject::People, &dims), &dims, &rows, None)
            .unwrap_or_else(|refusal| panic!("{refusal}"));
        let text = serde_json::to_string(&table).unwrap_or_default();
        assert!(!text.contains("Amina"), "{text}");
        assert!(
            !table.values[0].is_empty(),
            "a region with a published figure is named"
        );
        for entry in &table.entries {
            if let Some(Some(region)) = entry.values.first() {
                assert!(
                    entry.count.is_some(),
                    "{region} is named with no published figure"
                );
            }
        }
        // A closed dimension still lists every value, its zeros included.
        let by_sex = build(
            &request(Subject::People, &[Dimension::Sex]),
            &[Dimension::Sex],
            &[(vec!["female".to_owned()], 3)],
            None,
        )
        .unwrap_or_else(|refusal| panic!("{refusal}"));
        assert_eq!(by_sex.values[0].len(), Sex::ALL.len());
    }

    #[test]
    fn the_order_asked_in_changes_no_figure() {
        // Region x sex, with small cells: asked as region x sex, as sex x region, and as sex
        // filtered on each region, every figure is the same entry of one protected table.
        let mut rows = Vec::new();
        for (r, counts) in [[63, 6, 40], [88, 3, 12], [6, 11, 2]].iter().enumerate() {
            for (s, n) in ["female", "male", "unknown"].iter().zip(counts) {
                rows.push((vec![s.to_string(), format!("R{r}")], *n));
            }
        }
        let region_sex = request(Subject::People, &[Dimension::Region, Dimension::Sex]);
        let all = region_sex.all_dimensions();
        assert_eq!(all, [Dimension::Sex, Dimension::Region], "one fixed order");
        let a = build(&region_sex, &all, &rows, None).unwrap_or_else(|r| panic!("{r}"));
        let sex_region = request(Subject::People, &[Dimension::Sex, Dimension::Region]);
        assert_eq!(sex_region.all_dimensions(), all);
        let b = build(&sex_region, &all, &rows, None).unwrap_or_else(|r| panic!("{r}"));
        let figure = |t: &Table, values: &[Option<String>]| {
            t.entries
                .iter()
                .find(|e| e.values == values)
                .map_or(Some(0), |e| e.count)
        };
        assert!(a.suppressed.values().sum::<usize>() > 0);
        for e in &a.entries {
            let swapped = vec![e.values[1].clone(), e.values[0].clone()];
            assert_eq!(figure(&b, &swapped), e.count, "{:?}", e.values);
        }
        for region in ["R0", "R1", "R2"] {
            let filtered = TableRequest {
                filters: vec![(Dimension::Region, region.to_owned())],
                ..request(Subject::People, &[Dimension::Sex])
            };
            assert_eq!(filtered.all_dimensions(), all);
            let c = build(&filtered, &all, &rows, None).unwrap_or_else(|r| panic!("{r}"));
            for e in &c.entries {
                let full = vec![Some(region.to_owned()), e.values[0].clone()];
                assert_eq!(figure(&a, &full), e.count, "{region} {:?}", e.values);
            }
            assert_eq!(
                c.values[0].len(),
                Sex::ALL.len(),
                "a closed dimension lists all"
            );
        }
    }

    #[test]
    fn an_open_dimension_lists_only_the_values_in_the_slice() {
        let rows = vec![
            (vec!["org-a".to_owned(), "sent".to_owned()], 12),
            (vec!["org-b".to_owned(), "sent".to_owned()], 14),
        ];
        let scoped = TableRequest {
            filters: vec![(Dimension::Organisation, "org-a".to_owned())],
            ..request(
                Subject::Referrals,
                &[Dimension::Organisation, Dimension::ReferralState],
            )
        };
        let all = scoped.all_dimensions();
        let table = build(&scoped, &all, &rows, None).unwrap_or_else(|r| panic!("{r}"));
        assert_eq!(table.values[0], ["org-a"], "nothing said of org-b");
    }

    #[test]
    fn a_table_counts_what_its_subject_holds() {
        let rows = vec![(vec!["high".to_owned()], 12)];
        let dims = [Dimension::Urgency];
        let table = build(&request(Subject::Referrals, &dims), &dims, &rows, None)
            .unwrap_or_else(|refusal| panic!("{refusal}"));
        assert_eq!(table.unit, "referrals");
        assert_eq!(table.values[0], ["emergency", "high", "normal"]);
        assert!(Dimension::RecordKind.applies_to(Subject::People));
        assert!(!Dimension::RecordKind.applies_to(Subject::Referrals));
        assert!(!Dimension::ReferralState.applies_to(Subject::People));
    }
}
