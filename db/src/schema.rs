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

diesel::table! {
    /// One random data key per case, wrapped by a key-encryption key version (the vault).
    case_keys (case_id) {
        case_id -> Text,
        data_key_version -> Integer,
        kek_version -> Integer,
        wrapped_key -> Binary,
        created_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
        shredded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// One ciphertext per personal field group per case.
    case_field_groups (case_id, field_group) {
        case_id -> Text,
        field_group -> Text,
        ciphertext -> Binary,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// The encrypted values a case's blind indexes are computed from.
    case_index_terms (case_id) {
        case_id -> Text,
        index_key_version -> Integer,
        ciphertext -> Binary,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Truncated HMACs of normalised names, dates of birth and document numbers.
    blind_indexes (case_id, index_name, index_key_version, value) {
        case_id -> Text,
        index_name -> Text,
        index_key_version -> Integer,
        value -> Binary,
    }
}

diesel::table! {
    /// Vault keys other than data keys (the blind-index root key), wrapped by the KEK.
    vault_keys (purpose, version) {
        purpose -> Text,
        version -> Integer,
        kek_version -> Integer,
        wrapped_key -> Binary,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(organisation_services -> organisations (organisation_id));
diesel::joinable!(users -> organisations (organisation_id));

diesel::joinable!(case_field_groups -> case_keys (case_id));
diesel::joinable!(case_index_terms -> case_keys (case_id));
diesel::joinable!(blind_indexes -> case_keys (case_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    organisation_services,
    users,
    case_keys,
    case_field_groups,
    case_index_terms,
    blind_indexes,
    vault_keys,
);
