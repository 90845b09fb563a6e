//! The `tumaini` binary's command line, run as a process. (This file also makes
//! `cargo test --workspace` build the binary that the end-to-end tests start.)

#![expect(
    clippy::expect_used,
    reason = "a test that cannot run the binary must stop loudly"
)]

use std::process::Command;

fn tumaini(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tumaini"))
        .args(args)
        .output()
        .expect("run tumaini")
}

#[test]
fn help_names_every_command() {
    let output = tumaini(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["serve", "migrate", "openapi", "admin"] {
        assert!(help.contains(command), "--help lacks {command}:\n{help}");
    }
    let admin = tumaini(&["admin", "--help"]);
    let help = String::from_utf8_lossy(&admin.stdout);
    assert!(
        help.contains("create-org") && help.contains("create-user"),
        "{help}"
    );
}

#[test]
fn openapi_prints_a_3_1_document() {
    let output = tumaini(&["openapi"]);
    assert!(output.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/readyz"].is_object());
}

#[test]
fn unknown_vocabulary_codes_are_refused_with_the_choices() {
    let output = tumaini(&[
        "admin",
        "create-org",
        "--name",
        "X",
        "--kind",
        "ministry",
        "--country",
        "UG",
        "--region",
        "Central",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("coordination_office"), "{stderr}");
}
