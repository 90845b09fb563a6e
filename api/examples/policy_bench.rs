//! Benchmark: the cost of one authorization decision, entity construction and request
//! validation included, on a case with a realistic amount of facts.
//!
//! ```sh
//! cargo run --release -p tumaini-api --example policy_bench -- 200000
//! ```

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::time::Instant;

use tumaini_api::authz::{
    AccessContext, Action, Authorizer, CaseFacts, FieldGroup, OrganisationFacts, PrincipalFacts,
    Resource,
};
use tumaini_db::vocabulary::{OrganisationKind, Role};

fn org(id: &str, kind: OrganisationKind) -> OrganisationFacts {
    OrganisationFacts {
        id: id.into(),
        kind,
        country: "UG".into(),
        active: true,
        need_to_know: false,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let started = Instant::now();
    let authorizer = Authorizer::embedded()?;
    println!(
        "load and strictly validate {} policies: {:.1} ms",
        authorizer.policy_ids().len(),
        started.elapsed().as_secs_f64() * 1e3
    );

    let shelter = org(
        "019a0000-0000-7000-8000-000000000001",
        OrganisationKind::Shelter,
    );
    let health = org(
        "019a0000-0000-7000-8000-000000000002",
        OrganisationKind::Health,
    );
    let legal = org(
        "019a0000-0000-7000-8000-000000000003",
        OrganisationKind::LegalAid,
    );
    let principal = PrincipalFacts {
        user_id: "019a0000-0000-7000-8000-0000000000aa".into(),
        role: Role::CaseWorker,
        organisation: health.clone(),
        mfa: false,
    };
    let case = CaseFacts {
        id: "019a0000-0000-7000-8000-0000000000cc".into(),
        owner: shelter,
        created_by: "019a0000-0000-7000-8000-0000000000bb".into(),
        created_at: 1_795_000_000,
        child: false,
        identification_stage: "reasonable_grounds_positive".into(),
        status: "active".into(),
        referred_into_nrm: true,
        referral_access: vec![
            (
                health,
                vec![FieldGroup::Identity, FieldGroup::Health, FieldGroup::Notes],
            ),
            (legal, vec![FieldGroup::Identity, FieldGroup::Legal]),
        ],
        consent: FieldGroup::ALL
            .iter()
            .flat_map(|g| {
                [
                    (*g, "health".to_owned()),
                    (*g, "legal_aid".to_owned()),
                    (*g, "shelter".to_owned()),
                ]
            })
            .collect(),
        erased: false,
        restricted: false,
        assigned: vec![],
        owner_groups: FieldGroup::ALL.to_vec(),
        former_owners: vec![],
    };
    let actions = [
        Action::ReadSummary,
        Action::ReadIdentity,
        Action::ReadHealth,
        Action::ReadContact,
        Action::RecordAssistance,
    ];
    let context = AccessContext::now("assistance");
    let mut latencies = Vec::with_capacity(n);
    let mut allowed = 0usize;
    let run = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        let decision = authorizer.decide(
            &principal,
            actions[i % actions.len()],
            &Resource::Case(&case),
            &context,
        );
        latencies.push(t.elapsed().as_secs_f64() * 1e6);
        allowed += usize::from(decision.allowed);
    }
    let total = run.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((p / 100.0) * (latencies.len() - 1) as f64) as usize];
    println!(
        "{n} decisions on one core in {total:.2} s: {:.0} decisions/s ({allowed} allowed)",
        n as f64 / total
    );
    println!(
        "latency µs: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        pct(50.0),
        pct(90.0),
        pct(99.0),
        latencies[latencies.len() - 1]
    );
    Ok(())
}
