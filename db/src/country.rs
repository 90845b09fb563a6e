//! ISO 3166-1 alpha-2 country codes: organisations, citizenship and places of recruitment and
//! exploitation all use them.

use std::fmt;
use std::str::FromStr;

/// Every officially assigned ISO 3166-1 alpha-2 code, sorted.
const ASSIGNED: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ \
GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN \
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS \
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT \
PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF \
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM \
ZW";

/// The text is not an assigned ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO 3166-1 alpha-2 country code")]
pub struct InvalidCountry;

/// An assigned ISO 3166-1 alpha-2 code, upper case (`UG`, `KE`, `SS`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters get in (see `from_str`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for CountryCode {
    type Err = InvalidCountry;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let bytes: [u8; 2] = upper.as_bytes().try_into().map_err(|_| InvalidCountry)?;
        if !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(InvalidCountry);
        }
        if ASSIGNED.split_ascii_whitespace().any(|code| code == upper) {
            Ok(Self(bytes))
        } else {
            Err(InvalidCountry)
        }
    }
}

impl TryFrom<String> for CountryCode {
    type Error = InvalidCountry;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> String {
        code.as_str().to_owned()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl utoipa::PartialSchema for CountryCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[A-Z]{2}$"))
            .description(Some("ISO 3166-1 alpha-2 country code"))
            .examples([serde_json::json!("UG")])
            .into()
    }
}

impl utoipa::ToSchema for CountryCode {}

text_column!(CountryCode, as_str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_complete_and_sorted() {
        let codes: Vec<&str> = ASSIGNED.split_ascii_whitespace().collect();
        assert_eq!(codes.len(), 249);
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn parses_assigned_codes_only() {
        assert_eq!("ug".parse::<CountryCode>().unwrap().as_str(), "UG");
        assert!("XX".parse::<CountryCode>().is_err());
        assert!("UGA".parse::<CountryCode>().is_err());
        assert!("U".parse::<CountryCode>().is_err());
        assert!("é1".parse::<CountryCode>().is_err());
    }
}
