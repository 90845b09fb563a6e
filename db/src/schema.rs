//! The tables as diesel sees them. Both migration trees must produce exactly these columns; the
//! types are the portable subset (Text, Bool, Timestamp, Binary, Integer, BigInt).

diesel::table! {
    /// Organisations taking part in the mechanism: shelters, police units, CSOs, the
    /// coordination office.
    organisations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        country -> Text,
        region -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// The services each organisation offers (the service directory's first column).
    organisation_services (organisation_id, service) {
        organisation_id -> Text,
        service -> Text,
    }
}

diesel::table! {
    /// People who sign in: staff of an organisation. Never a victim.
    users (id) {
        id -> Text,
        organisation_id -> Text,
        role -> Text,
        email -> Text,
        display_name -> Text,
        status -> Text,
        password_hash -> Nullable<Text>,
        password_must_change -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(organisation_services -> organisations (organisation_id));
diesel::joinable!(users -> organisations (organisation_id));

diesel::allow_tables_to_appear_in_same_query!(organisations, organisation_services, users);
