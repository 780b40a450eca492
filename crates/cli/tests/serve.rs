//! `graduatorie serve` as an operator starts it: from a fresh folder, with settings from the files,
//! the environment and the flags; stopped by SIGTERM.
#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

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

/// Reads the child's standard output up to the "listening" line; returns the base URL and the lines.
fn until_listening(child: &mut std::process::Child) -> (String, Vec<String>) {
    let mut lines = Vec::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            unreachable!("the server stopped before listening: {lines:?}");
        }
        if let Some(base) = line.trim().strip_prefix("graduatorie listening on ") {
            return (base.to_owned(), lines);
        }
        lines.push(line.trim_end().to_owned());
    }
}

fn stop(child: std::process::Child) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn demo_mode_loads_once_and_the_readme_commands_work() {
    let dir = temp_dir("demo");
    let start = || {
        serve(
            &dir,
            &["--demo", "--bind", "127.0.0.1:0"],
            &[("GRADUATORIE__LOG__FORMAT", "json")],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let mut child = start();
    let (base, printed) = until_listening(&mut child);
    let printed = printed.join("\n");
    for login in [
        "sportello.bastiglia",
        "sportello.bomporto",
        "sportello.ravarino",
        "responsabile",
        "revisore",
        "amministratore",
    ] {
        assert!(printed.contains(login), "{printed}");
    }
    assert!(printed.contains("demo-graduatorie"), "{printed}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    // The README's three commands: log in, read the form, submit.
    let mut r = agent
        .post(format!("{base}/api/v1/auth/dev-login"))
        .header("Content-Type", "application/json")
        .send(r#"{"codice_fiscale": "RSSMRA80A01H501U"}"#)
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-graduatorie-dev-login").is_some());
    let token = r.body_mut().read_json::<serde_json::Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut r = agent.get(format!("{base}/api/v1/calls/1/form")).call().unwrap();
    assert_eq!(r.status(), 200);
    let form: serde_json::Value = r.body_mut().read_json().unwrap();
    assert_eq!(form["facilities"].as_array().unwrap().len(), 4);
    assert_eq!(form["municipalities"].as_array().unwrap().len(), 3);
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/application.json"
    ))
    .unwrap();
    let mut r = agent
        .post(format!("{base}/api/v1/calls/1/applications"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", "prima-domanda")
        .send(&body[..])
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status(), 201, "{text}");
    // 300 synthetic applications came first.
    assert!(text.contains("/000301\""), "{text}");
    let mut r = agent.get(format!("{base}/api/v1/calls")).call().unwrap();
    let calls = r.body_mut().read_to_string().unwrap();
    assert!(
        calls.contains("\"nidi\"") && calls.contains("\"buoni-0-3\""),
        "{calls}"
    );
    let log = stop(child);
    assert!(log.contains("demo data loaded"), "{log}");
    assert!(log.contains("DEVELOPMENT LOGIN ENABLED"), "{log}");
    // The access log names the family by a pseudonym, never by its codice fiscale.
    let submit_line = log
        .lines()
        .find(|l| l.contains("\"route\":\"/api/v1/calls/{call}/applications\""))
        .unwrap_or_else(|| unreachable!("{log}"));
    assert!(submit_line.contains("\"actor\":\"f-"), "{submit_line}");
    assert!(!log.contains("RSSMRA80A01H501U"), "{log}");

    // A second start finds the data and loads nothing.
    let mut child = start();
    let (base, _) = until_listening(&mut child);
    let mut r = agent.get(format!("{base}/api/v1/calls")).call().unwrap();
    let listed: serde_json::Value = r.body_mut().read_json().unwrap();
    assert_eq!(listed["calls"].as_array().unwrap().len(), 2, "{listed}");
    let log = stop(child);
    assert!(log.contains("demo data already present"), "{log}");
}
