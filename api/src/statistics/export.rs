//! The de-identified case-level export, in the field names of the Counter Trafficking Data
//! Collaborative (CTDC) global dataset, with k-anonymity enforced by the server: every
//! combination of the quasi-identifiers (year, gender, age, citizenship, country of
//! exploitation) that is published is shared by at least `k` records. Quasi-identifiers are
//! generalised step by step (age band to adult/minor, then countries dropped) until few records
//! would have to go; the records still in classes smaller than `k` are left out. Only cases
//! whose consent in force covers statistical use are exported; nothing personal ever is.

use std::collections::BTreeMap;

use serde::Serialize;
use tumaini_db::models::statistics::ExportRow;
use utoipa::ToSchema;

/// The share of records the export may leave out at a generalisation level before it
/// generalises further (a twentieth).
const MAX_SUPPRESSED_PER_MILLE: usize = 50;

/// One exported record (CTDC field names).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Year the person was met.
    pub year_of_registration: i32,
    /// `Female`, `Male`, `Transgender/NonConforming` or `Unknown`.
    pub gender: String,
    /// CTDC age band (`0--8`, `9--17`, ..., `48+`), absent when generalised away.
    pub age_broad: Option<String>,
    /// `Adult` or `Minor`.
    pub majority_status: String,
    /// ISO 3166-1 alpha-2, absent when unknown or generalised away.
    pub citizenship: Option<String>,
    /// ISO 3166-1 alpha-2, absent when unknown or generalised away.
    #[serde(rename = "CountryOfExploitation")]
    pub country_of_exploitation: Option<String>,
    /// Forced labour among the forms of exploitation.
    pub is_forced_labour: bool,
    /// Sexual exploitation among them.
    pub is_sexual_exploit: bool,
    /// Another form among them.
    pub is_other_exploit: bool,
    /// The forms, `;`-separated (Tumaini codes).
    pub type_of_exploit_concatenated: String,
}

/// The export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Export {
    /// Every published combination of the quasi-identifiers is shared by at least this many.
    pub k: usize,
    /// The quasi-identifiers.
    pub quasi_identifiers: Vec<&'static str>,
    /// How far they were generalised: 0 none, 1 age to adult/minor, 2 countries dropped too.
    pub generalisation_level: u8,
    /// Cases whose consent covers statistical use.
    pub records_considered: usize,
    /// Of those, left out because their class stayed smaller than `k`.
    pub records_suppressed: usize,
    /// The records, sorted.
    pub records: Vec<Record>,
}

const QUASI_IDENTIFIERS: [&str; 6] = [
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "majorityStatus",
    "citizenship",
    "CountryOfExploitation",
];

fn gender(sex: &str) -> &'static str {
    match sex {
        "female" => "Female",
        "male" => "Male",
        "transgender_female" | "transgender_male" | "non_conforming" => "Transgender/NonConforming",
        _ => "Unknown",
    }
}

fn age_broad(band: &str) -> Option<String> {
    match band {
        "unknown" => None,
        "48_plus" => Some("48+".to_owned()),
        other => Some(other.replace('_', "--")),
    }
}

fn record(row: &ExportRow, level: u8) -> Record {
    let other = row
        .forms
        .iter()
        .any(|f| f != "forced_labour" && f != "sexual_exploitation");
    Record {
        year_of_registration: row.year,
        gender: gender(&row.sex).to_owned(),
        age_broad: if level >= 1 {
            None
        } else {
            age_broad(&row.age_band)
        },
        majority_status: if row.is_child { "Minor" } else { "Adult" }.to_owned(),
        citizenship: if level >= 2 {
            None
        } else {
            row.citizenship.clone()
        },
        country_of_exploitation: if level >= 2 {
            None
        } else {
            row.exploitation_country.clone()
        },
        is_forced_labour: row.forms.iter().any(|f| f == "forced_labour"),
        is_sexual_exploit: row.forms.iter().any(|f| f == "sexual_exploitation"),
        is_other_exploit: other,
        type_of_exploit_concatenated: row.forms.join(";"),
    }
}

/// The quasi-identifier values of a record.
pub fn class_of(
    r: &Record,
) -> (
    i32,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
) {
    (
        r.year_of_registration,
        r.gender.clone(),
        r.age_broad.clone(),
        r.majority_status.clone(),
        r.citizenship.clone(),
        r.country_of_exploitation.clone(),
    )
}

/// Generalises and suppresses `rows` until the export is k-anonymous.
pub fn anonymise(rows: &[ExportRow], k: usize) -> Export {
    let mut chosen = None;
    for level in 0..=2u8 {
        let records: Vec<Record> = rows.iter().map(|r| record(r, level)).collect();
        let mut classes: BTreeMap<_, usize> = BTreeMap::new();
        for r in &records {
            *classes.entry(class_of(r)).or_insert(0) += 1;
        }
        let small: usize = classes.values().filter(|&&n| n < k).sum();
        let acceptable = small * 1000 <= rows.len() * MAX_SUPPRESSED_PER_MILLE;
        chosen = Some((level, records, classes));
        if acceptable {
            break;
        }
    }
    let (level, records, classes) = chosen.unwrap_or_default();
    let mut kept: Vec<Record> = records
        .into_iter()
        .filter(|r| classes.get(&class_of(r)).is_some_and(|&n| n >= k))
        .collect();
    kept.sort();
    Export {
        k,
        quasi_identifiers: QUASI_IDENTIFIERS.to_vec(),
        generalisation_level: level,
        records_considered: rows.len(),
        records_suppressed: rows.len() - kept.len(),
        records: kept,
    }
}

/// The export as CSV (CTDC column order), safe against formula injection.
pub fn csv(export: &Export) -> String {
    let mut out = String::from(
        "yearOfRegistration,gender,ageBroad,majorityStatus,citizenship,CountryOfExploitation,isForcedLabour,isSexualExploit,isOtherExploit,typeOfExploitConcatenated\r\n",
    );
    for r in &export.records {
        let fields = [
            r.year_of_registration.to_string(),
            r.gender.clone(),
            r.age_broad.clone().unwrap_or_default(),
            r.majority_status.clone(),
            r.citizenship.clone().unwrap_or_default(),
            r.country_of_exploitation.clone().unwrap_or_default(),
            r.is_forced_labour.to_string(),
            r.is_sexual_exploit.to_string(),
            r.is_other_exploit.to_string(),
            r.type_of_exploit_concatenated.clone(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| super::csv::field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(age_band: &str, child: bool, country: &str) -> ExportRow {
        ExportRow {
            sex: "female".into(),
            age_band: age_band.into(),
            is_child: child,
            citizenship: Some("UG".into()),
            exploitation_country: Some(country.into()),
            year: 2026,
            forms: vec!["forced_labour".into()],
        }
    }

    #[test]
    fn generalises_before_it_suppresses_and_every_class_holds_k() {
        let mut rows: Vec<ExportRow> = (0..30).map(|_| row("24_26", false, "UG")).collect();
        rows.extend((0..5).map(|_| row("30_38", false, "UG")));
        let export = anonymise(&rows, 11);
        assert_eq!(
            export.generalisation_level, 1,
            "age generalised, not 5 records dropped"
        );
        assert_eq!(export.records.len(), 35);
        rows.push(row("24_26", false, "KE"));
        let export = anonymise(&rows, 11);
        assert_eq!(
            export.records_suppressed, 1,
            "one record alone even when generalised"
        );
        let mut classes: BTreeMap<_, usize> = BTreeMap::new();
        for r in &export.records {
            *classes.entry(class_of(r)).or_insert(0) += 1;
        }
        assert!(classes.values().all(|&n| n >= 11));
    }
}
