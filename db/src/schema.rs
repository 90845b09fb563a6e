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
        case_access -> Text,
    }
}

diesel::table! {
    /// The services each organisation offers (the service directory's first column).
    organisation_services (organisation_id, service) {
        organisation_id -> Text,
        service -> Text,
        country -> Text,
        region -> Text,
        serves_adults -> Bool,
        serves_children -> Bool,
        serves_sex -> Text,
        capacity -> Text,
        updated_at -> Timestamp,
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
        login_delay_until -> Nullable<Timestamp>,
        last_failed_login_at -> Nullable<Timestamp>,
        requested_role -> Nullable<Text>,
        requested_by -> Nullable<Text>,
        requested_at -> Nullable<Timestamp>,
        language -> Nullable<Text>,
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
        password_failures -> Integer,
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
        severity -> Text,
        client_request_id -> Nullable<Text>,
        actor_client_id -> Nullable<Text>,
        mac -> Nullable<Text>,
    }
}

diesel::table! {
    /// Machine clients (OAuth 2.0 client credentials) of organisations.
    api_clients (id) {
        id -> Text,
        organisation_id -> Text,
        name -> Text,
        scopes -> Text,
        legal_basis -> Text,
        legal_reference -> Text,
        allowed_networks -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        created_by -> Text,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The secrets of machine clients, as keyed hashes.
    api_client_secrets (id) {
        id -> Text,
        client_id -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
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

diesel::table! {
    /// Cases: the summary in coarse plaintext, the NRM stage, deadlines and the case status.
    /// Personal groups live in the vault (`case_field_groups`).
    cases (id) {
        id -> Text,
        reference -> Text,
        owner_organisation_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        sex -> Text,
        age_band -> Text,
        may_be_child -> Bool,
        is_child -> Bool,
        citizenship -> Nullable<Text>,
        recruitment_country -> Nullable<Text>,
        exploitation_country -> Nullable<Text>,
        region -> Text,
        encountered_on -> Date,
        identification_stage -> Text,
        referred_into_nrm_at -> Nullable<Timestamp>,
        reasonable_grounds_due_at -> Nullable<Timestamp>,
        reasonable_grounds_decided_at -> Nullable<Timestamp>,
        recovery_period_ends_at -> Nullable<Timestamp>,
        conclusive_grounds_decided_at -> Nullable<Timestamp>,
        reasonable_grounds_overdue_at -> Nullable<Timestamp>,
        conclusive_grounds_overdue_at -> Nullable<Timestamp>,
        status -> Text,
        closure_reason -> Nullable<Text>,
        closure_requested_at -> Nullable<Timestamp>,
        closure_requested_by -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        closure_approved_by -> Nullable<Text>,
        child_protection_notified_at -> Nullable<Timestamp>,
        exploitation_forms -> Text,
        erased_at -> Nullable<Timestamp>,
        erasure_scope -> Nullable<Text>,
        restricted_at -> Nullable<Timestamp>,
        restricted_by -> Nullable<Text>,
        restriction_reason -> Nullable<Text>,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Erasures asked for: one person asks, a second approves, approval executes.
    erasure_requests (id) {
        id -> Text,
        case_id -> Text,
        scope -> Text,
        reason -> Text,
        state -> Text,
        requested_by -> Nullable<Text>,
        requested_at -> Timestamp,
        expires_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        executed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Legal holds: a case held is never erased by retention.
    legal_holds (id) {
        id -> Text,
        case_id -> Text,
        reason -> Text,
        placed_by -> Text,
        placed_at -> Timestamp,
        lifted_by -> Nullable<Text>,
        lifted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The versions of a case's personal field groups: who wrote each, when and why; an
    /// earlier version's value encrypted under the case's data key (none for the current one).
    case_group_versions (case_id, field_group, version) {
        case_id -> Text,
        field_group -> Text,
        version -> Integer,
        ciphertext -> Nullable<Binary>,
        changed_by -> Nullable<Text>,
        changed_by_role -> Nullable<Text>,
        changed_by_organisation_id -> Nullable<Text>,
        changed_at -> Timestamp,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    /// Forms of exploitation of a case, one row each.
    case_exploitation_types (case_id, exploitation_type) {
        case_id -> Text,
        exploitation_type -> Text,
    }
}

diesel::table! {
    /// Means of control of a case, one row each.
    case_means_of_control (case_id, means_of_control) {
        case_id -> Text,
        means_of_control -> Text,
    }
}

diesel::table! {
    /// Consent versions, append-only; the newest is in force.
    consents (id) {
        id -> Text,
        case_id -> Text,
        version -> Integer,
        kind -> Text,
        given_by -> Text,
        method -> Text,
        purposes -> Text,
        field_groups -> Text,
        recipients -> Text,
        given_at -> Timestamp,
        valid_until -> Nullable<Timestamp>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
        details -> Nullable<Binary>,
    }
}

diesel::table! {
    /// Screenings with trafficking indicators: the computed result in clear, the answers
    /// encrypted.
    screenings (id) {
        id -> Text,
        case_id -> Text,
        indicator_list -> Text,
        strong -> Integer,
        medium -> Integer,
        weak -> Integer,
        dimensions_met -> Text,
        computed_presumed -> Bool,
        overridden -> Bool,
        presumed -> Bool,
        screened_by -> Text,
        screened_at -> Timestamp,
        answers -> Binary,
    }
}

diesel::table! {
    /// Decisions of the competent authority; reasons encrypted.
    identification_decisions (id) {
        id -> Text,
        case_id -> Text,
        decision -> Text,
        decided_by -> Text,
        decided_by_organisation -> Text,
        decided_at -> Timestamp,
        reasons -> Binary,
    }
}

diesel::table! {
    /// Assistance given: the service in clear, the details encrypted.
    assistance_records (id) {
        id -> Text,
        case_id -> Text,
        service_type -> Text,
        provider_organisation_id -> Text,
        status -> Text,
        provided_on -> Date,
        recorded_by -> Text,
        recorded_at -> Timestamp,
        details -> Nullable<Binary>,
    }
}

diesel::table! {
    /// Case notes, encrypted.
    case_notes (id) {
        id -> Text,
        case_id -> Text,
        written_by -> Text,
        written_at -> Timestamp,
        body -> Binary,
    }
}

diesel::table! {
    /// Risk assessments: levels in clear, details encrypted.
    risk_assessments (id) {
        id -> Text,
        case_id -> Text,
        individual -> Text,
        household -> Text,
        community -> Text,
        review_on -> Date,
        assessed_by -> Text,
        assessed_at -> Timestamp,
        details -> Nullable<Binary>,
    }
}

diesel::table! {
    /// The individual assistance plan of a case, encrypted.
    assistance_plans (case_id) {
        case_id -> Text,
        version -> Integer,
        review_on -> Date,
        updated_by -> Text,
        updated_at -> Timestamp,
        content -> Binary,
    }
}

diesel::table! {
    /// Possible duplicates found at registration.
    case_duplicates (case_id, other_case_id) {
        case_id -> Text,
        other_case_id -> Text,
        status -> Text,
        found_at -> Timestamp,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Anonymous notifications: adults who did not consent to entering the NRM.
    anonymous_notifications (id) {
        id -> Text,
        reference -> Text,
        organisation_id -> Text,
        reported_by -> Text,
        reported_at -> Timestamp,
        sex -> Text,
        age_band -> Text,
        citizenship -> Nullable<Text>,
        exploitation_country -> Nullable<Text>,
        region -> Text,
        encountered_on -> Date,
        exploitation_forms -> Text,
    }
}

diesel::table! {
    /// Forms of exploitation of an anonymous notification.
    anonymous_notification_exploitation_types (notification_id, exploitation_type) {
        notification_id -> Text,
        exploitation_type -> Text,
    }
}

diesel::table! {
    /// Stored first answers to POSTs with an Idempotency-Key, sealed under the case's key.
    idempotency_keys (user_id, idempotency_key) {
        user_id -> Text,
        idempotency_key -> Text,
        request_hash -> Binary,
        case_id -> Nullable<Text>,
        status_code -> Integer,
        location -> Nullable<Text>,
        etag -> Nullable<Text>,
        body -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Possible duplicates waiting for the background job to confirm and tell their holders.
    duplicate_checks (case_id, candidate_id) {
        case_id -> Text,
        candidate_id -> Text,
        queued_at -> Timestamp,
    }
}

diesel::table! {
    /// Regions an administrator added to the shipped list of ISO 3166-2 subdivisions.
    regions (code) {
        code -> Text,
        country -> Text,
        name -> Text,
        level -> Text,
        added_by -> Nullable<Text>,
        added_at -> Timestamp,
    }
}

diesel::table! {
    /// Break-glass openings: named personal groups of one case, for one user, until a time.
    break_glass_grants (id) {
        id -> Text,
        case_id -> Text,
        user_id -> Text,
        field_groups -> Text,
        opened_at -> Timestamp,
        expires_at -> Timestamp,
        justification -> Binary,
    }
}

diesel::table! {
    /// The hash chain over audit events: position, the event's leaf hash, the running hash.
    audit_chain (position) {
        position -> BigInt,
        event_id -> Text,
        leaf_hash -> Binary,
        chain_hash -> Binary,
        sealed_at -> Timestamp,
        checkpoint_sequence -> Nullable<BigInt>,
        mac -> Nullable<Text>,
    }
}

diesel::table! {
    /// Checkpoints of the chain signed with the Ed25519 audit key.
    audit_checkpoints (position) {
        position -> BigInt,
        chain_hash -> Binary,
        signed_at -> Timestamp,
        key_id -> Text,
        signature -> Binary,
        sequence -> Nullable<BigInt>,
        previous_hash -> Nullable<Binary>,
    }
}

diesel::table! {
    /// Referrals between organisations for named services.
    referrals (id) {
        id -> Text,
        reference -> Text,
        case_id -> Text,
        from_organisation_id -> Text,
        to_organisation_id -> Text,
        created_by -> Text,
        services -> Text,
        field_groups -> Text,
        urgency -> Text,
        reason -> Binary,
        consent_id -> Text,
        cross_border -> Bool,
        state -> Text,
        decline_reason -> Nullable<Text>,
        created_at -> Timestamp,
        respond_by -> Timestamp,
        answered_at -> Nullable<Timestamp>,
        answered_by -> Nullable<Text>,
        started_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        consent_form_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// Each state a referral entered, for its timeline.
    referral_events (id) {
        id -> Text,
        referral_id -> Text,
        state -> Text,
        at -> Timestamp,
        user_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// Notifications a user chose not to receive.
    notification_opt_outs (user_id, kind) {
        user_id -> Text,
        kind -> Text,
    }
}

diesel::table! {
    /// The HTTPS endpoints an organisation registered for signed webhooks; the signing secret
    /// is stored wrapped under the vault's key-encryption key.
    webhook_endpoints (id) {
        id -> Text,
        organisation_id -> Text,
        url -> Text,
        event_types -> Text,
        secret_kek_version -> Integer,
        secret_wrapped -> Binary,
        created_by -> Text,
        created_at -> Timestamp,
        failing_since -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Webhook deliveries: written with the event, delivered (signed) by a worker.
    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Text,
        event_id -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    /// Documents of a case (consent forms, identity papers, medical and legal records), each in
    /// one personal field group; content and names are encrypted (`document_versions`).
    documents (id) {
        id -> Text,
        case_id -> Text,
        field_group -> Text,
        kind -> Text,
        consent_id -> Nullable<Text>,
        current_version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<Text>,
    }
}

diesel::table! {
    /// Each version of a document's content: where its encrypted chunks are and its sealed
    /// metadata (file name, media type, caption).
    document_versions (id) {
        id -> Text,
        document_id -> Text,
        version -> Integer,
        storage -> Text,
        key_version -> Integer,
        nonce_prefix -> Binary,
        chunk_size -> Integer,
        chunk_count -> Integer,
        byte_size -> BigInt,
        sealed_meta -> Binary,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The encrypted chunks of document versions stored in the database.
    document_chunks (version_id, idx) {
        version_id -> Text,
        idx -> Integer,
        sealed -> Binary,
    }
}

diesel::table! {
    /// Resumable uploads under way: what they will become and how far they got; the bytes are
    /// staged as sealed pieces under the session's id.
    document_uploads (id) {
        id -> Text,
        case_id -> Text,
        created_by -> Text,
        document_id -> Nullable<Text>,
        kind -> Nullable<Text>,
        field_group -> Text,
        consent_id -> Nullable<Text>,
        declared -> Text,
        sealed_names -> Binary,
        key_version -> Integer,
        nonce_prefix -> Binary,
        length -> BigInt,
        received -> BigInt,
        pieces -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Document content to remove from storage: unfinished uploads, and content discarded by
    /// erasure or retention from an object store.
    document_orphans (version_id) {
        version_id -> Text,
        storage -> Text,
        reason -> Text,
        since -> Timestamp,
    }
}

diesel::joinable!(audit_chain -> audit_events (event_id));
diesel::table! {
    /// The staff assigned to a case, per organisation (at most one lead each).
    case_assignments (case_id, user_id) {
        case_id -> Text,
        user_id -> Text,
        organisation_id -> Text,
        lead -> Bool,
        assigned_by -> Nullable<Text>,
        assigned_at -> Timestamp,
    }
}

diesel::table! {
    /// Follow-ups scheduled on a case (visits, calls, court dates, appointments, reviews), with
    /// an optional reminder e-mail the day before; the note is sealed under the case's key.
    follow_ups (id) {
        id -> Text,
        case_id -> Text,
        organisation_id -> Text,
        assigned_to -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        due_on -> Date,
        kind -> Text,
        note -> Nullable<Binary>,
        status -> Text,
        closed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
        remind_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    /// Transfers of a case's ownership to another organisation.
    case_transfers (id) {
        id -> Text,
        case_id -> Text,
        from_organisation_id -> Text,
        to_organisation_id -> Text,
        reason -> Text,
        groups -> Text,
        sender_keeps -> Text,
        consent_version -> Nullable<Integer>,
        state -> Text,
        requested_by -> Text,
        requested_at -> Timestamp,
        respond_by -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decline_reason -> Nullable<Text>,
        note -> Nullable<Binary>,
        version -> Integer,
    }
}

diesel::joinable!(organisation_services -> organisations (organisation_id));
diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(api_clients -> organisations (organisation_id));
diesel::joinable!(api_client_secrets -> api_clients (client_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::joinable!(case_field_groups -> case_keys (case_id));
diesel::joinable!(case_index_terms -> case_keys (case_id));
diesel::joinable!(blind_indexes -> case_keys (case_id));
diesel::joinable!(cases -> organisations (owner_organisation_id));
diesel::joinable!(case_exploitation_types -> cases (case_id));
diesel::joinable!(case_means_of_control -> cases (case_id));
diesel::joinable!(consents -> cases (case_id));
diesel::joinable!(referrals -> cases (case_id));
diesel::joinable!(erasure_requests -> cases (case_id));
diesel::joinable!(legal_holds -> cases (case_id));
diesel::joinable!(case_group_versions -> case_keys (case_id));
diesel::joinable!(referral_events -> referrals (referral_id));
diesel::joinable!(documents -> cases (case_id));
diesel::joinable!(document_versions -> documents (document_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(case_assignments -> cases (case_id));
diesel::joinable!(follow_ups -> cases (case_id));
diesel::joinable!(case_transfers -> cases (case_id));

diesel::allow_tables_to_appear_in_same_query!(
    case_assignments,
    follow_ups,
    case_transfers,
    documents,
    document_versions,
    document_chunks,
    document_orphans,
    document_uploads,
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
    cases,
    case_exploitation_types,
    case_means_of_control,
    consents,
    referrals,
    referral_events,
    notification_opt_outs,
    screenings,
    identification_decisions,
    assistance_records,
    case_notes,
    risk_assessments,
    assistance_plans,
    case_duplicates,
    anonymous_notifications,
    anonymous_notification_exploitation_types,
    idempotency_keys,
    break_glass_grants,
    audit_chain,
    audit_checkpoints,
    regions,
    duplicate_checks,
    webhook_endpoints,
    webhook_deliveries,
    api_clients,
    api_client_secrets,
    erasure_requests,
    legal_holds,
    case_group_versions,
);
