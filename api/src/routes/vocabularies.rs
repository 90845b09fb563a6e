//! The closed vocabularies, so clients can build forms: every code with its English label.
//! Derived in part from the Human Trafficking Case Data Standard 2.0 (IOM, CC BY 4.0; see
//! NOTICE).

use actix_web::{get, web};
use serde_json::{Value, json};
use tumaini_db::vocabulary::*;

use crate::auth::Caller;

macro_rules! lists {
    ($($ty:ty),+ $(,)?) => {{
        let mut map = serde_json::Map::new();
        $(
            map.insert(
                <$ty>::VOCABULARY.to_owned(),
                Value::Array(
                    <$ty>::ALL
                        .iter()
                        .map(|v| json!({"code": v.code(), "label": v.label()}))
                        .collect(),
                ),
            );
        )+
        map
    }};
}

/// Every vocabulary: `{name: [{code, label}]}`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    responses((status = 200, description = "Vocabularies by name", body = Object)),
)]
#[get("/api/v1/vocabularies")]
pub async fn vocabularies(_caller: Caller) -> web::Json<Value> {
    web::Json(Value::Object(lists!(
        Role,
        OrganisationKind,
        ServiceType,
        Capacity,
        ServesSex,
        FieldGroup,
        Sex,
        AgeBand,
        ExploitationType,
        MeansOfControl,
        IdentificationStage,
        IdentificationDecision,
        CaseStatus,
        ClosureReason,
        ConsentGiver,
        ConsentMethod,
        ConsentPurpose,
        ConsentRecipient,
        AssistanceStatus,
        RiskLevel,
        DuplicateStatus,
        ReferralUrgency,
        ReferralState,
        DeclineReason,
        NotificationKind,
        ClientScope,
        LegalBasis,
        ErasureScope,
        ErasureReason,
        ErasureState,
        LegalHoldReason,
        RestrictionReason,
        RectificationReason,
        CaseAccessMode,
        FollowUpKind,
        FollowUpStatus,
        TransferReason,
        SenderKeeps,
        TransferState,
        TransferDeclineReason,
    )))
}
