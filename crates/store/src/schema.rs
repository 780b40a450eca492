//! The tables as diesel sees them, kept by hand in step with `migrations/` (diesel_cli is not
//! installed here); `tests/schema.rs` checks every column against the migrated database on both
//! backends, so a drift fails the build's tests rather than a query at run time.

diesel::table! {
    organisations (id) {
        id -> BigInt,
        kind -> Text,
        name -> Text,
        istat_code -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    union_members (union_id, municipality_id) {
        union_id -> BigInt,
        municipality_id -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        disabled_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_roles (user_id, organisation_id, role) {
        user_id -> BigInt,
        organisation_id -> BigInt,
        role -> Text,
    }
}

diesel::table! {
    services (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        code -> Text,
        name -> Text,
    }
}

diesel::table! {
    calls (id) {
        id -> BigInt,
        service_id -> BigInt,
        school_year -> Text,
        opens_at -> BigInt,
        closes_at -> BigInt,
        status -> Text,
        rules_toml -> Text,
        rules_hash -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    late_batches (call_id, batch) {
        call_id -> BigInt,
        batch -> Integer,
        closes_at -> BigInt,
    }
}

diesel::table! {
    facilities (id) {
        id -> BigInt,
        call_id -> BigInt,
        code -> Text,
        name -> Text,
    }
}

diesel::table! {
    facility_seats (facility_id, section, time_slot) {
        facility_id -> BigInt,
        section -> Text,
        time_slot -> Text,
        seats -> BigInt,
    }
}

diesel::table! {
    protocol_counters (organisation_id, year) {
        organisation_id -> BigInt,
        year -> Integer,
        last_number -> BigInt,
    }
}

diesel::table! {
    applications (id) {
        id -> BigInt,
        call_id -> BigInt,
        organisation_id -> BigInt,
        protocol_year -> Integer,
        protocol_number -> BigInt,
        batch -> Integer,
        status -> Text,
        current_version -> Integer,
        family -> Nullable<Text>,
        submitted_at -> BigInt,
        owner_cf -> Nullable<Text>,
        municipality_id -> Nullable<BigInt>,
        contact_email -> Nullable<Text>,
    }
}

diesel::table! {
    protocol_entries (organisation_id, year, number) {
        organisation_id -> BigInt,
        year -> Integer,
        number -> BigInt,
        registered_at -> BigInt,
        subject -> Text,
        application_id -> Nullable<BigInt>,
        annulled_at -> Nullable<BigInt>,
        annulled_by -> Nullable<BigInt>,
        annulled_reason -> Nullable<Text>,
    }
}

diesel::table! {
    application_versions (application_id, version) {
        application_id -> BigInt,
        version -> Integer,
        answers -> Text,
        preferences -> Text,
        saved_at -> BigInt,
        saved_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    application_events (id) {
        id -> BigInt,
        application_id -> BigInt,
        status -> Text,
        at -> BigInt,
        by_user -> Nullable<BigInt>,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    ranking_runs (id) {
        id -> BigInt,
        call_id -> BigInt,
        round -> Integer,
        inputs_hash -> Text,
        rules_hash -> Text,
        seed -> Text,
        engine_version -> Text,
        triggered_by -> Nullable<BigInt>,
        status -> Text,
        manifest -> Text,
        created_at -> BigInt,
        published_at -> Nullable<BigInt>,
        kind -> Text,
        objections_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    ranking_results (run_id, application_id, list) {
        run_id -> BigInt,
        application_id -> BigInt,
        list -> Text,
        position -> BigInt,
        points_scaled -> BigInt,
        points_scale -> Integer,
        tier -> Text,
        outcome -> Text,
        facility_code -> Nullable<Text>,
    }
}

diesel::table! {
    objections (id) {
        id -> BigInt,
        run_id -> BigInt,
        application_id -> BigInt,
        filed_at -> BigInt,
        body -> Text,
        status -> Text,
        decided_at -> Nullable<BigInt>,
        decided_by -> Nullable<BigInt>,
        decision -> Nullable<Text>,
    }
}

diesel::table! {
    offers (id) {
        id -> BigInt,
        run_id -> BigInt,
        application_id -> BigInt,
        facility_code -> Text,
        section -> Text,
        time_slot -> Text,
        offered_at -> BigInt,
        expires_at -> BigInt,
        answer -> Nullable<Text>,
        answered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        subject -> Text,
        detail -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        created_at -> BigInt,
        kind -> Text,
        recipient -> Text,
        payload -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        sent_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    drafts (id) {
        id -> BigInt,
        call_id -> BigInt,
        owner_cf -> Text,
        municipality_id -> Nullable<BigInt>,
        answers -> Text,
        preferences -> Text,
        family -> Nullable<Text>,
        contact_email -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        submitted_as -> Nullable<BigInt>,
    }
}

diesel::table! {
    idempotency_keys (owner, key) {
        owner -> Text,
        key -> Text,
        request_sha256 -> Text,
        application_id -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    sessions (token_sha256) {
        token_sha256 -> Text,
        user_id -> Nullable<BigInt>,
        family_cf -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(union_members -> organisations (union_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(services -> organisations (organisation_id));
diesel::joinable!(calls -> services (service_id));
diesel::joinable!(facilities -> calls (call_id));
diesel::joinable!(facility_seats -> facilities (facility_id));
diesel::joinable!(applications -> calls (call_id));
diesel::joinable!(application_versions -> applications (application_id));
diesel::joinable!(application_events -> applications (application_id));
diesel::joinable!(ranking_results -> ranking_runs (run_id));
diesel::joinable!(ranking_runs -> calls (call_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    union_members,
    users,
    user_roles,
    services,
    calls,
    late_batches,
    facilities,
    facility_seats,
    protocol_counters,
    applications,
    protocol_entries,
    application_versions,
    application_events,
    ranking_runs,
    ranking_results,
    objections,
    offers,
    audit_log,
    outbox,
    drafts,
    idempotency_keys,
    sessions,
);
