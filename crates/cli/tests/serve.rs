//! `graduatorie serve` as an operator starts it: from a fresh folder, with settings from the files,
//! the environment and the flags; stopped by SIGTERM.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("graduatorie-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn serve(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_graduatorie"));
    cmd.arg("serve")
        .args(args)
        .current_dir(dir)
        .env_remove("GRADUATORIE_DATABASE_URL")
        .env_remove("GRADUATORIE_TEST_ONLY_SKIP_DURABILITY_CHECK");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn serves_from_a_fresh_folder_and_stops_cleanly_on_sigterm() {
    let dir = temp_dir("fresh");
    let mut child = serve(
        &dir,
        &["--bind", "127.0.0.1:0"],
        &[("GRADUATORIE__LOG__FORMAT", "json")],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("graduatorie listening on ")
        .unwrap_or_else(|| {
            let _ = child.kill();
            unreachable!("unexpected first line: {line:?}")
        })
        .to_owned();
    // The embedded default: data/graduatorie.db under the working folder, migrated.
    assert!(dir.join("data/graduatorie.db").is_file());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.get(format!("{base}/status")).call().unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.body_mut()
            .read_to_string()
            .unwrap()
            .contains("\"migrations\":\"current\"")
    );
    let r = agent
        .get(format!("{base}/api/v1/RSSMRA80A01H501U"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 404);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    let log = String::from_utf8(out.stderr).unwrap();
    // JSON lines with UTC times.
    for l in log.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| unreachable!("{e}: {l}"));
        let at = v.get("timestamp").and_then(serde_json::Value::as_str).unwrap();
        assert!(at.ends_with('Z'), "{l}");
    }
    assert!(log.contains("\"message\":\"stopped\""), "{log}");
    // One line per request, by route pattern: the raw path (here a codice fiscale) is never logged.
    let requests: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v.get("message").and_then(serde_json::Value::as_str) == Some("request"))
        .collect();
    assert_eq!(requests.len(), 2, "{log}");
    let field = |i: usize, k: &str| {
        requests
            .get(i)
            .and_then(|v| v.get(k))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(field(0, "route"), "/status");
    assert_eq!(field(0, "status"), 200);
    assert_eq!(field(0, "outcome"), "ok");
    assert_eq!(field(1, "route"), "unmatched");
    assert_eq!(field(1, "outcome"), "refused");
    assert!(
        field(0, "request_id").as_str().is_some_and(|id| id.len() >= 32),
        "{log}"
    );
    assert!(!log.contains("RSSMRA80A01H501U"), "{log}");
}

#[test]
fn a_wrong_setting_stops_start_up_and_is_named() {
    let dir = temp_dir("wrong");
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 4] = [
        (&[], &[("GRADUATORIE__SERVER__BIND", "everywhere")], "server.bind"),
        (&[], &[("GRADUATORIE__DATABASE__POOL_SIZE", "lots")], "pool_size"),
        (&["--config", "missing.toml"], &[], "missing.toml"),
        (&["--database-url", "mysql://db"], &[], "database.url"),
    ];
    for (args, envs, named) in cases {
        let out = serve(&dir, args, envs).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?} {envs:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?} {envs:?}: {stderr}");
    }
    // Nothing was created by a refused start.
    assert!(!dir.join("data").exists());
}
