//! Crashes, on both engines: the real binary is killed with SIGKILL at random moments while a
//! writer registers cases, and restarted, several times. Every write the server acknowledged
//! must be there afterwards, readable with its personal group, with its audit event, and the
//! audit trail must verify.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::Rng as _;
use tumaini_db::models::audit;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::{TestDb, both_engines, seed};

use crate::restore::{Acknowledged, Machine, Writer, read_family_name, sign_in};

/// Kill-and-restart rounds per engine.
const ROUNDS: usize = 5;

fn acknowledged_writes_survive_kill_9(db: TestDb) {
    let started = Instant::now();
    let url = db.url_string();
    let machine = Machine::new();
    let org = seed::organisation(&db, OrganisationKind::Shelter);
    let account = seed::account_in(&db, &org, Role::CaseWorker);
    let mut rng = rand::rng();
    let mut acknowledged: Vec<Acknowledged> = Vec::new();
    let mut cut_off = 0;
    for round in 0..ROUNDS {
        let served = machine.serve(&url, &[]);
        let token = sign_in(served.addr, &account.email);
        let writer = Writer::start(served.addr, token, format!("Crash{round}x"));
        writer.wait_for(1);
        std::thread::sleep(Duration::from_millis(rng.random_range(50..700)));
        served.crash();
        let (written, refused) = writer.stop();
        acknowledged.extend(written);
        cut_off += refused;
    }

    // Every write is read back with its personal group: far past the misuse threshold, which
    // is not what this test is about.
    let served = machine.serve(&url, &[("TUMAINI_MISUSE_THRESHOLD", "1000000")]);
    let token = sign_in(served.addr, &account.email);
    let audited: BTreeSet<String> = audit::with_action(&mut db.conn(), "case.create")
        .unwrap()
        .into_iter()
        .filter(|event| event.outcome == "success")
        .filter_map(|event| event.resource_id)
        .collect();
    let mut lost = Vec::new();
    let mut unaudited = Vec::new();
    for write in &acknowledged {
        if read_family_name(served.addr, &token, &write.id).as_deref()
            != Ok(write.family_name.as_str())
        {
            lost.push(write.id.clone());
        }
        if !audited.contains(&write.id) {
            unaudited.push(write.id.clone());
        }
    }
    drop(served.stop());
    let verified = machine.run_ok(&url, &["audit", "verify"]);
    eprintln!(
        "crash test ({}): {ROUNDS} rounds of kill -9; {} writes acknowledged, {} lost, {} without \
         their audit event, {cut_off} requests cut off or refused; {:.1} s",
        db.engine(),
        acknowledged.len(),
        lost.len(),
        unaudited.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(acknowledged.len() >= ROUNDS);
    assert_eq!(lost, Vec::<String>::new(), "acknowledged writes lost");
    assert_eq!(
        unaudited,
        Vec::<String>::new(),
        "writes without their audit event"
    );
    assert!(verified.contains("intact"), "{verified}");
}

both_engines!(acknowledged_writes_survive_kill_9);
