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
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        password_changed_at -> Nullable<Timestamp>,
        mfa_enabled -> Bool,
        totp_secret -> Nullable<Binary>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// A signed-in session: one per login, ended by logout, expiry or revocation.
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        mfa_verified -> Bool,
        client_label -> Text,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    /// Refresh tokens, stored only as SHA-256 hashes; each is used once.
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// MFA recovery codes, stored as hashes; each is used once.
    recovery_codes (code_hash) {
        code_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Single-use, expiring tokens sent by e-mail (invitations, password resets), as hashes.
    account_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        purpose -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The transactional mail outbox: written with the event, delivered by a worker.
    outbox (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    /// Append-only record of every audited action (never a personal value).
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        action -> Text,
        outcome -> Text,
        actor_user_id -> Nullable<Text>,
        actor_organisation_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        field_groups -> Text,
        purpose -> Nullable<Text>,
        decision -> Nullable<Text>,
        policy_ids -> Text,
        request_id -> Nullable<Text>,
        client_hash -> Nullable<Text>,
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
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::joinable!(case_field_groups -> case_keys (case_id));
diesel::joinable!(case_index_terms -> case_keys (case_id));
diesel::joinable!(blind_indexes -> case_keys (case_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    organisation_services,
    users,
    sessions,
    refresh_tokens,
    recovery_codes,
    account_tokens,
    outbox,
    audit_events,
    case_keys,
    case_field_groups,
    case_index_terms,
    blind_indexes,
    vault_keys,
);
