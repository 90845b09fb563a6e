//! Screening with the ILO / European Commission operational indicators of trafficking in human
//! beings (Delphi survey, 2009, revised September 2009): the lists for adults and for children
//! in labour exploitation, grouped in the six dimensions of the Palermo Protocol's definition,
//! each indicator strong, medium or weak.
//!
//! A dimension is met when its indicators present include at least two strong; or one strong
//! and one medium or weak; or three medium; or two medium and one weak (the survey's rule).
//! An adult is presumed a victim when a recruitment dimension (deceptive, coercive or by abuse
//! of vulnerability), the exploitation dimension and a destination dimension (coercion or abuse
//! of vulnerability) are all met. For a child the means are not required (Palermo art. 3(c);
//! Uganda's PTIP Act s. 3(5)), so the exploitation dimension met is enough. The screener may
//! always record a professional judgement that overrides the computed presumption.

use serde::Serialize;
use utoipa::ToSchema;

/// Which list applies: children have their own weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorList {
    /// Adults (18 and over).
    Adult,
    /// Children (under 18, or possibly under 18).
    Child,
}

impl IndicatorList {
    /// The list for a case.
    pub const fn for_case(is_child: bool) -> Self {
        if is_child { Self::Child } else { Self::Adult }
    }

    /// Stable code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Adult => "adult",
            Self::Child => "child",
        }
    }
}

/// The six dimensions of the definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Deception during recruitment, transfer and transportation.
    DeceptiveRecruitment,
    /// Coercion during recruitment, transfer and transportation.
    CoerciveRecruitment,
    /// Recruitment by abuse of vulnerability.
    RecruitmentByAbuseOfVulnerability,
    /// Exploitative conditions of work.
    Exploitation,
    /// Coercion at destination.
    CoercionAtDestination,
    /// Abuse of vulnerability at destination.
    AbuseOfVulnerabilityAtDestination,
}

impl Dimension {
    /// Every dimension, in the survey's order.
    pub const ALL: [Self; 6] = [
        Self::DeceptiveRecruitment,
        Self::CoerciveRecruitment,
        Self::RecruitmentByAbuseOfVulnerability,
        Self::Exploitation,
        Self::CoercionAtDestination,
        Self::AbuseOfVulnerabilityAtDestination,
    ];

    /// Stable code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::DeceptiveRecruitment => "deceptive_recruitment",
            Self::CoerciveRecruitment => "coercive_recruitment",
            Self::RecruitmentByAbuseOfVulnerability => "recruitment_by_abuse_of_vulnerability",
            Self::Exploitation => "exploitation",
            Self::CoercionAtDestination => "coercion_at_destination",
            Self::AbuseOfVulnerabilityAtDestination => "abuse_of_vulnerability_at_destination",
        }
    }

    /// English label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::DeceptiveRecruitment => {
                "Deceptive recruitment (including transfer and transport)"
            }
            Self::CoerciveRecruitment => "Coercive recruitment (including transfer and transport)",
            Self::RecruitmentByAbuseOfVulnerability => "Recruitment by abuse of vulnerability",
            Self::Exploitation => "Exploitative conditions of work",
            Self::CoercionAtDestination => "Coercion at destination",
            Self::AbuseOfVulnerabilityAtDestination => "Abuse of vulnerability at destination",
        }
    }

    const fn is_recruitment(self) -> bool {
        matches!(
            self,
            Self::DeceptiveRecruitment
                | Self::CoerciveRecruitment
                | Self::RecruitmentByAbuseOfVulnerability
        )
    }

    const fn is_destination(self) -> bool {
        matches!(
            self,
            Self::CoercionAtDestination | Self::AbuseOfVulnerabilityAtDestination
        )
    }
}

/// How strongly an indicator points to trafficking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// Strong.
    Strong,
    /// Medium.
    Medium,
    /// Weak.
    Weak,
}

/// One indicator of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indicator {
    /// Stable code, unique across dimensions.
    pub code: &'static str,
    /// Its dimension.
    pub dimension: Dimension,
    /// Its weight on the adult list; `None`: not on it.
    pub adult: Option<Strength>,
    /// Its weight on the child list; `None`: not on it.
    pub child: Option<Strength>,
    /// English label.
    pub label: &'static str,
}

impl Indicator {
    /// Its weight on `list`.
    pub const fn strength(&self, list: IndicatorList) -> Option<Strength> {
        match list {
            IndicatorList::Adult => self.adult,
            IndicatorList::Child => self.child,
        }
    }
}

use Dimension as D;
use Strength::{Medium as M, Strong as S, Weak as W};

macro_rules! catalogue {
    ($($code:literal, $dim:expr, $adult:expr, $child:expr, $label:literal;)+) => {
        /// The catalogue: every indicator of both lists.
        pub const CATALOGUE: &[Indicator] = &[
            $(Indicator { code: $code, dimension: $dim, adult: $adult, child: $child, label: $label }),+
        ];
    };
}

catalogue! {
    "dr_nature_of_job", D::DeceptiveRecruitment, Some(S), Some(S), "Deceived about the nature of the job, its location or the employer";
    "dr_wages", D::DeceptiveRecruitment, Some(M), Some(M), "Deceived about wages or earnings";
    "dr_conditions_of_work", D::DeceptiveRecruitment, Some(M), Some(M), "Deceived about conditions of work";
    "dr_contract", D::DeceptiveRecruitment, Some(M), Some(M), "Deceived about the content or legality of the work contract";
    "dr_housing", D::DeceptiveRecruitment, Some(M), Some(M), "Deceived about housing and living conditions";
    "dr_legal_documents", D::DeceptiveRecruitment, Some(M), Some(M), "Deceived about legal documents or obtaining legal migration status";
    "dr_travel", D::DeceptiveRecruitment, Some(M), Some(M), "Deceived about travel and recruitment conditions";
    "dr_family_reunification", D::DeceptiveRecruitment, Some(M), Some(M), "Deceived about family reunification";
    "dr_marriage_or_adoption", D::DeceptiveRecruitment, Some(M), Some(M), "Deceived through promises of marriage or adoption";
    "dr_education", D::DeceptiveRecruitment, Some(W), Some(S), "Deceived about access to education opportunities";

    "cr_violence", D::CoerciveRecruitment, Some(S), Some(S), "Violence on the person";
    "cr_threats_of_violence", D::CoerciveRecruitment, Some(M), Some(S), "Threats of violence against the person";
    "cr_abduction_or_sale", D::CoerciveRecruitment, Some(M), Some(S), "Abduction, forced marriage, forced adoption or selling of the person";
    "cr_debt_bondage", D::CoerciveRecruitment, Some(M), Some(S), "Debt bondage";
    "cr_confiscation_of_documents", D::CoerciveRecruitment, Some(M), Some(M), "Confiscation of documents";
    "cr_isolation", D::CoerciveRecruitment, Some(M), Some(M), "Isolation, confinement or surveillance";
    "cr_threat_of_denunciation", D::CoerciveRecruitment, Some(M), Some(M), "Threat of denunciation to the authorities";
    "cr_threat_to_inform_family", D::CoerciveRecruitment, Some(M), Some(M), "Threats to inform family, community or the public";
    "cr_violence_on_family", D::CoerciveRecruitment, Some(M), Some(M), "Violence on family (threatened or done)";
    "cr_withholding_of_money", D::CoerciveRecruitment, Some(M), Some(M), "Withholding of money";

    "rv_difficult_family_situation", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Abuse of a difficult family situation";
    "rv_illegal_status", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Abuse of irregular migration status";
    "rv_lack_of_education", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Abuse of lack of education (language)";
    "rv_lack_of_information", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Abuse of lack of information";
    "rv_control_of_exploiters", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Control by the exploiters";
    "rv_economic_reasons", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Economic reasons";
    "rv_false_information_migration", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "False information about successful migration";
    "rv_false_information_law", D::RecruitmentByAbuseOfVulnerability, Some(M), None, "False information about the law or the attitude of the authorities";
    "rv_family_situation", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Family situation";
    "rv_personal_situation", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Personal situation";
    "rv_emotional_dependency", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Psychological and emotional dependency";
    "rv_relationship_with_authorities", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Relationship with the authorities or legal status";
    "rv_difficulties_in_the_past", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Difficulties in the past";
    "rv_difficulty_to_organise_travel", D::RecruitmentByAbuseOfVulnerability, Some(M), Some(M), "Difficulty to organise the travel";
    "rv_cultural_or_religious_beliefs", D::RecruitmentByAbuseOfVulnerability, Some(W), Some(M), "Abuse of cultural or religious beliefs";
    "rv_general_context", D::RecruitmentByAbuseOfVulnerability, Some(W), Some(M), "General context (conflict, disaster, political climate)";

    "ex_excessive_hours", D::Exploitation, Some(S), Some(S), "Excessive working days or hours";
    "ex_low_or_no_salary", D::Exploitation, Some(M), Some(M), "Low or no salary";
    "ex_wage_manipulation", D::Exploitation, Some(M), Some(M), "Wage manipulation (fines, deductions, payment to a middleman)";
    "ex_bad_living_conditions", D::Exploitation, Some(M), Some(M), "Bad living conditions";
    "ex_bad_working_conditions", D::Exploitation, Some(M), Some(M), "Very bad working conditions";
    "ex_hazardous_work", D::Exploitation, Some(M), Some(M), "Hazardous work";
    "ex_no_respect_of_labour_law", D::Exploitation, Some(M), Some(M), "No respect of labour laws or of the contract signed";
    "ex_no_social_protection", D::Exploitation, Some(M), None, "No social protection (contract, social insurance)";
    "ex_no_access_to_education", D::Exploitation, Some(W), Some(M), "No access to education";

    "cd_confiscation_of_documents", D::CoercionAtDestination, Some(S), Some(S), "Confiscation of documents";
    "cd_debt_bondage", D::CoercionAtDestination, Some(S), Some(S), "Debt bondage";
    "cd_isolation", D::CoercionAtDestination, Some(S), Some(S), "Isolation, confinement or surveillance";
    "cd_violence", D::CoercionAtDestination, Some(S), Some(S), "Violence on the person";
    "cd_threats_of_violence", D::CoercionAtDestination, Some(M), Some(S), "Threats of violence against the person";
    "cd_illicit_activities", D::CoercionAtDestination, Some(M), Some(S), "Forced into illicit or criminal activities";
    "cd_forced_tasks", D::CoercionAtDestination, Some(M), Some(S), "Forced tasks or clients";
    "cd_strong_influence", D::CoercionAtDestination, Some(M), Some(S), "Under strong influence";
    "cd_act_against_peers", D::CoercionAtDestination, Some(M), Some(M), "Forced to act against peers";
    "cd_lie_to_authorities", D::CoercionAtDestination, Some(M), Some(M), "Forced to lie to the authorities, family or others";
    "cd_threat_of_denunciation", D::CoercionAtDestination, Some(M), Some(M), "Threat of denunciation to the authorities";
    "cd_worse_conditions", D::CoercionAtDestination, Some(M), Some(M), "Threat to impose even worse working conditions";
    "cd_violence_on_family", D::CoercionAtDestination, Some(M), Some(M), "Violence on family (threatened or done)";
    "cd_withholding_of_wages", D::CoercionAtDestination, Some(M), Some(M), "Withholding of wages";
    "cd_threat_to_inform_family", D::CoercionAtDestination, Some(W), Some(M), "Threats to inform family, community or the public";

    "vd_dependency_on_exploiters", D::AbuseOfVulnerabilityAtDestination, Some(M), Some(M), "Dependency on the exploiters";
    "vd_unknown_area", D::AbuseOfVulnerabilityAtDestination, Some(M), Some(M), "Difficulty to live in an unknown area";
    "vd_economic_reasons", D::AbuseOfVulnerabilityAtDestination, Some(M), Some(M), "Economic reasons";
    "vd_family_situation", D::AbuseOfVulnerabilityAtDestination, Some(M), Some(M), "Family situation";
    "vd_relationship_with_authorities", D::AbuseOfVulnerabilityAtDestination, Some(M), Some(M), "Relationship with the authorities or legal status";
    "vd_difficulties_in_the_past", D::AbuseOfVulnerabilityAtDestination, Some(W), Some(M), "Difficulties in the past";
    "vd_personal_characteristics", D::AbuseOfVulnerabilityAtDestination, Some(W), Some(M), "Personal characteristics";
}

/// The indicators of one list, in the catalogue's order.
pub fn indicators(list: IndicatorList) -> impl Iterator<Item = (&'static Indicator, Strength)> {
    CATALOGUE
        .iter()
        .filter_map(move |i| i.strength(list).map(|s| (i, s)))
}

/// Why a set of answers was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreeningError {
    /// The code is not on the list (named by its position: the code given is not repeated).
    #[error("`indicators[{position}]` is not an indicator of the {list} list")]
    Unknown {
        /// Where in the list it was given.
        position: usize,
        /// The list.
        list: &'static str,
    },
    /// The same indicator twice.
    #[error("`{0}` is given twice")]
    Repeated(String),
}

/// The indicators present, checked against `list`.
pub fn validate(
    list: IndicatorList,
    codes: &[String],
) -> Result<Vec<&'static Indicator>, ScreeningError> {
    let mut out: Vec<&'static Indicator> = Vec::with_capacity(codes.len());
    for (position, code) in codes.iter().enumerate() {
        let found = CATALOGUE
            .iter()
            .find(|i| i.code == code && i.strength(list).is_some())
            .ok_or(ScreeningError::Unknown {
                position,
                list: list.code(),
            })?;
        if out.iter().any(|i| i.code == found.code) {
            return Err(ScreeningError::Repeated(found.code.to_owned()));
        }
        out.push(found);
    }
    Ok(out)
}

/// What the indicators present give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The list used.
    pub list: IndicatorList,
    /// Dimensions met, in the survey's order.
    pub dimensions_met: Vec<Dimension>,
    /// Strong indicators present.
    pub strong: u32,
    /// Medium indicators present.
    pub medium: u32,
    /// Weak indicators present.
    pub weak: u32,
    /// Whether the person is presumed a victim of trafficking.
    pub presumed: bool,
}

/// Whether a dimension with these counts is met.
pub const fn dimension_met(strong: u32, medium: u32, weak: u32) -> bool {
    strong >= 2 || (strong >= 1 && medium + weak >= 1) || medium >= 3 || (medium >= 2 && weak >= 1)
}

/// Assesses the indicators present (already validated for `list`).
pub fn assess(list: IndicatorList, present: &[&Indicator]) -> Assessment {
    let mut dimensions_met = Vec::new();
    let (mut strong, mut medium, mut weak) = (0, 0, 0);
    for dimension in Dimension::ALL {
        let (mut s, mut m, mut w) = (0, 0, 0);
        for indicator in present.iter().filter(|i| i.dimension == dimension) {
            match indicator.strength(list) {
                Some(Strength::Strong) => s += 1,
                Some(Strength::Medium) => m += 1,
                Some(Strength::Weak) => w += 1,
                None => {}
            }
        }
        strong += s;
        medium += m;
        weak += w;
        if dimension_met(s, m, w) {
            dimensions_met.push(dimension);
        }
    }
    let met = |pred: fn(Dimension) -> bool| dimensions_met.iter().any(|d| pred(*d));
    let exploitation = dimensions_met.contains(&Dimension::Exploitation);
    let presumed = match list {
        IndicatorList::Adult => {
            exploitation && met(Dimension::is_recruitment) && met(Dimension::is_destination)
        }
        IndicatorList::Child => exploitation,
    };
    Assessment {
        list,
        dimensions_met,
        strong,
        medium,
        weak,
        presumed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(list: IndicatorList, codes: &[&str]) -> Assessment {
        let codes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
        let present = validate(list, &codes).unwrap();
        assess(list, &present)
    }

    #[test]
    fn lists_have_the_surveys_sizes() {
        // 67 indicators for adults, 65 for children (two adult indicators are not on it).
        assert_eq!(indicators(IndicatorList::Adult).count(), 67);
        assert_eq!(indicators(IndicatorList::Child).count(), 65);
        let per_dimension: Vec<usize> = Dimension::ALL
            .iter()
            .map(|d| CATALOGUE.iter().filter(|i| i.dimension == *d).count())
            .collect();
        assert_eq!(per_dimension, [10, 10, 16, 9, 15, 7]);
        // The child list has no weak indicator.
        assert!(indicators(IndicatorList::Child).all(|(_, s)| s != Strength::Weak));
    }

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut codes: Vec<&str> = CATALOGUE.iter().map(|i| i.code).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), before);
        assert!(
            codes
                .iter()
                .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        );
    }

    #[test]
    fn the_dimension_rule_is_the_surveys() {
        assert!(dimension_met(2, 0, 0));
        assert!(dimension_met(1, 1, 0));
        assert!(dimension_met(1, 0, 1));
        assert!(dimension_met(0, 3, 0));
        assert!(dimension_met(0, 2, 1));
        assert!(!dimension_met(1, 0, 0));
        assert!(!dimension_met(0, 2, 0));
        assert!(!dimension_met(0, 1, 5));
        assert!(!dimension_met(0, 0, 9));
    }

    #[test]
    fn an_adult_needs_recruitment_exploitation_and_destination() {
        let full = [
            "dr_nature_of_job",
            "dr_wages",
            "ex_excessive_hours",
            "ex_low_or_no_salary",
            "cd_confiscation_of_documents",
            "cd_isolation",
        ];
        let a = answers(IndicatorList::Adult, &full);
        assert!(a.presumed);
        assert_eq!(
            a.dimensions_met,
            [
                Dimension::DeceptiveRecruitment,
                Dimension::Exploitation,
                Dimension::CoercionAtDestination
            ]
        );
        assert_eq!((a.strong, a.medium, a.weak), (4, 2, 0));
        // Without the destination dimension: exploited, not presumed trafficked.
        assert!(!answers(IndicatorList::Adult, &full[..4]).presumed);
        // Without recruitment.
        assert!(!answers(IndicatorList::Adult, &full[2..]).presumed);
        // Without exploitation.
        let no_exploitation = [full[0], full[1], full[4], full[5]];
        assert!(!answers(IndicatorList::Adult, &no_exploitation).presumed);
    }

    #[test]
    fn a_child_needs_only_exploitation() {
        let a = answers(
            IndicatorList::Child,
            &["ex_excessive_hours", "ex_no_access_to_education"],
        );
        assert!(a.presumed);
        // The same answers weigh less for an adult (education is weak there, still met: 1 strong + 1 weak).
        let adult = answers(
            IndicatorList::Adult,
            &["ex_excessive_hours", "ex_no_access_to_education"],
        );
        assert!(!adult.presumed);
        assert_eq!(adult.dimensions_met, [Dimension::Exploitation]);
    }

    #[test]
    fn weights_differ_between_lists() {
        // Two medium adult indicators that are strong for a child.
        let codes = ["cr_threats_of_violence", "cr_debt_bondage"];
        assert!(
            answers(IndicatorList::Adult, &codes)
                .dimensions_met
                .is_empty()
        );
        assert_eq!(
            answers(IndicatorList::Child, &codes).dimensions_met,
            [Dimension::CoerciveRecruitment]
        );
    }

    #[test]
    fn unknown_repeated_and_off_list_codes_are_refused() {
        let err = validate(IndicatorList::Adult, &["made_up".into()]).unwrap_err();
        assert!(matches!(err, ScreeningError::Unknown { .. }));
        let err = validate(
            IndicatorList::Adult,
            &["dr_wages".into(), "dr_wages".into()],
        )
        .unwrap_err();
        assert_eq!(err, ScreeningError::Repeated("dr_wages".into()));
        // On the adult list only.
        assert!(validate(IndicatorList::Adult, &["ex_no_social_protection".into()]).is_ok());
        assert!(validate(IndicatorList::Child, &["ex_no_social_protection".into()]).is_err());
    }

    #[test]
    fn nothing_present_presumes_nothing() {
        let a = answers(IndicatorList::Adult, &[]);
        assert!(!a.presumed);
        assert!(a.dimensions_met.is_empty());
    }
}
