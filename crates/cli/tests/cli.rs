//! The `graduatorie rules …` commands as a user runs them.
#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::path::PathBuf;
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graduatorie"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

fn temp(name: &str, content: &str) -> String {
    let dir = std::env::temp_dir().join(format!("graduatorie-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn check_prints_one_line_per_valid_file() {
    let out = run(&[
        "rules",
        "check",
        "config/rules/bologna-nidi.toml",
        "config/rules/ravenna-nidi-rette.toml",
    ]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with(
        "config/rules/bologna-nidi.toml: ok — bologna-nidi-2026 (Comune di Bologna, 2026/2027)"
    ));
    assert!(lines[1].contains(", fee, rules hash "));
}

#[test]
fn check_lists_located_errors_and_fails() {
    let bad = temp(
        "bad.toml",
        "[regulation]\nid = \"x\"\ntitle = \"X\"\nservice = \"nido\"\nschool_year = \"2026/2027\"\nauthority = \"A\"\nsource = \"S\"\nreference_date = 2026-09-01\n\n[criteria.c]\nlabel = \"C\"\nwhen = \"missing_input\"\npoints = 1\n",
    );
    let out = run(&["rules", "check", "config/rules/pescia-nido.toml", &bad]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("config/rules/pescia-nido.toml: ok"));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{bad}:12:9: in c: unknown name 'missing_input'")),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 2 files have errors"));
}

#[test]
fn explain_text_and_json_agree() {
    let out = run(&[
        "rules",
        "explain",
        "config/rules/bologna-nidi.toml",
        "docs/examples/bologna-application.json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // The example: invalid parent 70% → 15, one cohabitant 5, one other child 2 → household 22;
    // employed 20 + student 20 + shifts 2 → work 42; total 64.
    assert!(stdout.contains("Totale: 64"), "{stdout}");
    assert!(stdout.contains("Genitore 1: valore 70 nella fascia da 66 a 99 → 15"));
    let out = run(&[
        "rules",
        "explain",
        "--json",
        "config/rules/bologna-nidi.toml",
        "docs/examples/bologna-application.json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["total"], "64");
    assert_eq!(json["eligibility"]["status"], "eligible");
    assert_eq!(json["section"]["id"], "piccoli");
}

#[test]
fn explain_names_each_wrong_answer() {
    let app = temp("app.json", r#"{"inputs": {"isee": "abc", "residence": "mars"}}"#);
    let out = run(&["rules", "explain", "config/rules/bologna-nidi.toml", &app]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{app}: /inputs/isee: amount must be written with digits"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("/inputs/residence: must be one of: resident, equivalent, pending, none"));
    assert!(stderr.contains("/inputs/vaccinated: required"));
    assert!(!stderr.contains("mars"), "answers are not echoed");
}

#[test]
fn explain_reports_malformed_json_with_its_position() {
    let app = temp("broken.json", "{\n  \"inputs\": {,\n}");
    let out = run(&["rules", "explain", "config/rules/bologna-nidi.toml", &app]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with(&format!("{app}:2:")));
}

#[test]
fn form_lists_the_questions() {
    let out = run(&["rules", "form", "config/rules/chivasso-nido.toml"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["regulation"], "chivasso-nido-2026");
    let household = json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "household")
        .unwrap();
    assert_eq!(household["type"], "choice");
    assert_eq!(household["options"][2]["value"], "orphan");
}

#[test]
fn flatten_hashes_to_the_rules_hash() {
    let out = run(&["rules", "flatten", "config/rules/bomporto-nidi.toml"]);
    assert!(out.status.success());
    let digest: String = Sha256::digest(&out.stdout)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let check = text(&run(&["rules", "check", "config/rules/bomporto-nidi.toml"]).stdout);
    assert!(
        check
            .trim_end()
            .ends_with(&format!("rules hash {}", &digest[..12])),
        "{check} vs {digest}"
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = run(&["rules", "check", "config/rules/nope.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read config/rules/nope.toml"));
}

#[test]
fn test_checks_worked_examples_and_reports_each_difference() {
    let out = run(&[
        "rules",
        "test",
        "config/rules/bologna-nidi.toml",
        "config/cases/bologna-nidi.json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with("5 cases checked, all as expected\n"));
    // The same case with wrong expectations: every difference is named, and the command fails.
    let cases = temp(
        "wrong.json",
        r#"{"cases": [{"name": "sbagliato", "application": {"inputs": {"residence": "resident", "vaccinated": true,
            "child_birth_date": "2025-05-10", "child_disability": false, "social_services": false,
            "family_situation": "two_parents", "parents": [{"work": "student", "severe_disability": false}],
            "disabled_siblings": 0, "invalid_cohabitants": 0, "twins": 0, "other_children_0_5": 0}},
          "expect": {"section": "medi", "points": {"parent_work": "10"}, "total": "21", "tiers": {"precedence": "none"}}}]}"#,
    );
    let out = run(&["rules", "test", "config/rules/bologna-nidi.toml", &cases]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("WRONG"), "{stdout}");
    assert!(
        stdout.contains("section: expected medi, found piccoli"),
        "{stdout}"
    );
    assert!(
        stdout.contains("points parent_work: expected 10, found 20"),
        "{stdout}"
    );
    assert!(stdout.contains("total: expected 21, found 20"), "{stdout}");
    assert!(
        !stdout.contains("tier precedence"),
        "a matching expectation is not reported: {stdout}"
    );
    assert!(text(&out.stderr).contains("1 of 1 cases differ"));
}

#[test]
fn test_refuses_a_malformed_cases_file_with_its_position() {
    let cases = temp(
        "bad-cases.json",
        "{\"cases\": [{\"name\": \"x\", \"expect\": {}, \"typo\": 1}]}",
    );
    let out = run(&["rules", "test", "config/rules/bologna-nidi.toml", &cases]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with(&format!("{cases}:1:")), "{stderr}");
    assert!(stderr.contains("unknown field `typo`"), "{stderr}");
}
