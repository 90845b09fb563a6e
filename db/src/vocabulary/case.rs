//! The vocabularies of cases, consent and the NRM workflow.
//!
//! Lists marked HTCDS derive from the Human Trafficking Case Data Standard 2.0 (IOM, CC BY 4.0;
//! see NOTICE), with codes in snake case; the HTCDS value name is kept in each doc comment so an
//! export can map back. Additions for Ugandan law cite the Prevention of Trafficking in Persons
//! Act 2009, section 2 ("exploitation").

vocabulary! {
    /// Sex or gender as recorded (HTCDS `prs_Gender`).
    pub enum Sex as "sex" {
        /// HTCDS `Feminine`.
        Female = "female": "Female",
        /// HTCDS `Masculine`.
        Male = "male": "Male",
        /// HTCDS `TransgenderFeminine`.
        TransgenderFemale = "transgender_female": "Transgender female",
        /// HTCDS `TransgenderMasculine`.
        TransgenderMale = "transgender_male": "Transgender male",
        /// HTCDS `NonConforming`.
        NonConforming = "non_conforming": "Gender non-conforming",
        /// HTCDS `NonSpecifiedUnknown`.
        Unknown = "unknown": "Not specified or unknown",
    }
}

vocabulary! {
    /// Age at first registration, in the bands of the Counter Trafficking Data Collaborative's
    /// public data set (`ageBroad`), so statistics and exports line up with CTDC.
    pub enum AgeBand as "age_band" {
        Age0To8 = "0_8": "0 to 8",
        Age9To17 = "9_17": "9 to 17",
        Age18To20 = "18_20": "18 to 20",
        Age21To23 = "21_23": "21 to 23",
        Age24To26 = "24_26": "24 to 26",
        Age27To29 = "27_29": "27 to 29",
        Age30To38 = "30_38": "30 to 38",
        Age39To47 = "39_47": "39 to 47",
        Age48Plus = "48_plus": "48 and over",
        /// Not known: with `may_be_child` the person is treated as a child.
        Unknown = "unknown": "Unknown",
    }
}

impl AgeBand {
    /// Whether the band lies wholly under 18.
    pub const fn is_under_18(self) -> bool {
        matches!(self, Self::Age0To8 | Self::Age9To17)
    }

    /// The band of an age in whole years.
    pub const fn of_age(years: u32) -> Self {
        match years {
            0..=8 => Self::Age0To8,
            9..=17 => Self::Age9To17,
            18..=20 => Self::Age18To20,
            21..=23 => Self::Age21To23,
            24..=26 => Self::Age24To26,
            27..=29 => Self::Age27To29,
            30..=38 => Self::Age30To38,
            39..=47 => Self::Age39To47,
            _ => Self::Age48Plus,
        }
    }
}

vocabulary! {
    /// Forms of exploitation: HTCDS `vic_TypeOfExploitation`, plus the forms Uganda's
    /// Prevention of Trafficking in Persons Act 2009 names separately.
    pub enum ExploitationType as "exploitation_type" {
        /// HTCDS `ForcedLabour`.
        ForcedLabour = "forced_labour": "Forced labour",
        /// HTCDS `SexualExploitation`.
        SexualExploitation = "sexual_exploitation": "Sexual exploitation",
        /// HTCDS `ChildLabour`; the Act's "harmful child labour".
        ChildLabour = "child_labour": "Harmful child labour",
        /// HTCDS `ForcedMarriage`.
        ForcedMarriage = "forced_marriage": "Forced marriage",
        /// Uganda PTIP Act 2009: child marriage.
        ChildMarriage = "child_marriage": "Child marriage",
        /// HTCDS `Servitude`, domestic servitude included.
        Servitude = "servitude": "Servitude",
        /// Uganda PTIP Act 2009: slavery or practices similar to slavery.
        Slavery = "slavery": "Slavery or practices similar to slavery",
        /// Uganda PTIP Act 2009: debt bondage.
        DebtBondage = "debt_bondage": "Debt bondage",
        /// HTCDS `ForcedMilitaryByNonStateActors`; the Act's use of a child in armed conflict.
        ArmedConflict = "armed_conflict": "Use in armed conflict",
        /// HTCDS `OrganRemoval`; the Act adds body parts for sale or for witchcraft.
        OrganRemoval = "organ_removal": "Removal of organs or body parts",
        /// HTCDS `ForcedBegging`.
        ForcedBegging = "forced_begging": "Forced begging",
        /// Uganda PTIP Act 2009: use in illegal activities (forced criminality).
        IllegalActivities = "illegal_activities": "Use in illegal activities",
        /// Uganda PTIP Act 2009: human sacrifice.
        HumanSacrifice = "human_sacrifice": "Human sacrifice",
        /// Uganda PTIP Act 2009: harmful rituals or practices.
        HarmfulRituals = "harmful_rituals": "Harmful rituals or practices",
        /// HTCDS `ForcedAdoption`.
        ForcedAdoption = "forced_adoption": "Forced adoption",
        /// HTCDS `Surrogacy`.
        Surrogacy = "surrogacy": "Surrogacy",
        /// HTCDS `Other`.
        Other = "other": "Other",
    }
}

vocabulary! {
    /// How the person was controlled (HTCDS `vic_MethodsOfControl`).
    pub enum MeansOfControl as "means_of_control" {
        PhysicalThreats = "physical_threats": "Threats of violence",
        ThreatsLawEnforcement = "threats_law_enforcement": "Threats of reporting to the authorities",
        ThreatensFamily = "threatens_family": "Threats against children or family",
        DebtBondage = "debt_bondage": "Debt bondage",
        FalsePromises = "false_promises": "False promises",
        PhysicalAbuse = "physical_abuse": "Physical abuse",
        SexualAbuse = "sexual_abuse": "Sexual abuse",
        TakesEarnings = "takes_earnings": "Takes earnings",
        RestrictsFinancialAccess = "restricts_financial_access": "Restricts access to money",
        RestrictsMedicalCare = "restricts_medical_care": "Restricts medical care",
        WithholdsNecessities = "withholds_necessities": "Withholds food, water or sleep",
        PsychologicalAbuse = "psychological_abuse": "Psychological abuse",
        PsychoactiveSubstance = "psychoactive_substance": "Forced use of drugs or alcohol",
        ExcessiveWorkingHours = "excessive_working_hours": "Excessive working hours",
        WithholdsDocuments = "withholds_documents": "Withholds identity documents",
        RestrictsMovement = "restricts_movement": "Restricts movement",
        Other = "other": "Other",
    }
}

vocabulary! {
    /// Where a case stands in identification. Only the competent
    /// authority moves a case past `referred_to_nrm`.
    pub enum IdentificationStage as "identification_stage" {
        /// Registered; no screening recorded yet.
        NotScreened = "not_screened": "Not screened",
        /// Screened; the indicators (or the screener's judgement) do not support a presumption.
        ScreenedNotPresumed = "screened_not_presumed": "Screened, not presumed a victim",
        /// Screened; presumed a victim of trafficking.
        Presumed = "presumed": "Presumed victim",
        /// Referred into the NRM for an identification decision.
        ReferredToNrm = "referred_to_nrm": "Referred into the NRM",
        ReasonableGroundsPositive = "reasonable_grounds_positive": "Positive reasonable-grounds decision",
        ReasonableGroundsNegative = "reasonable_grounds_negative": "Negative reasonable-grounds decision",
        ConclusiveGroundsPositive = "conclusive_grounds_positive": "Positive conclusive-grounds decision",
        ConclusiveGroundsNegative = "conclusive_grounds_negative": "Negative conclusive-grounds decision",
        /// Decided by the competent authority: not a victim of trafficking.
        NotAVictim = "not_a_victim": "Not a victim of trafficking",
    }
}

vocabulary! {
    /// An identification decision of the competent authority.
    pub enum IdentificationDecision as "identification_decision" {
        ReasonableGroundsPositive = "reasonable_grounds_positive": "Positive reasonable-grounds decision",
        ReasonableGroundsNegative = "reasonable_grounds_negative": "Negative reasonable-grounds decision",
        ConclusiveGroundsPositive = "conclusive_grounds_positive": "Positive conclusive-grounds decision",
        ConclusiveGroundsNegative = "conclusive_grounds_negative": "Negative conclusive-grounds decision",
        NotAVictim = "not_a_victim": "Not a victim of trafficking",
    }
}

impl IdentificationDecision {
    /// The stage the decision puts the case in.
    pub const fn stage(self) -> IdentificationStage {
        match self {
            Self::ReasonableGroundsPositive => IdentificationStage::ReasonableGroundsPositive,
            Self::ReasonableGroundsNegative => IdentificationStage::ReasonableGroundsNegative,
            Self::ConclusiveGroundsPositive => IdentificationStage::ConclusiveGroundsPositive,
            Self::ConclusiveGroundsNegative => IdentificationStage::ConclusiveGroundsNegative,
            Self::NotAVictim => IdentificationStage::NotAVictim,
        }
    }
}

vocabulary! {
    /// The case's assistance status, independent of identification.
    pub enum CaseStatus as "case_status" {
        Open = "open": "Open",
        Active = "active": "Active",
        Reintegration = "reintegration": "Reintegration",
        Closed = "closed": "Closed",
        /// The person withdrew from assistance.
        Withdrawn = "withdrawn": "Withdrawn by the person",
    }
}

vocabulary! {
    /// Why a case was closed.
    pub enum ClosureReason as "closure_reason" {
        ServicesCompleted = "services_completed": "Services completed",
        Reintegrated = "reintegrated": "Reintegrated",
        Transferred = "transferred": "Transferred to another organisation",
        Returned = "returned": "Returned to the country of origin",
        LostContact = "lost_contact": "Contact lost",
        Deceased = "deceased": "Deceased",
        Duplicate = "duplicate": "Duplicate of another case",
        NotAVictim = "not_a_victim": "Not a victim of trafficking",
        Other = "other": "Other",
    }
}

vocabulary! {
    /// Who gave consent.
    pub enum ConsentGiver as "consent_giver" {
        /// The person themself (an adult).
        Person = "person": "The person",
        /// A parent or legal guardian of a child.
        Guardian = "guardian": "Parent or guardian",
        /// No consent could be sought (e.g. an unaccompanied child): a recorded, statutory
        /// best-interest basis.
        BestInterest = "best_interest": "Best-interest basis (statutory)",
    }
}

vocabulary! {
    /// How consent was given.
    pub enum ConsentMethod as "consent_method" {
        Written = "written": "Written, signed",
        Verbal = "verbal": "Verbal, witnessed and recorded",
        Thumbprint = "thumbprint": "Thumbprint",
        Electronic = "electronic": "Electronic",
    }
}

vocabulary! {
    /// What a consent allows personal data to be used for.
    pub enum ConsentPurpose as "consent_purpose" {
        /// Case management and assistance by the owning organisation.
        Assistance = "assistance": "Assistance and case management",
        /// Referral to other organisations for services.
        Referral = "referral": "Referral to other services",
        /// Entering the National Referral Mechanism for an identification decision.
        Identification = "identification": "Identification in the NRM",
        /// Cooperation with a criminal investigation or prosecution (never a condition of
        /// assistance).
        Investigation = "investigation": "Criminal investigation or prosecution",
        /// De-identified statistics and research exports.
        Statistics = "statistics": "De-identified statistics",
    }
}

vocabulary! {
    /// To whom a consent lets field groups be shared: kinds of organisation, with law
    /// enforcement (police, immigration, labour inspection) and transfer abroad named on their
    /// own so that a person always decides them separately.
    pub enum ConsentRecipient as "consent_recipient" {
        Shelter = "shelter": "Shelters",
        Ngo = "ngo": "Non-governmental organisations",
        Health = "health": "Health services",
        LegalAid = "legal_aid": "Legal aid",
        ChildProtection = "child_protection": "Child protection",
        CompetentAuthority = "competent_authority": "Competent authority (identification)",
        CoordinationOffice = "coordination_office": "National coordination office",
        Other = "other": "Other organisations",
        /// Police, immigration and border services, labour inspectorates.
        LawEnforcement = "law_enforcement": "Law enforcement",
        /// Organisations in another country.
        Abroad = "abroad": "Transfer abroad",
    }
}

impl ConsentRecipient {
    /// The recipient a kind of organisation falls under.
    pub const fn for_kind(kind: super::OrganisationKind) -> Self {
        use super::OrganisationKind as K;
        match kind {
            K::Shelter => Self::Shelter,
            K::Ngo => Self::Ngo,
            K::Health => Self::Health,
            K::LegalAid => Self::LegalAid,
            K::ChildProtection => Self::ChildProtection,
            K::CompetentAuthority => Self::CompetentAuthority,
            K::CoordinationOffice => Self::CoordinationOffice,
            K::Other => Self::Other,
            K::Police | K::Immigration | K::LabourInspectorate => Self::LawEnforcement,
        }
    }
}

vocabulary! {
    /// The state of one assistance record.
    pub enum AssistanceStatus as "assistance_status" {
        Planned = "planned": "Planned",
        InProgress = "in_progress": "In progress",
        Completed = "completed": "Completed",
        /// The person declined it: assistance is offered, never imposed.
        Declined = "declined": "Declined by the person",
        Cancelled = "cancelled": "Cancelled",
    }
}

vocabulary! {
    /// A level in a risk assessment.
    pub enum RiskLevel as "risk_level" {
        Low = "low": "Low",
        Medium = "medium": "Medium",
        High = "high": "High",
    }
}

vocabulary! {
    /// What became of a possible duplicate found at registration.
    pub enum DuplicateStatus as "duplicate_status" {
        /// Found; nobody has looked yet.
        Open = "open": "Open",
        /// A supervisor confirmed both cases are the same person; the cases stay separate
        /// records, linked.
        Linked = "linked": "Linked as the same person",
        /// A supervisor found they are different people.
        Dismissed = "dismissed": "Dismissed",
    }
}
