//! Documents of a case: what kind of paper each is, and where its content is stored.

vocabulary! {
    /// What a document is. Each kind has the personal field group it belongs to by default;
    /// the uploader may choose another group (a photo of an injury is `health`, a photo of a
    /// workplace `exploitation`).
    pub enum DocumentKind as "document_kind" {
        /// A signed or thumb-printed consent form; it belongs to the consent version it records.
        ConsentForm = "consent_form": "Consent form",
        /// A passport, national identity card, birth certificate, work permit.
        IdentityDocument = "identity_document": "Identity document",
        /// A medical report, prescription, test result.
        MedicalReport = "medical_report": "Medical report",
        /// A police statement or report.
        PoliceStatement = "police_statement": "Police statement",
        /// A summons, order, judgment or other court paper.
        CourtDocument = "court_document": "Court document",
        /// A photograph (of an injury, a workplace, a document that cannot be copied).
        Photograph = "photograph": "Photograph",
        /// A contract, payslip, recruitment advert or other evidence of the exploitation.
        Evidence = "evidence": "Evidence of the exploitation",
        /// An audio recording (a statement, a voice message).
        AudioRecording = "audio_recording": "Audio recording",
        /// Anything else.
        Other = "other": "Other document",
    }
}

vocabulary! {
    /// Where a version's encrypted chunks are stored.
    pub enum DocumentStorage as "document_storage" {
        /// Chunk rows in the database (the default: one backup holds everything).
        Database = "database": "In the database",
        /// Objects in the configured object store (a local directory or an S3-compatible
        /// bucket), one object per chunk, named by the version's id and the chunk's index.
        ObjectStore = "object_store": "In the object store",
    }
}

vocabulary! {
    /// Why a version's stored content waits to be removed.
    pub enum OrphanReason as "orphan_reason" {
        /// An upload under way: removed unless it completes.
        Upload = "upload": "Upload under way",
        /// The content of an erased case or an expired deleted document, removed from the
        /// object store by housekeeping.
        Discarded = "discarded": "Discarded",
    }
}

impl DocumentKind {
    /// The group a document of this kind belongs to unless the uploader says otherwise.
    pub fn default_group(self) -> super::FieldGroup {
        use super::FieldGroup;
        match self {
            Self::ConsentForm | Self::IdentityDocument => FieldGroup::Identity,
            Self::MedicalReport => FieldGroup::Health,
            Self::PoliceStatement | Self::CourtDocument => FieldGroup::Legal,
            Self::Evidence => FieldGroup::Exploitation,
            Self::Photograph | Self::AudioRecording | Self::Other => FieldGroup::Notes,
        }
    }
}
