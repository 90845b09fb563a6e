//! The README's walkthrough, run as written: the shell block between the `walkthrough:begin`
//! and `walkthrough:end` markers, with `bash`, `curl` and `python3`, against a real server.

use std::process::Command;

use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed::{self, PASSWORD};
use tumaini_tests::{TestDb, TestServer, both_engines};

fn walkthrough() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let (_, rest) = readme
        .split_once("<!-- walkthrough:begin -->")
        .expect("the README marks its walkthrough");
    let (block, _) = rest
        .split_once("<!-- walkthrough:end -->")
        .expect("the walkthrough ends");
    let block = block.trim();
    block
        .strip_prefix("```sh")
        .and_then(|b| b.strip_suffix("```"))
        .expect("one ```sh block")
        .to_owned()
}

fn the_readme_walkthrough_runs_as_written(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let output = Command::new("bash")
        .arg("-c")
        .arg(walkthrough())
        .env("TUMAINI", server.base_url())
        .env("EMAIL", &worker.email)
        .env("PASSWORD", PASSWORD)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walkthrough failed:\n{stdout}\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0], "True", "the screening presumes: {stdout}");
    assert!(
        lines[1].starts_with("C-") && lines[1].ends_with(" is presumed and active"),
        "{stdout}"
    );
    let audit =
        tumaini_db::models::audit::with_action(&mut db.conn(), "case.assistance.record").unwrap();
    assert_eq!(audit.len(), 1);
}

both_engines!(the_readme_walkthrough_runs_as_written);
