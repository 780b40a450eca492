//! `graduatorie rank`, `verify` and `generate` as an auditor runs them, on a small call worked by hand.
#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graduatorie"))
        .args(args)
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// A fresh directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("graduatorie-rank-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().into_owned()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// `graduatorie rank` for a call with seats, writing into `out`.
fn rank_seats(rules: &str, apps: &str, facs: &str, seed: Option<&str>, out: &str) -> Output {
    let mut args = vec![
        "rank",
        "--rules",
        rules,
        "--applications",
        apps,
        "--facilities",
        facs,
        "--out",
        out,
    ];
    if let Some(seed) = seed {
        args.extend(["--seed", seed]);
    }
    run(&args)
}

const RULES: &str = r#"
[regulation]
id = "tiny"
title = "Nido di prova"
service = "nido"
school_year = "2026/2027"
authority = "Comune di Prova"
source = "Delibera n. 1"
reference_date = 2026-12-31

[inputs.resident]
type = "bool"
label = "Residente"

[inputs.single_parent]
type = "bool"
label = "Un solo genitore"
sensitive = true

[inputs.siblings]
type = "integer"
label = "Fratelli"
min = 0
max = 5

[eligibility.resident]
require = "resident"
reason = "Residenza richiesta"

[criteria.single_parent]
label = "Un solo genitore"
when = "single_parent"
points = 10

[criteria.siblings]
label = "Fratelli"
points = "2 * siblings"

[[tie_break]]
label = "Sorteggio"
by = "draw"

[allocation]
mechanism = "global_order"
refusal = "allowed"
refusals_allowed = 1
no_answer = "accept"
"#;

const APPLICATIONS: &str = "\
protocol,preferences,resident,single_parent,siblings
2026/000001,A|B,true,false,1
2026/000002,A,true,true,0
2026/000003,B|A,true,false,0
2026/000004,A|B,true,false,1
2026/000005,A,false,false,0
";

const FACILITIES: &str = "code,name,seats\nA,Nido Arcobaleno,1\nB,Nido Girasole,1\n";

fn draw(seed: &str, protocol: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update([0u8]);
    h.update(protocol.as_bytes());
    h.finalize().to_vec()
}

/// The tiny call ranked, in `dir/run1`.
fn first_round(dir: &Path) -> PathBuf {
    let rules = write(dir, "tiny.toml", RULES);
    let apps = write(dir, "apps.csv", APPLICATIONS);
    let facs = write(dir, "facs.csv", FACILITIES);
    let out = dir.join("run1");
    let o = rank_seats(
        &rules,
        &apps,
        &facs,
        Some("sorteggio-2026"),
        out.to_str().unwrap(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    out
}

#[test]
fn rank_worked_example_by_hand() {
    let dir = scratch("worked");
    let run1 = first_round(&dir);
    // Points: 000002 single parent 10; 000001 and 000004 one sibling 2 × 1 = 2 each; 000003 none, 0.
    // 000005 is not resident: excluded. 000001 and 000004 tie on 2 points: the public draw decides,
    // the smaller SHA-256(seed ‖ 0 ‖ protocol) first.
    let (first, second) = if draw("sorteggio-2026", "2026/000001") < draw("sorteggio-2026", "2026/000004") {
        ("2026/000001", "2026/000004")
    } else {
        ("2026/000004", "2026/000001")
    };
    let public = read(&run1, "public.csv");
    let expected_public = format!(
        "graduatoria,posizione,protocollo,punteggio,precedenza,esito\n\
         Graduatoria unica,1,2026/000002,10,,posto offerto: A\n\
         Graduatoria unica,2,{first},2,,posto offerto: B\n\
         Graduatoria unica,3,{second},2,,in attesa\n\
         Graduatoria unica,4,2026/000003,0,,in attesa\n\
         ,,2026/000005,,,esclusa\n"
    );
    // Serial dictatorship: 000002 takes A (its only choice); the draw's winner wants A then B: A is
    // gone, it takes B; the loser wants A, B: both gone; 000003 wants B, A: both gone.
    assert_eq!(public, expected_public);
    let allocation = read(&run1, "allocation.csv");
    let mut rows = [
        "2026/000002,,A,1,offered".to_owned(),
        format!("{first},,B,2,offered"),
    ];
    rows.sort();
    assert_eq!(
        allocation,
        format!("protocol,section,facility,choice,status\n{}\n", rows.join("\n"))
    );
    assert_eq!(
        read(&run1, "waiting.csv"),
        format!("list,position,protocol\nglobal,1,{second}\nglobal,2,2026/000003\n")
    );
    let ranking = read(&run1, "ranking.csv");
    assert!(
        ranking.starts_with(
            "list,position,protocol,section,status,total,single_parent,siblings,tie.1,reasons\n"
        )
    );
    assert!(ranking.contains("global,1,2026/000002,,admitted,10,10,0,"));
    assert!(ranking.ends_with(",,2026/000005,,excluded,,,,,Residenza richiesta\n"));
    // The draw column is the SHA-256 anyone can recompute with sha256sum.
    let hex: String = draw("sorteggio-2026", "2026/000003")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(ranking.contains(&format!("global,4,2026/000003,,admitted,0,0,0,{hex},")));
    // Nothing personal in the public list: no answers, no reasons.
    assert!(!public.contains("Residenza") && !public.contains("true"));

    // Manifest: the hash of every file, the seed, the rules hash = SHA-256 of rules.toml.
    let manifest: serde_json::Value = serde_json::from_str(&read(&run1, "manifest.json")).unwrap();
    assert_eq!(manifest["seed"], "sorteggio-2026");
    assert_eq!(manifest["round"], 1);
    for (group, name) in [
        ("inputs", "applications.csv"),
        ("inputs", "rules.toml"),
        ("outputs", "public.csv"),
    ] {
        let bytes = std::fs::read(run1.join(name)).unwrap();
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(manifest[group][name], hex.as_str(), "{name}");
    }
    assert_eq!(manifest["inputs"]["rules.toml"], manifest["regulation"]["hash"]);
    assert_eq!(read(&run1, "applications.csv"), APPLICATIONS);
}

#[test]
fn next_round_applies_answers_and_verifies() {
    let dir = scratch("round");
    let run1 = first_round(&dir);
    let winner = if draw("sorteggio-2026", "2026/000001") < draw("sorteggio-2026", "2026/000004") {
        "2026/000001"
    } else {
        "2026/000004"
    };
    let loser = if winner == "2026/000001" {
        "2026/000004"
    } else {
        "2026/000001"
    };
    // 000002 refuses A (its first refusal: allowed, it keeps its other preferences, which are none);
    // the winner does not answer, which this regulation counts as accepting B.
    let answers = write(&dir, "answers.csv", "protocol,answer\n2026/000002,rifiutato\n");
    let run2 = dir.join("run2");
    let o = run(&[
        "rank",
        "--round",
        run1.to_str().unwrap(),
        "--answers",
        &answers,
        "--out",
        run2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A is free again: the next in the ranking who wants it is the draw's loser (A first).
    let mut rows = [format!("{loser},,A,1,offered"), format!("{winner},,B,2,accepted")];
    rows.sort();
    assert_eq!(
        read(&run2, "allocation.csv"),
        format!("protocol,section,facility,choice,status\n{}\n", rows.join("\n"))
    );
    assert_eq!(
        read(&run2, "answers-1.csv"),
        "protocol,answer\n2026/000002,rifiutato\n"
    );
    let o = run(&["verify", run2.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("verified: round 2"));

    // An answer from a family that had no offer is refused, naming the user's file and line.
    let bad = write(&dir, "bad.csv", "protocol,answer\n2026/000003,accettato\n");
    let o = run(&[
        "rank",
        "--round",
        run1.to_str().unwrap(),
        "--answers",
        &bad,
        "--out",
        dir.join("run3").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("bad.csv:2: this family had no offer to answer in round 1"),
        "{}",
        text(&o.stderr)
    );
    assert!(!dir.join("run3").exists());
}

#[test]
fn verify_names_the_first_difference_and_a_changed_input() {
    let dir = scratch("verify");
    let run1 = first_round(&dir);
    let o = run(&["verify", run1.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // An output edited after the run: the file, line and column are named.
    let public = read(&run1, "public.csv").replacen(",10,", ",11,", 1);
    std::fs::write(run1.join("public.csv"), public).unwrap();
    let o = run(&["verify", run1.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr)
            .contains("public.csv: differs from the recomputation: first at line 2, column 4 (punteggio)"),
        "{}",
        text(&o.stderr)
    );
    // An input edited after the run: its hash no longer matches the manifest.
    std::fs::write(
        run1.join("applications.csv"),
        APPLICATIONS.replace("true,true,0", "true,true,1"),
    )
    .unwrap();
    let o = run(&["verify", run1.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("applications.csv: its SHA-256 differs from the manifest's"));
}

#[test]
fn rank_reports_every_wrong_cell_and_writes_nothing() {
    let dir = scratch("errors");
    let rules = write(&dir, "tiny.toml", RULES);
    let apps = write(
        &dir,
        "apps.csv",
        "protocol;preferences;resident;single_parent;siblings\n\
         2026/000001;A|Z;true;false;1\n\
         2026/000002;A;forse;true;9\n\
         2026/000001;B;true;false;0\n",
    );
    let facs = write(&dir, "facs.csv", FACILITIES);
    let out = dir.join("out");
    let o = rank_seats(&rules, &apps, &facs, Some("s"), out.to_str().unwrap());
    assert!(!o.status.success());
    let err = text(&o.stderr);
    // Semicolon-separated (as a spreadsheet in Italian saves it) is read; each problem located.
    assert!(err.contains("apps.csv:2:2 (preferences): "), "{err}");
    assert!(err.contains("apps.csv:3:3 (resident): "), "{err}");
    assert!(err.contains("apps.csv:3:5 (siblings): "), "{err}");
    assert!(
        err.contains("apps.csv:4:1 (protocol): the same protocol number as line 2"),
        "{err}"
    );
    assert!(!err.contains("forse"), "values are never echoed: {err}");
    assert!(!out.exists());
    // Saved with Windows line ends (a spreadsheet on Windows): the same lines are named.
    let crlf = write(
        &dir,
        "apps-crlf.csv",
        &std::fs::read_to_string(&apps).unwrap().replace('\n', "\r\n"),
    );
    let o = rank_seats(&rules, &crlf, &facs, Some("s"), out.to_str().unwrap());
    assert_eq!(text(&o.stderr).replace("apps-crlf.csv", "apps.csv"), err);
    // Nor the directories above a new output directory, nor a partial directory.
    let nested = dir.join("new").join("deeper").join("out");
    let o = rank_seats(&rules, &apps, &facs, Some("s"), nested.to_str().unwrap());
    assert!(!o.status.success());
    assert!(!dir.join("new").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A facility table without the seats column, and a non-empty output directory.
    let facs = write(&dir, "facs2.csv", "code,name\nA,x\n");
    let o = rank_seats(&rules, &apps, &facs, Some("s"), out.to_str().unwrap());
    assert!(
        text(&o.stderr).contains("facs2.csv:1: the column 'seats' is missing"),
        "{}",
        text(&o.stderr)
    );
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "x").unwrap();
    let good = write(&dir, "good.csv", APPLICATIONS);
    let facs = write(&dir, "facs3.csv", FACILITIES);
    let o = rank_seats(&rules, &good, &facs, Some("s"), out.to_str().unwrap());
    assert!(text(&o.stderr).contains("the directory is not empty"));
    assert_eq!(std::fs::read_to_string(out.join("keep.txt")).unwrap(), "x");
    // A regulation with a public draw needs the seed.
    let o = rank_seats(&rules, &good, &facs, None, dir.join("o2").to_str().unwrap());
    assert!(text(&o.stderr).contains("give the published seed with --seed"));
}

#[test]
fn generate_makes_a_call_the_regulation_accepts_and_rank_is_row_order_free() {
    let dir = scratch("generate");
    let gen_dir = dir.join("gen");
    let o = run(&[
        "generate",
        "--applications",
        "300",
        "--facilities",
        "6",
        "--preferences",
        "3",
        "--seed",
        "g",
        "--rules",
        "config/rules/bologna-nidi.toml",
        "--out",
        gen_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Same arguments, same files.
    let again = dir.join("gen2");
    run(&[
        "generate",
        "--applications",
        "300",
        "--facilities",
        "6",
        "--preferences",
        "3",
        "--seed",
        "g",
        "--rules",
        "config/rules/bologna-nidi.toml",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(
        read(&gen_dir, "applications.csv"),
        read(&again, "applications.csv")
    );
    let apps = read(&gen_dir, "applications.csv");
    assert_eq!(apps.lines().count(), 301);
    let rank_into = |apps: &str, out: &str| {
        let o = run(&[
            "rank",
            "--rules",
            "config/rules/bologna-nidi.toml",
            "--applications",
            apps,
            "--facilities",
            gen_dir.join("facilities.csv").to_str().unwrap(),
            "--seed",
            "x",
            "--out",
            dir.join(out).to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    };
    rank_into(gen_dir.join("applications.csv").to_str().unwrap(), "r1");
    // The same applications in reverse order: every output is the same (Bologna does not use the
    // submission time as such, only its tier; order of rows never matters).
    let mut lines: Vec<&str> = apps.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let reversed = write(&dir, "reversed.csv", &format!("{header}\n{}\n", lines.join("\n")));
    rank_into(&reversed, "r2");
    for f in ["ranking.csv", "allocation.csv", "waiting.csv", "public.csv"] {
        assert_eq!(read(&dir.join("r1"), f), read(&dir.join("r2"), f), "{f}");
    }
    let manifest: serde_json::Value = serde_json::from_str(&read(&dir.join("r1"), "manifest.json")).unwrap();
    let excluded = manifest["counts"]["excluded"].as_u64().unwrap();
    assert!(excluded < 60, "about one in twenty excluded, got {excluded}");
    assert!(manifest["counts"]["offered"].as_u64().unwrap() > 0);
}

const RESERVE_RULES: &str = r#"
[regulation]
id = "reserve"
title = "Nido con posti riservati"
service = "nido"
school_year = "2026/2027"
authority = "Comune di Prova"
source = "Delibera n. 2"
reference_date = 2026-12-31

[inputs.siblings]
type = "integer"
label = "Fratelli"
min = 0
max = 5

[inputs.referred]
type = "bool"
label = "Segnalazione dei servizi sociali"
sensitive = true

[criteria.siblings]
label = "Fratelli"
points = "2 * siblings"

[allocation]
mechanism = "global_order"
"#;

/// Ranks four applications for facility A (2 seats) under `reserve` and returns allocation.csv.
fn allocation_with(dir: &Path, reserve: &str) -> String {
    let rules = write(
        dir,
        "r.toml",
        &format!("{RESERVE_RULES}\n[allocation.reserve]\n{reserve}"),
    );
    // Points: 2 × siblings: 000001 → 6, 000002 → 4, 000003 → 2, 000004 → 0.
    let apps = write(
        dir,
        "a.csv",
        "protocol,preferences,siblings,referred\n\
         2026/000001,A,3,false\n\
         2026/000002,A,2,false\n\
         2026/000003,A,1,true\n\
         2026/000004,A,0,true\n",
    );
    let facs = write(dir, "f.csv", "code,seats\nA,2\n");
    let out = dir.join(format!("out-{}", reserve.len()));
    let o = rank_seats(&rules, &apps, &facs, None, out.to_str().unwrap());
    assert!(o.status.success(), "{}", text(&o.stderr));
    read(&out, "allocation.csv")
}

#[test]
fn reserved_seats_go_to_the_group_first_and_caps_limit_it() {
    let dir = scratch("reserve");
    // One seat reserved for referrals: the best referred child (000003, 2 points) takes it although
    // 000002 has more points; the other seat goes to the best of everybody left (000001).
    assert_eq!(
        allocation_with(
            &dir,
            "label = \"Servizi sociali\"\nwhen = \"referred\"\nseats = 1\n"
        ),
        "protocol,section,facility,choice,status\n2026/000001,,A,1,offered\n2026/000003,,A,1,offered\n"
    );
    // A share that rounds down to no seat changes nothing: 20% of 2 seats is 0.4, rounded down to 0,
    // so the two best by points (000001, 000002) are placed.
    assert_eq!(
        allocation_with(
            &dir,
            "label = \"Servizi sociali\"\nwhen = \"referred\"\nseats = \"20%\"\n"
        ),
        "protocol,section,facility,choice,status\n2026/000001,,A,1,offered\n2026/000002,,A,1,offered\n"
    );
    // A cap: the group is the children *not* referred (000001 and 000002, the two best), at most 50% of
    // the 2 seats = 1 seat for them: 000001 takes it, and the other seat goes to the best of the rest,
    // 000003, although 000002 has more points.
    let rules = write(
        &dir,
        "cap.toml",
        &format!(
            "{RESERVE_RULES}\n[allocation.reserve]\nlabel = \"Servizi sociali\"\nwhen = \"not referred\"\ncap = \"50%\"\n"
        ),
    );
    let apps = write(
        &dir,
        "a2.csv",
        "protocol,preferences,siblings,referred\n2026/000001,A,3,false\n2026/000002,A,2,false\n2026/000003,A,1,true\n2026/000004,A,0,true\n",
    );
    let facs = write(&dir, "f2.csv", "code,seats\nA,2\n");
    let out = dir.join("cap");
    let o = rank_seats(&rules, &apps, &facs, None, out.to_str().unwrap());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        read(&out, "allocation.csv"),
        "protocol,section,facility,choice,status\n2026/000001,,A,1,offered\n2026/000003,,A,1,offered\n"
    );
}

#[test]
fn time_slots_have_seats_of_their_own() {
    let dir = scratch("slots");
    let rules = write(
        &dir,
        "slots.toml",
        &RESERVE_RULES
            .replace("[allocation]", "[inputs.slot]\ntype = \"choice\"\nlabel = \"Orario\"\noptions = { full = \"Tempo pieno\", part = \"Part time\" }\n\n[allocation]\ntime_slot = \"slot\"")
            .replace("[inputs.referred]\ntype = \"bool\"\nlabel = \"Segnalazione dei servizi sociali\"\nsensitive = true\n", ""),
    );
    // Points 2 × siblings: 000001 → 6 (full time), 000002 → 4 (full time), 000003 → 2 (part time).
    let apps = write(
        &dir,
        "a.csv",
        "protocol,preferences,siblings,slot\n2026/000001,A,3,full\n2026/000002,A,2,full\n2026/000003,A,1,part\n",
    );
    // One full-time and one part-time seat: 000001 takes the full-time seat; 000002 waits although it
    // has more points than 000003, who takes the part-time seat it asked for.
    let facs = write(&dir, "f.csv", "code,seats.full,seats.part\nA,1,1\n");
    let out = dir.join("out");
    let o = rank_seats(&rules, &apps, &facs, None, out.to_str().unwrap());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        read(&out, "allocation.csv"),
        "protocol,section,time_slot,facility,choice,status\n2026/000001,,full,A,1,offered\n2026/000003,,part,A,1,offered\n"
    );
    assert_eq!(
        read(&out, "waiting.csv"),
        "list,position,protocol\nglobal,1,2026/000002\n"
    );
    // The seat columns follow the slots: a table without them is refused, naming the missing column.
    let facs = write(&dir, "f2.csv", "code,seats\nA,2\n");
    let o = rank_seats(&rules, &apps, &facs, None, dir.join("o2").to_str().unwrap());
    assert!(
        text(&o.stderr).contains("the column 'seats.full' is missing"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_late_batch_joins_the_next_round() {
    let dir = scratch("late");
    let run1 = first_round(&dir);
    let (winner, loser) = if draw("sorteggio-2026", "2026/000001") < draw("sorteggio-2026", "2026/000004") {
        ("2026/000001", "2026/000004")
    } else {
        ("2026/000004", "2026/000001")
    };
    // Round 1 gave A to 000002 and B to the draw's winner. 000002 refuses A; a late application
    // (000006, single parent: 10 points, wants A) joins round 2 and, with more points than the draw's
    // loser (2), takes the freed seat.
    let answers = write(&dir, "answers.csv", "protocol,answer\n2026/000002,refused\n");
    let late = write(
        &dir,
        "late.csv",
        "protocol,preferences,resident,single_parent,siblings\n2026/000006,A,true,true,0\n",
    );
    let run2 = dir.join("run2");
    let o = run(&[
        "rank",
        "--round",
        run1.to_str().unwrap(),
        "--answers",
        &answers,
        "--late",
        &late,
        "--out",
        run2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut rows = [
        format!("{winner},,B,2,accepted"),
        "2026/000006,,A,1,offered".to_owned(),
    ];
    rows.sort();
    assert_eq!(
        read(&run2, "allocation.csv"),
        format!("protocol,section,facility,choice,status\n{}\n", rows.join("\n"))
    );
    assert_eq!(
        read(&run2, "waiting.csv"),
        format!("list,position,protocol\nglobal,1,{loser}\nglobal,2,2026/000003\n")
    );
    // The directory keeps the batch as late-2.csv and replays round 1 without it.
    assert!(read(&run2, "late-2.csv").contains("2026/000006"));
    let o = run(&["verify", run2.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A late application repeating a protocol number is refused, naming both files.
    let dup = write(
        &dir,
        "dup.csv",
        "protocol,preferences,resident,single_parent,siblings\n2026/000003,A,true,false,0\n",
    );
    let o = run(&[
        "rank",
        "--round",
        run1.to_str().unwrap(),
        "--answers",
        &answers,
        "--late",
        &dup,
        "--out",
        dir.join("run3").to_str().unwrap(),
    ]);
    assert!(
        text(&o.stderr).contains("dup.csv:2: the same protocol number as applications.csv line 4"),
        "{}",
        text(&o.stderr)
    );
}

const GRANT_RULES: &str = r#"
[regulation]
id = "voucher"
title = "Buoni servizio"
service = "buoni"
school_year = "2026/2027"
authority = "Unione di Prova"
source = "Delibera n. 3"
reference_date = 2026-12-31

[inputs.siblings]
type = "integer"
label = "Fratelli"
min = 0
max = 5

[inputs.isee]
type = "money"
label = "ISEE"

[criteria.siblings]
label = "Fratelli"
points = "2 * siblings"

[grant]
label = "Buono servizio"
value = "isee"
missing = "refuse"

[grant.components.voucher]
label = "Buono annuo"
per = "anno"
bands = [
  { to = "10000.00", amount = "1000.00" },
  { from = "10000.01", amount = "500.00" },
]
"#;

/// Ranks four applications with a budget of 2,200.00 under an edge policy; returns grants.csv.
fn grants_with(dir: &Path, edge: &str) -> (String, String) {
    let rules = write(
        dir,
        &format!("{edge}.toml"),
        &format!("{GRANT_RULES}\n[allocation]\nbudget_edge = \"{edge}\"\n"),
    );
    // Points 2 × siblings: 000001 → 6, 000002 → 4, 000003 → 2, 000004 → 0: that is the order.
    // Amounts by ISEE: 8,000 → 1,000.00; 15,000 → 500.00; 5,000 → 1,000.00; 12,000 → 500.00.
    let apps = write(
        dir,
        "a.csv",
        "protocol,siblings,isee\n2026/000001,3,8000\n2026/000002,2,15000\n2026/000003,1,5000\n2026/000004,0,12000\n",
    );
    let out = dir.join(edge);
    let o = run(&[
        "rank",
        "--rules",
        &rules,
        "--applications",
        &apps,
        "--budget",
        "2200,00",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    (read(&out, "grants.csv"), read(&out, "public.csv"))
}

#[test]
fn a_budget_funds_beneficiaries_in_ranking_order() {
    let dir = scratch("budget");
    let head = "list,position,protocol,amount,granted,status\n";
    // 1,000 + 500 = 1,500 granted, 700 left: 000003's 1,000 does not fit.
    // stop: nobody after is funded.
    let (grants, public) = grants_with(&dir, "stop");
    assert_eq!(
        grants,
        format!(
            "{head}global,1,2026/000001,1000.00,1000.00,granted\nglobal,2,2026/000002,500.00,500.00,granted\nglobal,3,2026/000003,1000.00,,not_funded\nglobal,4,2026/000004,500.00,,not_funded\n"
        )
    );
    assert!(
        public.contains("Graduatoria unica,1,2026/000001,6,,finanziata: 1000.00\n"),
        "{public}"
    );
    assert!(
        public.contains("Graduatoria unica,3,2026/000003,2,,non finanziata\n"),
        "{public}"
    );
    // skip: 000004's 500 still fits in the 700 left (200 remain).
    let (grants, _) = grants_with(&dir, "skip");
    assert!(
        grants.ends_with(
            "global,3,2026/000003,1000.00,,not_funded\nglobal,4,2026/000004,500.00,500.00,granted\n"
        ),
        "{grants}"
    );
    // remainder: 000003 gets the 700 left, in part, and the budget is spent: 1,000 + 500 + 700 = 2,200.
    let (grants, public) = grants_with(&dir, "remainder");
    assert!(
        grants.ends_with(
            "global,3,2026/000003,1000.00,700.00,partial\nglobal,4,2026/000004,500.00,,not_funded\n"
        ),
        "{grants}"
    );
    assert!(public.contains("finanziata in parte: 700.00"), "{public}");
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&dir.join("remainder"), "manifest.json")).unwrap();
    assert_eq!(manifest["budget"]["granted"], "2200.00");
    let o = run(&["verify", dir.join("remainder").to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // No budget without a [grant] in the regulation.
    let rules = write(&dir, "nogrant.toml", RULES);
    let apps = write(&dir, "b.csv", APPLICATIONS);
    let o = run(&[
        "rank",
        "--rules",
        &rules,
        "--applications",
        &apps,
        "--budget",
        "100",
        "--seed",
        "s",
        "--out",
        dir.join("x").to_str().unwrap(),
    ]);
    assert!(text(&o.stderr).contains("has no [grant]"), "{}", text(&o.stderr));
}

#[test]
fn twins_are_placed_together_when_the_regulation_says_so() {
    let dir = scratch("twins");
    let rules = write(
        &dir,
        "twins.toml",
        &RULES.replace("[allocation]\n", "[allocation]\nsiblings_together = true\n"),
    );
    // Points: 000001 single parent 10; 000003 two siblings 2 × 2 = 4; 000002 one sibling 2. No ties.
    // 000001 and 000002 are twins (family "rossi"). At 000001's turn, A has one seat for two twins:
    // both go to B (2 seats). Then 000003 takes A.
    let apps = write(
        &dir,
        "a.csv",
        "protocol,preferences,family,resident,single_parent,siblings\n\
         2026/000001,A|B,rossi,true,true,0\n\
         2026/000002,A|B,rossi,true,false,1\n\
         2026/000003,A|B,,true,false,2\n",
    );
    let facs = write(&dir, "f.csv", "code,seats\nA,1\nB,2\n");
    let out = dir.join("out");
    let o = rank_seats(&rules, &apps, &facs, Some("s"), out.to_str().unwrap());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        read(&out, "allocation.csv"),
        "protocol,section,facility,choice,status\n2026/000001,,B,2,offered\n2026/000002,,B,2,offered\n2026/000003,,A,1,offered\n"
    );
    // The family key is not published.
    assert!(!read(&out, "public.csv").contains("rossi"));
}

const BORDER_RULES: &str = r#"
[regulation]
id = "border"
title = "Nido con sezioni"
service = "nido"
school_year = "2026/2027"
authority = "Comune di Prova"
source = "Delibera n. 4"
reference_date = 2026-12-31

[inputs.age]
type = "integer"
label = "Età in mesi"
min = 0
max = 36

[inputs.siblings]
type = "integer"
label = "Fratelli"
min = 0
max = 5

[sections.small]
label = "Piccoli"
when = "age <= 11"
spare_to = "big"
spare_if = "age >= 11"

[sections.big]
label = "Grandi"
when = "age >= 12"

[criteria.siblings]
label = "Fratelli"
points = "2 * siblings"

[allocation]
mechanism = "global_order"
refusal = "lose_application"
"#;

#[test]
fn children_at_the_border_take_spare_seats_of_the_next_section() {
    let dir = scratch("border");
    let rules = write(&dir, "border.toml", BORDER_RULES);
    // Small: 000001 (10 months, 6 points), 000002 (11 months, at the border, 4 points), 000004
    // (11 months, at the border, 0 points). Big: 000003 (20 months, 2 points).
    // Facility A: 1 small seat, 2 big seats. Small's seat goes to 000001; big's own child 000003
    // takes a big seat; one big seat is left: the best child at the border, 000002, takes it.
    let apps = write(
        &dir,
        "a.csv",
        "protocol,preferences,age,siblings\n2026/000001,A,10,3\n2026/000002,A,11,2\n2026/000003,A,20,1\n2026/000004,A,11,0\n",
    );
    let facs = write(&dir, "f.csv", "code,seats.small,seats.big\nA,1,2\n");
    let run1 = dir.join("run1");
    let o = rank_seats(&rules, &apps, &facs, None, run1.to_str().unwrap());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        read(&run1, "allocation.csv"),
        "protocol,section,facility,choice,status\n2026/000001,small,A,1,offered\n2026/000002,big,A,1,offered\n2026/000003,big,A,1,offered\n"
    );
    assert_eq!(
        read(&run1, "waiting.csv"),
        "list,position,protocol\nsection:small,1,2026/000004\n"
    );
    // Everybody accepts. The border seat counts in the big section from now on: both big seats are
    // held, so 000004 still waits (counted in the small section, a big seat would wrongly look free).
    let answers = write(
        &dir,
        "ans.csv",
        "protocol,answer\n2026/000001,accepted\n2026/000002,accepted\n2026/000003,accepted\n",
    );
    let run2 = dir.join("run2");
    let o = run(&[
        "rank",
        "--round",
        run1.to_str().unwrap(),
        "--answers",
        &answers,
        "--out",
        run2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        read(&run2, "allocation.csv"),
        "protocol,section,facility,choice,status\n2026/000001,small,A,1,accepted\n2026/000002,big,A,1,accepted\n2026/000003,big,A,1,accepted\n"
    );
    assert_eq!(
        read(&run2, "waiting.csv"),
        "list,position,protocol\nsection:small,1,2026/000004\n"
    );
    let o = run(&["verify", run2.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// An application admitted *con riserva*: `ranking.csv` says so with the reason, the public list says
/// so without it; the other rows are unchanged (rows are assembled from parts written per
/// application, so a mix-up would move a reason or a status to another row).
#[test]
fn an_application_con_riserva_is_marked_in_both_lists() {
    let dir = scratch("riserva");
    let rules = RULES.replace(
        "[criteria.single_parent]",
        "[eligibility.many_siblings]\nreserve_if = \"siblings >= 1\"\nreason = \"Da verificare: fratelli dichiarati\"\n\n[criteria.single_parent]",
    );
    let out = dir.join("run");
    let r = rank_seats(
        &write(&dir, "rules.toml", &rules),
        &write(&dir, "apps.csv", APPLICATIONS),
        &write(&dir, "facs.csv", FACILITIES),
        Some("sorteggio-2026"),
        out.to_str().unwrap(),
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    // 000001 and 000004 declare one sibling: con riserva, 2 points each, after 000002 (10 points).
    let ranking = read(&out, "ranking.csv");
    let row = |protocol: &str| ranking.lines().find(|l| l.contains(protocol)).unwrap().to_owned();
    assert!(row("2026/000002").starts_with("global,1,2026/000002,,admitted,10,10,0,"));
    assert!(row("2026/000002").ends_with(','), "{}", row("2026/000002"));
    for p in ["2026/000001", "2026/000004"] {
        assert!(row(p).contains(&format!("{p},,reserve,2,0,2,")), "{}", row(p));
        assert!(
            row(p).ends_with(",Da verificare: fratelli dichiarati"),
            "{}",
            row(p)
        );
    }
    assert!(row("2026/000003").starts_with("global,4,2026/000003,,admitted,0,0,0,"));
    let public = read(&out, "public.csv");
    let prow = |protocol: &str| public.lines().find(|l| l.contains(protocol)).unwrap().to_owned();
    assert_eq!(
        prow("2026/000002"),
        "Graduatoria unica,1,2026/000002,10,,posto offerto: A"
    );
    let reserved: Vec<String> = ["2026/000001", "2026/000004"].iter().map(|p| prow(p)).collect();
    assert!(
        reserved.iter().all(|r| r.ends_with(" (con riserva)")),
        "{reserved:?}"
    );
    assert!(!public.contains("fratelli"));
    assert_eq!(
        prow("2026/000003"),
        "Graduatoria unica,4,2026/000003,0,,in attesa"
    );
}

/// Problems come in file order, and within a line a repeated protocol number first, whatever else is
/// wrong with that line (repeated numbers are found after the whole file is read).
#[test]
fn problems_are_listed_in_file_order_with_repeated_protocols_first_on_their_line() {
    let dir = scratch("problem-order");
    let rules = write(&dir, "tiny.toml", RULES);
    let apps = write(
        &dir,
        "apps.csv",
        "protocol,preferences,resident,single_parent,siblings\n\
         2026/000007,A,true,false,1\n\
         2026/000002,A,forse,true,0\n\
         2026/000007,Z,true,false,9\n\
         2026/000002,B,true,false,0\n\
         2026/000003,B,true,boh,0\n\
         2026/000007,B,true,false,0\n",
    );
    let facs = write(&dir, "facs.csv", FACILITIES);
    let o = rank_seats(&rules, &apps, &facs, Some("s"), dir.join("out").to_str().unwrap());
    assert!(!o.status.success());
    let err = text(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("apps.csv:")).collect();
    let expected = [
        "apps.csv:3:3 (resident)",
        "apps.csv:4:1 (protocol): the same protocol number as line 2",
        // The answers in the regulation's order, then the preferences (as for an application sent as
        // JSON).
        "apps.csv:4:5 (siblings)",
        "apps.csv:4:2 (preferences)",
        "apps.csv:5:1 (protocol): the same protocol number as line 3",
        "apps.csv:6:4 (single_parent)",
        "apps.csv:7:1 (protocol): the same protocol number as line 2",
    ];
    assert_eq!(lines.len(), expected.len(), "{err}");
    for (got, want) in lines.iter().zip(expected) {
        assert!(got.contains(want), "{got} should be {want}\n{err}");
    }
}

/// Lists per facility (points that depend on the facility) and deferred acceptance, worked by hand:
/// every file a family or an auditor reads.
#[test]
fn facilities_lists_and_deferred_acceptance_worked_by_hand() {
    let dir = scratch("per-facility");
    let rules = RULES
        .replace(
            "[inputs.siblings]\ntype = \"integer\"\nlabel = \"Fratelli\"\nmin = 0\nmax = 5\n",
            "",
        )
        .replace(
            "[eligibility.resident]",
            "[inputs.sibling_facility]\ntype = \"facility\"\nlabel = \"Nido del fratello\"\n\
             optional = true\n\n[eligibility.resident]",
        )
        .replace(
            "[criteria.siblings]\nlabel = \"Fratelli\"\npoints = \"2 * siblings\"",
            "[criteria.sibling_here]\nlabel = \"Fratello nello stesso nido\"\n\
             when = \"facility == sibling_facility\"\npoints = 4",
        )
        .replace(
            "label = \"Sorteggio\"\nby = \"draw\"",
            "label = \"Protocollo\"\nby = \"protocol\"",
        )
        .replace(
            "mechanism = \"global_order\"",
            "mechanism = \"deferred_acceptance\"\nlists = \"per_facility\"\nmove_up = false",
        );
    let rules = write(&dir, "pf.toml", &rules);
    let apps = write(
        &dir,
        "apps.csv",
        "protocol,preferences,resident,single_parent,sibling_facility\n\
         2026/000001,A|B,true,false,B\n\
         2026/000002,A|B,true,true,\n\
         2026/000003,B|A,true,false,A\n\
         2026/000004,B,true,false,\n\
         2026/000005,A,false,false,\n",
    );
    let facs = write(&dir, "facs.csv", FACILITIES);
    let out = dir.join("out");
    let o = rank_seats(&rules, &apps, &facs, None, out.to_str().unwrap());
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Points: 000002 single parent, 10 at both; 000001 a sibling at B, 4 there and 0 at A; 000003 a
    // sibling at A, 4 there and 0 at B; 000004 0. 000005 is not resident: excluded.
    // List A: 000002 (10), 000003 (4), 000001 (0). List B: 000002 (10), 000001 (4), then 000003 and
    // 000004 with 0, by protocol.
    // Deferred acceptance, one seat each. Round 1: 000001 and 000002 propose to A, which keeps 000002;
    // 000003 and 000004 to B, which keeps 000003 (protocol). Round 2: 000001 proposes to B, which
    // keeps it (4 > 0) and rejects 000003. Round 3: 000003 proposes to A, which keeps 000002. 000003
    // and 000004 have nothing left to ask: 000002 gets A, 000001 gets B.
    assert_eq!(
        read(&out, "public.csv"),
        "graduatoria,posizione,protocollo,punteggio,precedenza,esito\n\
         A Nido Arcobaleno,1,2026/000002,10,,posto offerto: A\n\
         A Nido Arcobaleno,2,2026/000003,4,,in attesa\n\
         A Nido Arcobaleno,3,2026/000001,0,,ammessa in altra struttura\n\
         B Nido Girasole,1,2026/000002,10,,ammessa in altra struttura\n\
         B Nido Girasole,2,2026/000001,4,,posto offerto: B\n\
         B Nido Girasole,3,2026/000003,0,,in attesa\n\
         B Nido Girasole,4,2026/000004,0,,in attesa\n\
         ,,2026/000005,,,esclusa\n"
    );
    assert_eq!(
        read(&out, "allocation.csv"),
        "protocol,section,facility,choice,status\n\
         2026/000001,,B,2,offered\n\
         2026/000002,,A,1,offered\n"
    );
    assert_eq!(
        read(&out, "waiting.csv"),
        "list,position,protocol\n\
         facility:A,1,2026/000003\n\
         facility:B,1,2026/000003\n\
         facility:B,2,2026/000004\n"
    );
    // Each facility row's breakdown: the application's points and the facility's, adding to the total.
    let ranking = read(&out, "ranking.csv");
    assert!(ranking.starts_with(
        "list,position,protocol,section,status,total,single_parent,sibling_here,tie.1,reasons\n\
         facility:A,1,2026/000002,,admitted,10,10,0,2026/000002,\n\
         facility:A,2,2026/000003,,admitted,4,0,4,2026/000003,\n\
         facility:A,3,2026/000001,,admitted,0,0,0,2026/000001,\n\
         facility:B,1,2026/000002,,admitted,10,10,0,2026/000002,\n\
         facility:B,2,2026/000001,,admitted,4,0,4,2026/000001,\n"
    ));
    let o = run(&["verify", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}
