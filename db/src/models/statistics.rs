//! Counts for national statistics, computed in the database from summary columns only (never a
//! personal group). Two subjects are counted: people (cases and anonymous notifications together,
//! told apart by the `record_kind` dimension) and referrals between organisations (each with the
//! summary of the case it is for, so referrals break down by the person's sex or age group too).
//! With `exploitation_type`, a person with several forms counts once per form; a person with none
//! recorded counts under `not_recorded`.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::country::CountryCode;
use crate::{DbConn, DbError};

/// What a table counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// People: cases and anonymous notifications.
    People,
    /// Referrals between organisations.
    Referrals,
}

impl Subject {
    /// The code in the API.
    pub const fn code(self) -> &'static str {
        match self {
            Self::People => "people",
            Self::Referrals => "referrals",
        }
    }

    /// The subject with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        [Self::People, Self::Referrals]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// A dimension a table may be broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// Year encountered (`2026`).
    Year,
    /// Quarter encountered (`2026-Q4`).
    Quarter,
    /// Month encountered (`2026-11`).
    Month,
    /// Sex.
    Sex,
    /// Age band (CTDC bands).
    AgeBand,
    /// `child` or `adult` (a person possibly under 18 counts as a child).
    AgeGroup,
    /// Citizenship (ISO 3166-1 alpha-2, `unknown`).
    Citizenship,
    /// Form of exploitation.
    ExploitationType,
    /// Country of exploitation.
    ExploitationCountry,
    /// Region or district where the person was met.
    Region,
    /// Identification stage, which carries the NRM decision outcome.
    IdentificationStage,
    /// Case status (`not_applicable` for anonymous notifications).
    CaseStatus,
    /// Kind of the organisation that holds the record.
    OrganisationKind,
    /// The organisation that holds the record (its id).
    Organisation,
    /// `domestic` (exploited in the country of citizenship), `cross_border`, or `unknown`.
    Flow,
    /// `case` or `anonymous_notification` (people only).
    RecordKind,
    /// A referral's urgency (referrals only).
    Urgency,
    /// Where a referral stands: its outcome once answered (referrals only).
    ReferralState,
    /// `cross_border` when the receiving organisation is in another country, else `domestic`
    /// (referrals only).
    ReferralFlow,
}

impl Dimension {
    /// Every dimension.
    pub const ALL: [Dimension; 19] = [
        Self::Year,
        Self::Quarter,
        Self::Month,
        Self::Sex,
        Self::AgeBand,
        Self::AgeGroup,
        Self::Citizenship,
        Self::ExploitationType,
        Self::ExploitationCountry,
        Self::Region,
        Self::IdentificationStage,
        Self::CaseStatus,
        Self::OrganisationKind,
        Self::Organisation,
        Self::Flow,
        Self::RecordKind,
        Self::Urgency,
        Self::ReferralState,
        Self::ReferralFlow,
    ];

    /// The code in the API.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Year => "year",
            Self::Quarter => "quarter",
            Self::Month => "month",
            Self::Sex => "sex",
            Self::AgeBand => "age_band",
            Self::AgeGroup => "age_group",
            Self::Citizenship => "citizenship",
            Self::ExploitationType => "exploitation_type",
            Self::ExploitationCountry => "exploitation_country",
            Self::Region => "region",
            Self::IdentificationStage => "identification_stage",
            Self::CaseStatus => "case_status",
            Self::OrganisationKind => "organisation_kind",
            Self::Organisation => "organisation",
            Self::Flow => "flow",
            Self::RecordKind => "record_kind",
            Self::Urgency => "urgency",
            Self::ReferralState => "referral_state",
            Self::ReferralFlow => "referral_flow",
        }
    }

    /// Whether tables of `subject` may be broken down by this dimension. For referrals the
    /// period is the month the referral was sent, the organisation (and its kind) the receiving
    /// one, and the other dimensions those of the case referred.
    pub const fn applies_to(self, subject: Subject) -> bool {
        match self {
            Self::RecordKind => matches!(subject, Subject::People),
            Self::Urgency | Self::ReferralState | Self::ReferralFlow => {
                matches!(subject, Subject::Referrals)
            }
            _ => true,
        }
    }

    /// The dimension with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }

    /// The SQL expression over the base relation `b`.
    fn expression(self, postgres: bool) -> &'static str {
        match (self, postgres) {
            (Self::Year, true) => "CAST(EXTRACT(YEAR FROM b.encountered_on) AS INTEGER)",
            (Self::Year, false) => "strftime('%Y', b.encountered_on)",
            (Self::Quarter, true) => "to_char(b.encountered_on, 'YYYY-\"Q\"Q')",
            (Self::Quarter, false) => {
                "strftime('%Y', b.encountered_on) || '-Q' || ((CAST(strftime('%m', b.encountered_on) AS INTEGER) + 2) / 3)"
            }
            (Self::Month, true) => "to_char(b.encountered_on, 'YYYY-MM')",
            (Self::Month, false) => "strftime('%Y-%m', b.encountered_on)",
            (Self::Sex, _) => "b.sex",
            (Self::AgeBand, _) => "b.age_band",
            (Self::AgeGroup, _) => "CASE WHEN b.is_child THEN 'child' ELSE 'adult' END",
            (Self::Citizenship, _) => "COALESCE(b.citizenship, 'unknown')",
            // The list of forms: split into one cell per form by the caller (`expand_forms`).
            (Self::ExploitationType, _) => "b.forms",
            (Self::ExploitationCountry, _) => "COALESCE(b.exploitation_country, 'unknown')",
            // A region recorded before the list existed that named no region on it is unknown.
            (Self::Region, _) => "CASE WHEN b.region = '' THEN 'unknown' ELSE b.region END",
            (Self::IdentificationStage, _) => "b.identification_stage",
            (Self::CaseStatus, _) => "b.status",
            (Self::OrganisationKind, _) => "o.kind",
            (Self::Organisation, _) => "b.org",
            (Self::Flow, _) => {
                "CASE WHEN b.citizenship IS NULL OR b.exploitation_country IS NULL THEN 'unknown' \
                 WHEN b.citizenship = b.exploitation_country THEN 'domestic' ELSE 'cross_border' END"
            }
            (Self::RecordKind, _) => "b.record_kind",
            (Self::Urgency, _) => "b.urgency",
            (Self::ReferralState, _) => "b.referral_state",
            (Self::ReferralFlow, _) => {
                "CASE WHEN b.cross_border THEN 'cross_border' ELSE 'domestic' END"
            }
        }
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The separator of dimension values in one result column (the ASCII unit separator, which no
/// stored value holds: regions are checked for control characters).
const SEPARATOR: char = '\u{1f}';

/// The non-zero cells of the table of `subject` over `dims`, every record of the jurisdiction
/// counted (no other filter: filters are applied by the caller after disclosure control, on
/// the whole table). `country` limits the records to those held by organisations of that
/// country (a coordinator's jurisdiction; for referrals, the referred case's owner). Every
/// dimension must apply to the subject ([`Dimension::applies_to`]).
pub fn count_cells(
    conn: &mut DbConn,
    subject: Subject,
    dims: &[Dimension],
    country: Option<&CountryCode>,
) -> Result<Vec<(Vec<String>, i64)>, DbError> {
    let postgres = matches!(conn, DbConn::Postgresql(_));
    let sql = cells_sql(subject, dims, postgres, false, country);
    let rows: Vec<Row> = aggregate(conn, |conn| Ok(diesel::sql_query(sql).load(conn)?))?;
    Ok(rows
        .into_iter()
        .flat_map(|row| {
            expand_forms(values_of(&row.k, dims), dims)
                .into_iter()
                .map(move |values| (values, row.n))
        })
        .collect())
}

/// Runs an aggregate query. On PostgreSQL, in a transaction of its own with the just-in-time
/// compiler off (its estimate of a million-row aggregate set it compiling for longer than the
/// query ran), memory enough to aggregate by hashing rather than sorting, and parallel workers
/// costed as free: the planner's guess of the groups (the product of each column's values) is
/// far above the real few thousand, and kept a one-process plan twice as slow.
fn aggregate<T>(
    conn: &mut DbConn,
    query: impl FnOnce(&mut DbConn) -> Result<T, DbError>,
) -> Result<T, DbError> {
    use diesel::connection::SimpleConnection as _;
    match conn {
        DbConn::Postgresql(_) => conn.transaction(|conn| {
            conn.batch_execute(
                "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; \
                 SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0",
            )?;
            query(conn)
        }),
        DbConn::Sqlite(_) => query(conn),
    }
}

/// A counted row's values with the list of forms (at the `exploitation_type` dimension, if
/// any) split: one row per form, `not_recorded` for none.
fn expand_forms(values: Vec<String>, dims: &[Dimension]) -> Vec<Vec<String>> {
    let Some(at) = dims.iter().position(|d| *d == Dimension::ExploitationType) else {
        return vec![values];
    };
    let forms: Vec<String> = values[at]
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    if forms.is_empty() {
        let mut values = values;
        values[at] = "not_recorded".to_owned();
        return vec![values];
    }
    forms
        .into_iter()
        .map(|form| {
            let mut row = values.clone();
            row[at] = form;
            row
        })
        .collect()
}

#[derive(QueryableByName)]
struct PersonRow {
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = Text)]
    p: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Like [`count_cells`], each cell split by the person counted (the case's id, or the
/// anonymous notification's): for tables of referrals, where one person may be referred many
/// times and a figure must stand for enough people, not only enough referrals.
pub fn count_cells_per_person(
    conn: &mut DbConn,
    subject: Subject,
    dims: &[Dimension],
    country: Option<&CountryCode>,
) -> Result<Vec<(Vec<String>, String, i64)>, DbError> {
    let postgres = matches!(conn, DbConn::Postgresql(_));
    let sql = cells_sql(subject, dims, postgres, true, country);
    let rows: Vec<PersonRow> = aggregate(conn, |conn| Ok(diesel::sql_query(sql).load(conn)?))?;
    Ok(rows
        .into_iter()
        .flat_map(|row| {
            let PersonRow { k, p, n } = row;
            expand_forms(values_of(&k, dims), dims)
                .into_iter()
                .map(move |values| (values, p.clone(), n))
        })
        .collect())
}

fn values_of(key: &str, dims: &[Dimension]) -> Vec<String> {
    if dims.is_empty() {
        Vec::new()
    } else {
        key.split(SEPARATOR).map(str::to_owned).collect()
    }
}

/// The SQL of a table. A country is written into it as a literal: a [`CountryCode`] is two
/// ASCII capital letters, checked when it was made, so it cannot carry anything else.
fn cells_sql(
    subject: Subject,
    dims: &[Dimension],
    postgres: bool,
    per_person: bool,
    country: Option<&CountryCode>,
) -> String {
    let base = match subject {
        Subject::People => {
            let child = "CASE WHEN a.age_band IN ('0_8', '9_17') THEN TRUE ELSE FALSE END";
            format!(
                "SELECT c.id AS pid, 'case' AS record_kind, c.owner_organisation_id AS org, \
                 c.encountered_on, c.sex, c.age_band, c.is_child, c.citizenship, \
                 c.exploitation_country, c.region, c.identification_stage, c.status, \
                 c.exploitation_forms AS forms FROM cases c \
                 WHERE c.erasure_scope IS NULL OR c.erasure_scope <> 'whole_record' \
                 UNION ALL \
                 SELECT a.id, 'anonymous_notification', a.organisation_id, a.encountered_on, a.sex, \
                 a.age_band, {child}, a.citizenship, a.exploitation_country, a.region, \
                 'not_applicable', 'not_applicable', a.exploitation_forms \
                 FROM anonymous_notifications a"
            )
        }
        // A referral's period is when it was sent; its organisation the receiving one.
        Subject::Referrals => "SELECT r.case_id AS pid, r.to_organisation_id AS org, \
             r.created_at AS encountered_on, c.sex, c.age_band, c.is_child, c.citizenship, \
             c.exploitation_country, c.region, c.identification_stage, c.status, \
             c.exploitation_forms AS forms, r.urgency, r.state AS referral_state, r.cross_border \
             FROM referrals r JOIN cases c ON c.id = r.case_id"
            .to_owned(),
    };
    // The jurisdiction: people held by, and referrals of cases owned by, its organisations.
    let base = match (subject, country) {
        (_, None) => base,
        (Subject::People, Some(country)) => format!(
            "SELECT * FROM ({base}) j WHERE j.org IN \
             (SELECT id FROM organisations WHERE country = '{}')",
            country.as_str()
        ),
        (Subject::Referrals, Some(country)) => format!(
            "{base} WHERE c.owner_organisation_id IN \
             (SELECT id FROM organisations WHERE country = '{}')",
            country.as_str()
        ),
    };
    let mut from = format!("({base}) b");
    if dims.contains(&Dimension::OrganisationKind) {
        from.push_str(" JOIN organisations o ON o.id = b.org");
    }
    // Per person: the person's id is one more grouping column, `p`.
    let (person, person_group) = if per_person {
        (", b.pid AS p", ", p")
    } else {
        ("", "")
    };
    if dims.is_empty() {
        let group = if per_person { " GROUP BY b.pid" } else { "" };
        return format!("SELECT '' AS k{person}, COUNT(*) AS n FROM {from}{group}");
    }
    let separator = if postgres { "chr(31)" } else { "char(31)" };
    let exprs: Vec<&str> = dims.iter().map(|d| d.expression(postgres)).collect();
    let mut group = (1..=dims.len())
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if per_person {
        group.push_str(&format!(", {}", dims.len() + 1));
    }
    let select = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{e} AS d{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Group by the expressions, then join them into one column (both engines group by ordinal).
    let inner_key = (0..dims.len())
        .map(|i| format!("CAST(d{i} AS TEXT)"))
        .collect::<Vec<_>>()
        .join(&format!(" || {separator} || "));
    format!(
        "SELECT {inner_key} AS k{person_group}, n FROM \
         (SELECT {select}{person}, COUNT(*) AS n FROM {from} GROUP BY {group}) g"
    )
}

/// How long each answered referral waited for its answer: the receiving organisation and the
/// seconds from sending to accepting or declining. From two timestamps only.
pub fn referral_answer_seconds(
    conn: &mut DbConn,
    country: Option<&CountryCode>,
) -> Result<Vec<(String, i64)>, DbError> {
    use crate::schema::{cases, organisations, referrals};
    let mut query = referrals::table
        .filter(referrals::answered_at.is_not_null())
        .into_boxed();
    if let Some(country) = country {
        let owned_there = cases::table
            .inner_join(organisations::table)
            .filter(organisations::country.eq(*country))
            .select(cases::id);
        query = query.filter(referrals::case_id.eq_any(owned_there));
    }
    Ok(query
        .select((
            referrals::to_organisation_id,
            referrals::created_at,
            referrals::answered_at,
        ))
        .load::<(String, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)>(conn)?
        .into_iter()
        .filter_map(|(org, sent, answered)| {
            answered.map(|answered| (org, (answered - sent).num_seconds().max(0)))
        })
        .collect())
}

/// One case as the de-identified export sees it: summary columns only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// Sex code.
    pub sex: String,
    /// Age band code.
    pub age_band: String,
    /// Treated as a child.
    pub is_child: bool,
    /// Citizenship, when known.
    pub citizenship: Option<String>,
    /// Country of exploitation, when known.
    pub exploitation_country: Option<String>,
    /// Year the person was met.
    pub year: i32,
    /// Forms of exploitation, sorted.
    pub forms: Vec<String>,
}

/// The cases whose consent in force at `now` covers statistical use, as export rows (summary
/// columns only; anonymous notifications are not case-level records and are not exported).
pub fn consenting_cases(
    conn: &mut DbConn,
    now: chrono::NaiveDateTime,
    country: Option<&CountryCode>,
) -> Result<Vec<ExportRow>, DbError> {
    use std::collections::{HashMap, HashSet};

    use chrono::Datelike as _;

    use crate::schema::{case_exploitation_types, cases, consents};

    // The newest consent version of each case decides (a withdrawal grants nothing).
    let mut newest: HashMap<String, (i32, bool)> = HashMap::new();
    for (case, version, kind, purposes, until) in consents::table
        .select((
            consents::case_id,
            consents::version,
            consents::kind,
            consents::purposes,
            consents::valid_until,
        ))
        .load::<(String, i32, String, String, Option<chrono::NaiveDateTime>)>(conn)?
    {
        let covers = kind == "grant"
            && purposes.split(',').any(|p| p == "statistics")
            && until.is_none_or(|u| now < u);
        let entry = newest.entry(case).or_insert((version, covers));
        if version >= entry.0 {
            *entry = (version, covers);
        }
    }
    let consenting: HashSet<String> = newest
        .into_iter()
        .filter_map(|(case, (_, covers))| covers.then_some(case))
        .collect();
    let mut forms: HashMap<String, Vec<String>> = HashMap::new();
    for (case, form) in case_exploitation_types::table
        .select((
            case_exploitation_types::case_id,
            case_exploitation_types::exploitation_type,
        ))
        .load::<(String, String)>(conn)?
    {
        if consenting.contains(&case) {
            forms.entry(case).or_default().push(form);
        }
    }
    let mut held_there = None;
    if let Some(country) = country {
        use crate::schema::organisations;
        held_there = Some(
            cases::table
                .inner_join(organisations::table)
                .filter(organisations::country.eq(*country))
                .select(cases::id)
                .load::<String>(conn)?
                .into_iter()
                .collect::<HashSet<String>>(),
        );
    }
    // Case-level rows leave out erased cases: the figures still count them, no export lists them.
    Ok(cases::table
        .filter(cases::erased_at.is_null())
        .select((
            cases::id,
            cases::sex,
            cases::age_band,
            cases::is_child,
            cases::citizenship,
            cases::exploitation_country,
            cases::encountered_on,
        ))
        .load::<(
            String,
            String,
            String,
            bool,
            Option<String>,
            Option<String>,
            chrono::NaiveDate,
        )>(conn)?
        .into_iter()
        .filter(|row| consenting.contains(&row.0))
        .filter(|row| {
            held_there
                .as_ref()
                .is_none_or(|there| there.contains(&row.0))
        })
        .map(|(id, sex, age_band, is_child, citizenship, country, on)| {
            let mut forms = forms.remove(&id).unwrap_or_default();
            forms.sort();
            ExportRow {
                sex,
                age_band,
                is_child,
                citizenship,
                exploitation_country: country,
                year: on.year(),
                forms,
            }
        })
        .collect())
}
