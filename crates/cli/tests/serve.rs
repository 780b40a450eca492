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
