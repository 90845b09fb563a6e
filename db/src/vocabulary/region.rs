//! Regions: the controlled list a case's (and an anonymous notification's) `region` comes from.
//!
//! A free-text region was a hole: "Amina Nakato house" typed as a region was stored in clear,
//! listed to coordinators and shown as a statistics label. A region is now a code: an ISO
//! 3166-2 subdivision from the list shipped with the code (`db/data/regions.csv`, see
//! `db/data/REGIONS-SOURCE.md`), or one an administrator added (a district created after the
//! list was made), stored in the `regions` table. Nothing else is accepted.

use std::collections::HashMap;
use std::sync::LazyLock;

use diesel::prelude::*;
use serde::Serialize;

use crate::country::CountryCode;
use crate::ids::UserId;
use crate::schema::regions;
use crate::time::now_utc;
use crate::{DbConn, DbError};

/// The shipped list: `code,name,country,level`, one subdivision a line.
const SHIPPED_CSV: &str = include_str!("../../data/regions.csv");

/// A region of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    /// The ISO 3166-2 code (`UG-102`), or an administrator's code of the same form.
    pub code: String,
    /// Its name (`Kampala`).
    pub name: String,
    /// Its country.
    pub country: CountryCode,
    /// What kind of subdivision it is (`district`, `county`, `region`, `city` ...).
    pub level: String,
}

/// A region to add to the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegion {
    /// Its code: the country, a hyphen, then 1 to 6 capital letters or digits.
    pub code: RegionCode,
    /// Its name.
    pub name: String,
    /// What kind of subdivision it is.
    pub level: String,
}

/// The text is not a region code of the right form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a region code is a country code, a hyphen and 1 to 6 capital letters or digits")]
pub struct InvalidRegionCode;

/// A code of the form of ISO 3166-2 (`UG-102`, `KE-30`): checked in form, not in the list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

impl RegionCode {
    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country it belongs to.
    pub fn country(&self) -> CountryCode {
        // The form was checked: two capital letters of an assigned country come first.
        self.0[..2]
            .parse()
            .unwrap_or_else(|_| unreachable!("a checked region code"))
    }
}

impl std::str::FromStr for RegionCode {
    type Err = InvalidRegionCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let (country, local) = upper.split_once('-').ok_or(InvalidRegionCode)?;
        country
            .parse::<CountryCode>()
            .map_err(|_| InvalidRegionCode)?;
        let local_ok = (1..=6).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if local_ok {
            Ok(Self(upper))
        } else {
            Err(InvalidRegionCode)
        }
    }
}

impl std::fmt::Display for RegionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

struct Shipped {
    regions: Vec<Region>,
    by_code: HashMap<String, usize>,
}

static SHIPPED: LazyLock<Shipped> = LazyLock::new(|| {
    let mut regions = Vec::new();
    for line in SHIPPED_CSV.lines().skip(1) {
        let fields = split_csv_line(line);
        let [code, name, country, level] = fields.as_slice() else {
            continue;
        };
        let (Ok(code), Ok(country)) = (code.parse::<RegionCode>(), country.parse::<CountryCode>())
        else {
            continue;
        };
        regions.push(Region {
            code: code.0,
            name: name.clone(),
            country,
            level: level.clone(),
        });
    }
    let by_code = regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.code.clone(), i))
        .collect();
    Shipped { regions, by_code }
});

/// One line of the shipped CSV: fields separated by commas, a field in double quotes may hold
/// commas, and `""` inside quotes is one quote.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// The shipped list, sorted by code.
pub fn shipped() -> &'static [Region] {
    &SHIPPED.regions
}

/// The shipped region with this code.
pub fn shipped_region(code: &str) -> Option<&'static Region> {
    SHIPPED.by_code.get(code).map(|&i| &SHIPPED.regions[i])
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = regions)]
struct AddedRow {
    code: String,
    country: String,
    name: String,
    level: String,
}

impl AddedRow {
    fn into_region(self) -> Option<Region> {
        Some(Region {
            code: self.code,
            name: self.name,
            country: self.country.parse().ok()?,
            level: self.level,
        })
    }
}

/// The region with this code, shipped or added; `None` when it is on neither list.
pub fn find(conn: &mut DbConn, code: &RegionCode) -> Result<Option<Region>, DbError> {
    if let Some(region) = shipped_region(code.as_str()) {
        return Ok(Some(region.clone()));
    }
    Ok(regions::table
        .find(code.as_str())
        .select(AddedRow::as_select())
        .first(conn)
        .optional()?
        .and_then(AddedRow::into_region))
}

/// Every region of a country (or of every country), shipped and added, sorted by code.
pub fn list(conn: &mut DbConn, country: Option<&CountryCode>) -> Result<Vec<Region>, DbError> {
    let mut out: Vec<Region> = shipped()
        .iter()
        .filter(|r| country.is_none_or(|c| r.country == *c))
        .cloned()
        .collect();
    let mut query = regions::table.select(AddedRow::as_select()).into_boxed();
    if let Some(country) = country {
        query = query.filter(regions::country.eq(country.as_str()));
    }
    out.extend(
        query
            .load(conn)?
            .into_iter()
            .filter_map(AddedRow::into_region),
    );
    out.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(out)
}

/// The names of these codes (shipped or added), for labels; codes on neither list are left out.
pub fn names(conn: &mut DbConn, codes: &[String]) -> Result<HashMap<String, String>, DbError> {
    let mut out = HashMap::new();
    let mut others = Vec::new();
    for code in codes {
        match shipped_region(code) {
            Some(region) => {
                out.insert(code.clone(), region.name.clone());
            }
            None => others.push(code.clone()),
        }
    }
    if !others.is_empty() {
        for (code, name) in regions::table
            .filter(regions::code.eq_any(&others))
            .select((regions::code, regions::name))
            .load::<(String, String)>(conn)?
        {
            out.insert(code, name);
        }
    }
    Ok(out)
}

/// Adds a region to the list. A code already on either list is a [`DbError::Conflict`].
pub fn add(conn: &mut DbConn, new: &NewRegion, by: &UserId) -> Result<Region, DbError> {
    if shipped_region(new.code.as_str()).is_some() {
        return Err(DbError::Conflict {
            constraint: "regions_pkey".to_owned(),
        });
    }
    let country = new.code.country();
    diesel::insert_into(regions::table)
        .values((
            regions::code.eq(new.code.as_str()),
            regions::country.eq(country.as_str()),
            regions::name.eq(&new.name),
            regions::level.eq(&new.level),
            regions::added_by.eq(Some(by)),
            regions::added_at.eq(now_utc()),
        ))
        .execute(conn)?;
    Ok(Region {
        code: new.code.0.clone(),
        name: new.name.clone(),
        country,
        level: new.level.clone(),
    })
}

/// A name as compared when legacy free text is matched to the list: lower case, letters and
/// digits only, and without a trailing kind of subdivision ("Busia District" is "busia").
fn comparable(name: &str) -> String {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = lowered.split_whitespace().collect();
    if words.len() > 1
        && matches!(
            words.last(),
            Some(&("district" | "county" | "region" | "province" | "city"))
        )
    {
        words.pop();
    }
    words.concat()
}

/// What a stored legacy region becomes: the code of the one region of `country` (else of any
/// country) whose name it is, or none (the value is dropped).
fn legacy_code(value: &str, country: Option<&CountryCode>) -> Option<String> {
    let wanted = comparable(value);
    if wanted.is_empty() {
        return None;
    }
    let matching = |in_country: bool| -> Vec<&Region> {
        shipped()
            .iter()
            .filter(|r| !in_country || country.is_some_and(|c| r.country == *c))
            .filter(|r| comparable(&r.name) == wanted)
            .collect()
    };
    let here = matching(true);
    let found = if here.is_empty() {
        matching(false)
    } else {
        here
    };
    match found.as_slice() {
        [one] => Some(one.code.clone()),
        _ => None,
    }
}

/// Brings regions stored as free text (before the list existed) onto the list: a value that
/// names exactly one region (of the record's organisation's country first) becomes its code;
/// any other value is dropped (stored as the empty string, shown as unknown), since it may be
/// anything a person typed, a name included. Returns how many records changed. Safe to run
/// again: codes are left alone.
pub fn normalise_stored(conn: &mut DbConn) -> Result<usize, DbError> {
    use crate::schema::{anonymous_notifications as notes, cases, organisations};
    conn.write_transaction(|conn| {
        let mut changed = 0;
        let case_values: Vec<(String, String)> = cases::table
            .inner_join(organisations::table)
            .select((cases::region, organisations::country))
            .distinct()
            .load(conn)?;
        for (value, country) in case_values {
            let Some(code) = replacement(&value, &country) else {
                continue;
            };
            let there = organisations::table
                .filter(organisations::country.eq(&country))
                .select(organisations::id);
            changed += diesel::update(
                cases::table
                    .filter(cases::region.eq(&value))
                    .filter(cases::owner_organisation_id.eq_any(there)),
            )
            .set(cases::region.eq(&code))
            .execute(conn)?;
        }
        let notification_values: Vec<(String, String)> = notes::table
            .inner_join(organisations::table.on(organisations::id.eq(notes::organisation_id)))
            .select((notes::region, organisations::country))
            .distinct()
            .load(conn)?;
        for (value, country) in notification_values {
            let Some(code) = replacement(&value, &country) else {
                continue;
            };
            let there = organisations::table
                .filter(organisations::country.eq(&country))
                .select(organisations::id);
            changed += diesel::update(
                notes::table
                    .filter(notes::region.eq(&value))
                    .filter(notes::organisation_id.eq_any(there)),
            )
            .set(notes::region.eq(&code))
            .execute(conn)?;
        }
        Ok(changed)
    })
}

/// What a stored region of a record held in `country` becomes: nothing to change when it is a
/// code (on the list, or dropped from a later edition of it: a code names no one, and is never
/// rewritten) or empty; otherwise (free text) the code it names, or the empty string.
fn replacement(value: &str, country: &str) -> Option<String> {
    let is_code = value
        .parse::<RegionCode>()
        .is_ok_and(|code| code.as_str() == value);
    if value.is_empty() || is_code {
        return None;
    }
    Some(legacy_code(value, country.parse().ok().as_ref()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_loads_and_holds_the_region_served() {
        assert!(shipped().len() > 3000, "{}", shipped().len());
        let kampala = shipped()
            .iter()
            .find(|r| r.country.as_str() == "UG" && r.name == "Kampala")
            .expect("Kampala");
        assert!(kampala.code.starts_with("UG-"));
        assert!(
            shipped()
                .iter()
                .filter(|r| r.country.as_str() == "KE")
                .count()
                >= 47
        );
        assert!(
            shipped().windows(2).all(|w| w[0].code < w[1].code),
            "sorted"
        );
    }

    #[test]
    fn codes_are_checked_in_form() {
        assert_eq!("ug-102".parse::<RegionCode>().unwrap().as_str(), "UG-102");
        for bad in [
            "",
            "UG",
            "UG-",
            "UG-1234567",
            "XX-1",
            "Amina Nakato house",
            "UG-1 2",
        ] {
            assert!(bad.parse::<RegionCode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn legacy_names_map_to_one_code_or_none() {
        let ug: CountryCode = "UG".parse().unwrap();
        let busia = legacy_code("Busia", Some(&ug)).expect("Busia is a Ugandan district");
        assert!(busia.starts_with("UG-"), "{busia}");
        assert_eq!(legacy_code("busia district", Some(&ug)), Some(busia));
        assert_eq!(legacy_code("Amina Nakato house", Some(&ug)), None);
        assert_eq!(legacy_code("", Some(&ug)), None);
    }

    #[test]
    fn quoted_fields_split_as_csv() {
        assert_eq!(
            split_csv_line(r#"XX-1,"Name, with ""comma""",XX,district"#),
            vec!["XX-1", r#"Name, with "comma""#, "XX", "district"]
        );
    }
}
