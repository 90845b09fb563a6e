//! The object-level matrix extended to documents (OWASP API1): staff of every role, in the
//! owning organisation, a referral's receiver, other organisations and another country, try
//! every document of every personal group of several cases (with and without an accepted
//! referral, with and without the person's consent for that group and kind of reader, in and
//! out of the NRM, with break-glass open on some groups). A document is visible (listed,
//! downloaded, any version) exactly when the policies let the caller read its group: that is
//! computed twice, by the rules stated plainly here ([`reads`], like `matrix.rs`'s
//! `case_allowed`) and by the server's own decision on the group (a case read asking for every
//! group), and both must agree with each other and with what the document endpoints answer.
//! Uploads and deletions by whoever may not read the group (or update the case) are refused
//! and change nothing.

use diesel::prelude::*;
use serde_json::json;
use sha2::Digest as _;
use tumaini_db::ids::{OrgId, UserId};
use tumaini_db::schema::documents;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed;
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::token;
use crate::documents::{Content, Http, content_path, documents_path, listed_ids, stored_rows};

const GROUPS: [&str; 6] = [
    "identity",
    "contact",
    "exploitation",
    "health",
    "legal",
    "notes",
];

struct Actor {
    name: String,
    role: Role,
    user: UserId,
    organisation: OrgId,
    kind: OrganisationKind,
    country: &'static str,
    token: String,
}

impl Actor {
    fn law_enforcement(&self) -> bool {
        self.kind.is_law_enforcement()
    }
}

/// A case as the rules see it.
struct Fixture {
    name: &'static str,
    id: String,
    owner: OrgId,
    country: &'static str,
    created_by: UserId,
    in_nrm: bool,
    /// Groups the consent in force covers, by kind of reader (`recipients` codes): a consent
    /// that shares (its purposes include referral, identification or investigation).
    consent: Vec<(&'static str, &'static str)>,
    /// Accepted referrals: the receiving organisation and the groups shared.
    referrals: Vec<(OrgId, Vec<&'static str>)>,
    /// Break-glass open: (user, groups).
    break_glass: Vec<(UserId, Vec<&'static str>)>,
    /// Its documents: (id, group, versions, the current version's SHA-256).
    documents: Vec<(String, &'static str, i64, [u8; 32])>,
}

/// Whether the summary of the case is visible to the actor (`case.*` summary policies).
fn sees_case(a: &Actor, c: &Fixture) -> bool {
    if a.role == Role::Admin {
        return false;
    }
    if matches!(a.role, Role::Coordinator | Role::CompetentAuthority) && a.country != c.country {
        return false;
    }
    let staff = matches!(a.role, Role::CaseWorker | Role::Supervisor);
    let party =
        a.organisation == c.owner || c.referrals.iter().any(|(org, _)| *org == a.organisation);
    (staff && party)
        || (a.role == Role::FirstResponder && a.user == c.created_by)
        || a.role == Role::Coordinator
        || (a.role == Role::CompetentAuthority && c.in_nrm)
}

/// Whether the policies let the actor read `group` of the case, stated plainly.
fn reads(a: &Actor, c: &Fixture, group: &str) -> bool {
    if a.role == Role::Admin {
        return false; // guard.admin-never-touches-cases
    }
    if matches!(a.role, Role::Coordinator | Role::CompetentAuthority) && a.country != c.country {
        return false; // guard.jurisdiction-cases
    }
    let consented = |kind: &str| c.consent.iter().any(|(g, k)| *g == group && *k == kind);
    if a.law_enforcement() && !consented("law_enforcement") {
        return false; // guard.law-enforcement-needs-consent
    }
    if a.country != c.country && !consented("abroad") {
        return false; // guard.abroad-needs-consent
    }
    let staff = matches!(a.role, Role::CaseWorker | Role::Supervisor);
    let holder = c.referrals.iter().any(|(org, _)| *org == a.organisation);
    let break_glass = c
        .break_glass
        .iter()
        .any(|(user, groups)| *user == a.user && groups.contains(&group));
    (staff && a.organisation == c.owner)
        || (a.role == Role::FirstResponder && a.user == c.created_by)
        || (staff
            && c.referrals
                .iter()
                .any(|(org, groups)| *org == a.organisation && groups.contains(&group))
            && consented(a.kind.code()))
        || (a.role == Role::CompetentAuthority
            && c.in_nrm
            && ["identity", "exploitation", "legal"].contains(&group))
        || (break_glass && a.role == Role::Coordinator)
        || (break_glass && a.role == Role::Supervisor && (a.organisation == c.owner || holder))
}

/// Whether the actor may change the case (`UpdateCase`): the owner's staff, its first
/// responder.
fn updates(a: &Actor, c: &Fixture) -> bool {
    (matches!(a.role, Role::CaseWorker | Role::Supervisor) && a.organisation == c.owner)
        || (a.role == Role::FirstResponder && a.user == c.created_by)
}

fn matrix_person(family_name: &str, region: &str) -> serde_json::Value {
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "citizenship": "UG", "region": region,
            "encountered_on": "2026-11-10"
        },
        "groups": {
            "identity": {"given_names": "Apio", "family_name": family_name},
            "exploitation": {"narrative": "matrix narrative"}
        }
    })
}

fn no_role_reaches_documents_the_rules_deny(db: TestDb) {
    let server = TestServer::start(&db);
    let http = Http::of(&server);
    let org = |kind, country| seed::organisation_in(&db, kind, country);
    let shelter = org(OrganisationKind::Shelter, "UG");
    let other_shelter = org(OrganisationKind::Shelter, "UG");
    let clinic = org(OrganisationKind::Health, "UG");
    let police = org(OrganisationKind::Police, "UG");
    let office = org(OrganisationKind::CoordinationOffice, "UG");
    let authority = org(OrganisationKind::CompetentAuthority, "UG");
    let ke_shelter = org(OrganisationKind::Shelter, "KE");
    let ke_office = org(OrganisationKind::CoordinationOffice, "KE");
    let mut actors: Vec<Actor> = Vec::new();
    for (name, role, org, kind, country) in [
        (
            "case worker of the owner",
            Role::CaseWorker,
            &shelter,
            OrganisationKind::Shelter,
            "UG",
        ),
        (
            "supervisor of the owner",
            Role::Supervisor,
            &shelter,
            OrganisationKind::Shelter,
            "UG",
        ),
        (
            "case worker elsewhere",
            Role::CaseWorker,
            &other_shelter,
            OrganisationKind::Shelter,
            "UG",
        ),
        (
            "supervisor elsewhere",
            Role::Supervisor,
            &other_shelter,
            OrganisationKind::Shelter,
            "UG",
        ),
        (
            "clinic case worker (referral)",
            Role::CaseWorker,
            &clinic,
            OrganisationKind::Health,
            "UG",
        ),
        (
            "clinic supervisor (referral, break-glass on legal)",
            Role::Supervisor,
            &clinic,
            OrganisationKind::Health,
            "UG",
        ),
        (
            "clinic first responder",
            Role::FirstResponder,
            &clinic,
            OrganisationKind::Health,
            "UG",
        ),
        (
            "police responder (registers P)",
            Role::FirstResponder,
            &police,
            OrganisationKind::Police,
            "UG",
        ),
        (
            "another police responder",
            Role::FirstResponder,
            &police,
            OrganisationKind::Police,
            "UG",
        ),
        (
            "police supervisor",
            Role::Supervisor,
            &police,
            OrganisationKind::Police,
            "UG",
        ),
        (
            "coordinator (break-glass on A's contact and notes)",
            Role::Coordinator,
            &office,
            OrganisationKind::CoordinationOffice,
            "UG",
        ),
        (
            "coordinator",
            Role::Coordinator,
            &office,
            OrganisationKind::CoordinationOffice,
            "UG",
        ),
        (
            "administrator",
            Role::Admin,
            &office,
            OrganisationKind::CoordinationOffice,
            "UG",
        ),
        (
            "competent authority",
            Role::CompetentAuthority,
            &authority,
            OrganisationKind::CompetentAuthority,
            "UG",
        ),
        (
            "Kenyan case worker (owns K)",
            Role::CaseWorker,
            &ke_shelter,
            OrganisationKind::Shelter,
            "KE",
        ),
        (
            "Kenyan supervisor",
            Role::Supervisor,
            &ke_shelter,
            OrganisationKind::Shelter,
            "KE",
        ),
        (
            "Kenyan coordinator",
            Role::Coordinator,
            &ke_office,
            OrganisationKind::CoordinationOffice,
            "KE",
        ),
    ] {
        let account = seed::account_in(&db, org, role);
        actors.push(Actor {
            name: name.to_owned(),
            role,
            user: account.id.clone(),
            organisation: org.clone(),
            kind,
            country,
            token: token(&server, &account.email).0,
        });
    }
    let by = |name: &str| actors.iter().find(|a| a.name.starts_with(name)).unwrap();
    let owner = by("case worker of the owner").token.clone();
    let post_ok = |token: &str, path: String, body: serde_json::Value, status: u16| {
        let answer = server.post(Some(token), &path, &body);
        assert_eq!(answer.status, status, "{path}: {}", answer.text());
        answer.json()
    };
    let register = |token: &str, family: &str, region: &str| -> String {
        post_ok(
            token,
            "/api/v1/cases".into(),
            matrix_person(family, region),
            201,
        )["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // A: the shelter's, in the NRM, referred to the clinic (identity and health shared); the
    // consent in force (version 2) covers identity, exploitation, legal and notes for
    // shelters, clinics and the competent authority: health is shared but no longer consented.
    let a = register(&owner, "Akena", "UG-202");
    let every_group = json!(GROUPS);
    post_ok(
        &owner,
        format!("/api/v1/cases/{a}/consents"),
        json!({
            "given_by": "person", "method": "written",
            "purposes": ["assistance", "referral", "identification"],
            "groups": every_group, "recipients": ["shelter", "health", "competent_authority"]
        }),
        201,
    );
    post_ok(
        &owner,
        format!("/api/v1/cases/{a}/screenings"),
        json!({"indicators": [], "judgement": {"presumed": true, "reason": "matrix"}}),
        201,
    );
    post_ok(
        &owner,
        format!("/api/v1/cases/{a}/nrm-referral"),
        json!({}),
        200,
    );
    let referral = post_ok(
        &owner,
        format!("/api/v1/cases/{a}/referrals"),
        json!({
            "to_organisation_id": clinic.as_str(), "services": ["health"],
            "groups": ["identity", "health"], "urgency": "normal", "reason": "matrix"
        }),
        201,
    );
    let clinic_worker = by("clinic case worker").token.clone();
    post_ok(
        &clinic_worker,
        format!(
            "/api/v1/referrals/{}/accept",
            referral["id"].as_str().unwrap()
        ),
        json!({}),
        200,
    );
    let consent_v2 = post_ok(
        &owner,
        format!("/api/v1/cases/{a}/consents"),
        json!({
            "given_by": "person", "method": "written",
            "purposes": ["assistance", "referral", "identification"],
            "groups": ["identity", "exploitation", "legal", "notes"],
            "recipients": ["shelter", "health", "competent_authority"]
        }),
        201,
    );
    let why = "matrix: she is missing and the police need a reachable contact tonight";
    for (actor, groups) in [
        ("coordinator (break-glass", json!(["contact", "notes"])),
        ("clinic supervisor", json!(["legal"])),
    ] {
        post_ok(
            &by(actor).token,
            format!("/api/v1/cases/{a}/break-glass"),
            json!({"groups": groups, "justification": why, "minutes": 30}),
            201,
        );
    }

    // B: the shelter's, nothing else. P: registered by a police responder, with consent to
    // share identity and exploitation with law enforcement. K: a Kenyan shelter's.
    let b = register(&owner, "Okello", "UG-202");
    let responder = by("police responder").token.clone();
    let p = register(&responder, "Barasa", "UG-202");
    post_ok(
        &responder,
        format!("/api/v1/cases/{p}/consents"),
        json!({
            "given_by": "person", "method": "written",
            "purposes": ["assistance", "investigation"],
            "groups": ["identity", "exploitation"], "recipients": ["law_enforcement"]
        }),
        201,
    );
    let kenyan = by("Kenyan case worker").token.clone();
    let k = register(&kenyan, "Wanjiku", "KE-17");

    let consent_a: Vec<(&str, &str)> = ["identity", "exploitation", "legal", "notes"]
        .iter()
        .flat_map(|g| {
            ["shelter", "health", "competent_authority"]
                .iter()
                .map(move |k| (*g, *k))
        })
        .collect();
    let mut fixtures = vec![
        Fixture {
            name: "A (shelter, NRM, referral, break-glass)",
            id: a.clone(),
            owner: shelter.clone(),
            country: "UG",
            created_by: by("case worker of the owner").user.clone(),
            in_nrm: true,
            consent: consent_a,
            referrals: vec![(clinic.clone(), vec!["identity", "health"])],
            break_glass: vec![
                (
                    by("coordinator (break-glass").user.clone(),
                    vec!["contact", "notes"],
                ),
                (by("clinic supervisor").user.clone(), vec!["legal"]),
            ],
            documents: Vec::new(),
        },
        Fixture {
            name: "B (shelter)",
            id: b.clone(),
            owner: shelter.clone(),
            country: "UG",
            created_by: by("case worker of the owner").user.clone(),
            in_nrm: false,
            consent: Vec::new(),
            referrals: Vec::new(),
            break_glass: Vec::new(),
            documents: Vec::new(),
        },
        Fixture {
            name: "P (police registration)",
            id: p.clone(),
            owner: police.clone(),
            country: "UG",
            created_by: by("police responder").user.clone(),
            in_nrm: false,
            consent: vec![
                ("identity", "law_enforcement"),
                ("exploitation", "law_enforcement"),
            ],
            referrals: Vec::new(),
            break_glass: Vec::new(),
            documents: Vec::new(),
        },
        Fixture {
            name: "K (Kenyan shelter)",
            id: k.clone(),
            owner: ke_shelter.clone(),
            country: "KE",
            created_by: by("Kenyan case worker").user.clone(),
            in_nrm: false,
            consent: Vec::new(),
            referrals: Vec::new(),
            break_glass: Vec::new(),
            documents: Vec::new(),
        },
    ];

    // Documents: one per group where someone may upload it (every group but on P, where only
    // the consented ones can be), and a second version of A's health document; a consent form.
    for fixture in &mut fixtures {
        let uploader = if fixture.id == p {
            &responder
        } else if fixture.id == k {
            &kenyan
        } else {
            &owner
        };
        for group in GROUPS {
            if fixture.id == p && !["identity", "exploitation"].contains(&group) {
                continue;
            }
            let text = format!("{} {group} document", fixture.name).into_bytes();
            let doc = http.text_document(uploader, &fixture.id, group, &text);
            let id = doc["id"].as_str().unwrap().to_owned();
            let mut versions = 1;
            let mut hash = sha2::Sha256::digest(&text).into();
            if fixture.id == a && group == "health" {
                let newer = format!("{} {group} document, version 2", fixture.name).into_bytes();
                let answer = http.post_file(
                    uploader,
                    &documents_path(&a, &format!("/{id}/versions")),
                    "text/plain",
                    Some("note.txt"),
                    None,
                    Content::Bytes(newer.clone()),
                );
                assert_eq!(answer.status, 201, "{}", answer.text());
                versions = 2;
                hash = sha2::Sha256::digest(&newer).into();
            }
            fixture.documents.push((id, group, versions, hash));
        }
    }
    let form_text = b"consent form, thumb-printed".to_vec();
    let form = http.upload(
        &owner,
        &a,
        &format!(
            "kind=consent_form&consent={}",
            consent_v2["id"].as_str().unwrap()
        ),
        "text/plain",
        Some("consent.txt"),
        Content::Bytes(form_text.clone()),
    );
    assert_eq!(form.status, 201, "{}", form.text());
    fixtures[0].documents.push((
        form.json()["id"].as_str().unwrap().to_owned(),
        "identity",
        1,
        sha2::Sha256::digest(&form_text).into(),
    ));

    let missing_type = http
        .download(
            &owner,
            &content_path(&a, &uuid::Uuid::now_v7().to_string(), None),
        )
        .json()["type"]
        .clone();
    let (mut cells, mut granted, mut refused) = (0usize, 0usize, 0usize);
    let mut unexpected_grants: Vec<String> = Vec::new();
    let mut unexpected_refusals: Vec<String> = Vec::new();
    let mut oracle: Vec<String> = Vec::new();
    let mut visible: Vec<String> = Vec::new();
    for actor in &actors {
        let mut seen = 0;
        for c in &fixtures {
            seen += c
                .documents
                .iter()
                .filter(|(_, group, _, _)| reads(actor, c, group))
                .count();
        }
        visible.push(format!("{}: {seen}", actor.name));
        for c in &fixtures {
            // The server's own decision on each group: a case read asking for all of them.
            let read = server.get_as(
                &actor.token,
                &format!(
                    "/api/v1/cases/{}?groups={}&purpose=assistance",
                    c.id,
                    GROUPS.join(",")
                ),
            );
            let server_reads: Vec<&str> = if read.status == 200 {
                let withheld = read.json()["withheld_groups"].clone();
                GROUPS
                    .iter()
                    .copied()
                    .filter(|g| {
                        !withheld
                            .as_array()
                            .is_some_and(|w| w.iter().any(|x| x == *g))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            for group in GROUPS {
                if reads(actor, c, group) != server_reads.contains(&group) {
                    oracle.push(format!(
                        "{} reading {group} of {}: the rules say {}, the case read {} ({})",
                        actor.name,
                        c.name,
                        reads(actor, c, group),
                        server_reads.contains(&group),
                        read.status
                    ));
                }
            }

            // The list: exactly the documents of the groups the actor reads.
            let list = server.get_as(&actor.token, &documents_path(&c.id, ""));
            let listed = listed_ids(&list);
            let case_visible = sees_case(actor, c);
            cells += 1;
            if !case_visible {
                if list.status == 404 {
                    refused += 1;
                } else {
                    unexpected_grants.push(format!(
                        "LIST {} on {}: {} (want 404)",
                        actor.name, c.name, list.status
                    ));
                }
            } else if list.status != 200 {
                unexpected_refusals.push(format!(
                    "LIST {} on {}: {} {}",
                    actor.name,
                    c.name,
                    list.status,
                    list.text()
                ));
            }
            for (id, group, versions, hash) in &c.documents {
                let allow = reads(actor, c, group);
                cells += 1;
                match (allow, listed.contains(id)) {
                    (true, false) if list.status == 200 => unexpected_refusals.push(format!(
                        "LIST {} on {}: its {group} document missing",
                        actor.name, c.name
                    )),
                    (false, true) => unexpected_grants.push(format!(
                        "LIST {} on {}: its {group} document listed",
                        actor.name, c.name
                    )),
                    _ => {}
                }
                // Every version's content.
                let mut paths = vec![content_path(&c.id, id, None)];
                for v in 1..=*versions {
                    paths.push(content_path(&c.id, id, Some(v)));
                }
                for path in paths {
                    cells += 1;
                    let fetched = http.download(&actor.token, &path);
                    if allow {
                        granted += 1;
                        let current = !path.contains("version=")
                            || path.ends_with(&format!("version={versions}"));
                        if fetched.status != 200 || (current && fetched.sha256 != *hash) {
                            unexpected_refusals.push(format!(
                                "GET {} on {}'s {group} document ({path}): {}",
                                actor.name, c.name, fetched.status
                            ));
                        }
                    } else if fetched.status == 404 && fetched.json()["type"] == missing_type {
                        refused += 1;
                    } else {
                        unexpected_grants.push(format!(
                            "GET {} on {}'s {group} document ({path}): {} (want 404 as for no \
                             document)",
                            actor.name, c.name, fetched.status
                        ));
                    }
                }
            }
        }
    }

    // Uploads and deletions by whoever may not: refused, and nothing changes.
    let deleted_count = || -> i64 {
        documents::table
            .filter(documents::deleted_at.is_not_null())
            .count()
            .get_result(&mut db.conn())
            .unwrap()
    };
    let (mut upload_refused, mut delete_refused) = (0usize, 0usize);
    for actor in &actors {
        for c in &fixtures {
            for group in GROUPS {
                if updates(actor, c) && reads(actor, c, group) {
                    continue; // allowed: the other tests upload
                }
                cells += 1;
                let before = stored_rows(&db);
                let answer = http.upload(
                    &actor.token,
                    &c.id,
                    &format!("kind=other&group={group}"),
                    "text/plain",
                    Some("x.txt"),
                    Content::Bytes(b"matrix upload".to_vec()),
                );
                let want_404 = !sees_case(actor, c);
                let ok = if want_404 {
                    answer.status == 404
                } else {
                    matches!(answer.status, 403 | 404)
                };
                if ok && stored_rows(&db) == before {
                    refused += 1;
                    upload_refused += 1;
                } else {
                    unexpected_grants.push(format!(
                        "UPLOAD {} to {}'s {group}: {} (stored: {:?} -> {:?})",
                        actor.name,
                        c.name,
                        answer.status,
                        before,
                        stored_rows(&db)
                    ));
                }
            }
            for (id, group, _, _) in &c.documents {
                if reads(actor, c, group) {
                    continue;
                }
                cells += 1;
                let before = deleted_count();
                let answer = server.call(
                    "DELETE",
                    &actor.token,
                    &documents_path(&c.id, &format!("/{id}")),
                    None,
                );
                if matches!(answer.status, 403 | 404) && deleted_count() == before {
                    refused += 1;
                    delete_refused += 1;
                } else {
                    unexpected_grants.push(format!(
                        "DELETE {} on {}'s {group} document: {}",
                        actor.name, c.name, answer.status
                    ));
                }
            }
        }
    }
    let denied_events = tumaini_db::models::audit::with_action(&mut db.conn(), "document.download")
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome == "denied")
        .count();
    let documents_total: usize = fixtures.iter().map(|f| f.documents.len()).sum();
    println!(
        "document object-level matrix ({}): {} actors x {} cases ({documents_total} documents); \
         {cells} cells, {granted} allowed downloads exercised, {refused} refused as expected \
         ({upload_refused} uploads, {delete_refused} deletions); {denied_events} denied \
         downloads audited; {} unexpected grants, {} unexpected refusals, {} disagreements \
         between the rules and the case read",
        db.engine(),
        actors.len(),
        fixtures.len(),
        unexpected_grants.len(),
        unexpected_refusals.len(),
        oracle.len()
    );
    println!("documents each actor may read: {}", visible.join("; "));
    assert!(
        unexpected_grants.is_empty(),
        "unexpected grants:\n{}",
        unexpected_grants.join("\n")
    );
    assert!(
        unexpected_refusals.is_empty(),
        "unexpected refusals:\n{}",
        unexpected_refusals.join("\n")
    );
    assert!(oracle.is_empty(), "{}", oracle.join("\n"));
    assert!(denied_events > 0, "refused downloads are audited");
}

both_engines!(no_role_reaches_documents_the_rules_deny);
