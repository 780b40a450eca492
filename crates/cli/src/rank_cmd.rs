//! `graduatorie rank` and `graduatorie verify`: a ranking run from files, and its recomputation.
//!
//! A run directory holds its inputs (`rules.toml`, the effective regulation after inheritance;
//! `applications.csv`; `facilities.csv`; `answers-1.csv`… one per round answered; `late-2.csv`… the
//! late batches, named by the round they joined), its outputs and
//! `manifest.json`. [`compute`] makes every file of the directory from the inputs alone and hands each
//! one, as soon as it is made, to a sink: `rank` writes it into a new directory (renamed into place at
//! the end: all or nothing), `verify` compares it byte by byte with what is there. A file is dropped once
//! handed over, so at a million applications the outputs are never all in memory at once.
//!
//! The sink runs on a thread of its own, which also hashes each file for the manifest, and the
//! published lists are made two at a time: a run at a million applications spends seconds writing
//! files, which a second core does while the first computes. What is made does not depend on the
//! threads (each file is made by one of them, from the same data).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use clap::Args;
use graduatorie_ranker::{BudgetInput, RankedList, RunError, RunInput, RunOutcome, allocate, run_budget};
use graduatorie_rules::model::TieKind;
use graduatorie_rules::{BatchScores, FactsBatch, Regulation};
use sha2::{Digest, Sha256};

use crate::compare::Compare;
use crate::println_out;
use crate::report::{self, Context, Manifest, ManifestRegulation, sha256_hex};
use crate::tables;

/// The inputs of a run, as stored in its directory.
#[derive(Debug, Clone)]
pub struct RunFiles {
    /// The effective regulation (`rules.toml`).
    pub rules: String,
    /// `applications.csv`.
    pub applications: Vec<u8>,
    /// `facilities.csv` (calls for seats).
    pub facilities: Option<Vec<u8>>,
    /// The money to share (calls for vouchers or contributions), as written (`50000.00`).
    pub budget: Option<String>,
    /// `answers-1.csv`, `answers-2.csv`…: the answers to each round's offers.
    pub answers: Vec<Vec<u8>>,
    /// `late-2.csv`…: applications of late batches, with the round they joined.
    pub late: Vec<(usize, Vec<u8>)>,
    /// The published seed of the public draw.
    pub seed: Option<String>,
}

fn answers_name(round: usize) -> String {
    format!("answers-{round}.csv")
}

fn late_name(round: usize) -> String {
    format!("late-{round}.csv")
}

/// Where the files of a run go as they are made, piece by piece (name, bytes, whether it is the
/// file's last piece); called from a thread of its own. Pieces of two files may alternate.
pub type Sink<'a> = dyn FnMut(&str, &[u8], bool) -> Result<(), String> + Send + 'a;

/// A piece of a file of the run on its way to the sink.
struct Piece {
    name: String,
    bytes: Arc<Vec<u8>>,
    input: bool,
    last: bool,
}

/// The SHA-256 of every input and output handed over, by name, for the manifest.
#[derive(Default)]
struct Hashes {
    inputs: BTreeMap<String, String>,
    outputs: BTreeMap<String, String>,
}

/// Where the files of a run are handed over as they are made; each is hashed and given to the sink by
/// the thread of [`hand_over`]. Cloned by each thread that makes files.
#[derive(Clone)]
struct Outbox(SyncSender<Piece>);

impl Outbox {
    fn send(&self, name: &str, bytes: Arc<Vec<u8>>, input: bool, last: bool) -> Result<(), String> {
        let piece = Piece {
            name: name.to_owned(),
            bytes,
            input,
            last,
        };
        // The receiver stops only after a sink error, which is the one reported.
        self.0
            .send(piece)
            .map_err(|_| format!("{name}: not handed over (the writer stopped)"))
    }
    /// An input, whole.
    fn input(&self, name: &str, bytes: Arc<Vec<u8>>) -> Result<(), String> {
        self.send(name, bytes, true, true)
    }
    /// An output, handed over piece by piece by `make` as it is made.
    fn output(&self, name: &str, make: impl FnOnce(&mut report::Chunks<'_>)) -> Result<(), String> {
        let mut failed = None;
        make(&mut |piece: Vec<u8>| {
            if failed.is_none() {
                failed = self.send(name, Arc::new(piece), false, false).err();
            }
        });
        match failed {
            Some(e) => Err(e),
            None => self.send(name, Arc::new(Vec::new()), false, true),
        }
    }
}

/// Hashes each file received and gives it to the sink, until every sender is gone or the sink fails.
fn hand_over(pieces: &Receiver<Piece>, sink: &mut Sink<'_>) -> Result<Hashes, String> {
    let mut hashes = Hashes::default();
    let mut open: HashMap<String, Sha256> = HashMap::new();
    for piece in pieces {
        let mut hash = open.remove(&piece.name).unwrap_or_default();
        hash.update(piece.bytes.as_slice());
        sink(&piece.name, &piece.bytes, piece.last)?;
        if !piece.last {
            open.insert(piece.name, hash);
            continue;
        }
        let map = if piece.input {
            &mut hashes.inputs
        } else {
            &mut hashes.outputs
        };
        map.insert(piece.name, report::hex(&hash.finalize()));
    }
    Ok(hashes)
}

/// What a run computed, for the manifest.
enum Summary {
    Seats(report::Counts),
    Budget(report::BudgetSummary),
}

/// Every file of a run directory (inputs, outputs, manifest), computed from the inputs and handed to
/// `sink` one by one; returns the manifest (also handed over, last).
pub fn compute(files: RunFiles, sink: &mut Sink<'_>) -> Result<Vec<u8>, String> {
    let reg = graduatorie_rules::compile_str("rules.toml", &files.rules).map_err(|e| e.to_string())?;
    let uses_draw = reg.tie_breaks().iter().any(|t| matches!(t.kind, TieKind::Draw));
    if uses_draw && files.seed.is_none() {
        return Err(
            "the regulation breaks ties with a public draw: give the published seed with --seed".into(),
        );
    }
    if files.budget.is_none() && files.facilities.is_none() {
        return Err("a call needs its facilities (seats) or a budget".into());
    }
    let round = files.answers.len() + 1;
    let seed = files.seed.clone();
    let writing = &mut *sink;
    let (summary, hashes) = std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Piece>(2);
        let writer = scope.spawn(move || hand_over(&rx, writing));
        let summary = make_files(files, &reg, &Outbox(tx));
        let hashes = writer
            .join()
            .unwrap_or_else(|_| Err("the files could not be written".into()));
        // A sink's error (a full disk) explains why the files stopped: it comes first.
        Ok::<_, String>((summary, hashes?))
    })?;
    let summary = summary?;
    let (counts, budget) = match summary {
        Summary::Seats(c) => (Some(c), None),
        Summary::Budget(b) => (None, Some(b)),
    };
    let Hashes { inputs, outputs } = hashes;
    let manifest = Manifest {
        engine: format!("graduatorie {}", env!("CARGO_PKG_VERSION")),
        regulation: ManifestRegulation {
            id: reg.identity.id.clone(),
            title: reg.identity.title.clone(),
            authority: reg.identity.authority.clone(),
            school_year: reg.identity.school_year.clone(),
            hash: reg.hash.clone(),
        },
        seed,
        round,
        allocation: reg.allocation(),
        counts,
        budget,
        inputs,
        outputs,
    };
    let mut json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    json.push('\n');
    sink("manifest.json", json.as_bytes(), true)?;
    Ok(json.into_bytes())
}

/// The inputs handed over as they are, then the outputs as they are made. The applications (hundreds
/// of megabytes at a million) are dropped as soon as they are read and written.
fn make_files(mut files: RunFiles, reg: &Regulation, out: &Outbox) -> Result<Summary, String> {
    out.input("rules.toml", Arc::new(files.rules.clone().into_bytes()))?;
    let applications = Arc::new(std::mem::take(&mut files.applications));
    out.input("applications.csv", Arc::clone(&applications))?;
    if let Some(f) = &files.facilities {
        out.input("facilities.csv", Arc::new(f.clone()))?;
    }
    for (k, a) in files.answers.iter().enumerate() {
        out.input(&answers_name(k + 1), Arc::new(a.clone()))?;
    }
    for (round, bytes) in &files.late {
        out.input(&late_name(*round), Arc::new(bytes.clone()))?;
    }
    match (files.budget.clone(), &files.facilities) {
        (Some(budget), _) => compute_budget(&files, applications, reg, &budget, out).map(Summary::Budget),
        (None, Some(_)) => compute_seats(&files, applications, reg, out).map(Summary::Seats),
        (None, None) => Err("a call needs its facilities (seats) or a budget".into()),
    }
}

/// The applications of every file, with where each came from (file, line) and the round it joined;
/// protocol numbers checked across files.
struct AllApplications {
    facts: graduatorie_rules::FactsBatch,
    /// The files, by name, and per application the file it came from and its line.
    files: Vec<String>,
    origin: Vec<(u32, u64)>,
    joined: Vec<u32>,
    /// Per application, the index of the first application of its family (its own when alone).
    family: Vec<u32>,
    /// `(protocol number, application)`, sorted.
    by_protocol: Vec<(graduatorie_domain::ProtocolNumber, usize)>,
}

fn all_applications(
    files: &RunFiles,
    applications: &[u8],
    reg: &Regulation,
    table: &mut graduatorie_rules::FacilityTable,
    need_preferences: bool,
) -> Result<AllApplications, String> {
    let apps = tables::applications("applications.csv", applications, reg, table, need_preferences)
        .map_err(|p| p.report())?;
    let mut facts = apps.facts;
    let mut keys = apps.family;
    let mut names = vec!["applications.csv".to_owned()];
    let mut origin: Vec<(u32, u64)> = apps.lines.iter().map(|&l| (0, l)).collect();
    let mut joined: Vec<u32> = vec![1; facts.len()];
    for (round, bytes) in &files.late {
        let name = late_name(*round);
        let batch =
            tables::applications(&name, bytes, reg, table, need_preferences).map_err(|p| p.report())?;
        let k = u32::try_from(names.len()).unwrap_or(u32::MAX);
        names.push(name.clone());
        origin.extend(batch.lines.iter().map(|&l| (k, l)));
        joined.extend(std::iter::repeat_n(
            u32::try_from(*round).unwrap_or(u32::MAX),
            batch.facts.len(),
        ));
        facts.append(&batch.facts);
        keys.extend(batch.family);
    }
    let mut first_of: HashMap<&str, u32> = HashMap::new();
    let family: Vec<u32> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let own = u32::try_from(i).unwrap_or(u32::MAX);
            match k {
                Some(k) => *first_of.entry(k.as_str()).or_insert(own),
                None => own,
            }
        })
        .collect();
    // Applications by protocol number, sorted (a million-entry map missed the cache at every insert);
    // a number used twice across the files is refused, naming the first repeat in file order.
    let mut by_protocol: Vec<(graduatorie_domain::ProtocolNumber, usize)> = facts
        .protocols()
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some(((*p)?, i)))
        .collect();
    by_protocol.sort_unstable();
    let repeat = by_protocol
        .windows(2)
        .filter(|w| w.first().map(|a| a.0) == w.last().map(|b| b.0))
        .filter_map(|w| Some((w.last()?.1, w.first()?.1)))
        .min();
    if let Some((i, first)) = repeat {
        let name = |k: u32| names.get(k as usize).map_or("", String::as_str);
        let ((file, line), (first_file, first_line)) = (
            origin.get(i).map(|&(k, l)| (name(k), l)).unwrap_or_default(),
            origin.get(first).map(|&(k, l)| (name(k), l)).unwrap_or_default(),
        );
        return Err(format!(
            "{file}:{line}: the same protocol number as {first_file} line {first_line}"
        ));
    }
    Ok(AllApplications {
        facts,
        files: names,
        origin,
        joined,
        family,
        by_protocol,
    })
}

impl AllApplications {
    /// Indexes of the applications ordered by protocol number, those without one first (sorted once
    /// here: three lists are printed in this order).
    fn protocol_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.facts.len())
            .filter(|&i| self.facts.protocol(i).is_none())
            .collect();
        order.extend(self.by_protocol.iter().map(|&(_, i)| i));
        order
    }
}

/// Where an application came from, for messages.
fn at(apps: &AllApplications, index: usize) -> String {
    let (file, line) = apps
        .origin
        .get(index)
        .map(|&(k, l)| (apps.files.get(k as usize).map_or("", String::as_str), l))
        .unwrap_or_default();
    format!("{file}:{line}")
}

/// A call for seats: lists, allocation, rounds.
fn compute_seats(
    files: &RunFiles,
    applications: Arc<Vec<u8>>,
    reg: &Regulation,
    out: &Outbox,
) -> Result<report::Counts, String> {
    let facilities = files.facilities.as_deref().unwrap_or_default();
    let facilities = tables::facilities("facilities.csv", facilities, reg).map_err(|p| p.report())?;
    let mut table = facilities.table();
    let apps = all_applications(files, &applications, reg, &mut table, true)?;
    // Read (and being written by the other thread): not needed here any more.
    drop(applications);
    let mut answers = Vec::new();
    let mut answer_lines = Vec::new();
    for (k, bytes) in files.answers.iter().enumerate() {
        let (a, lines) = tables::answers(&answers_name(k + 1), bytes, &apps.by_protocol, apps.facts.len())
            .map_err(|p| p.report())?;
        answers.push(a);
        answer_lines.push(lines);
    }
    let input = RunInput {
        regulation: reg,
        facts: &apps.facts,
        seats: &facilities.seats,
        seed: files.seed.as_deref(),
        answers: &answers,
        joined: &apps.joined,
        family: &apps.family,
    };
    let failed = |e: RunError| match e {
        RunError::Evaluation { index, error } => {
            format!(
                "{}: the application cannot be evaluated: {error}",
                at(&apps, index)
            )
        }
        RunError::Grant { index, message } => format!("{}: {message}", at(&apps, index)),
        RunError::AnswerWithoutOffer { round, index } => format!(
            "{}:{}: this family had no offer to answer in round {round}",
            answers_name(round),
            answer_lines
                .get(round - 1)
                .and_then(|l| l.get(index))
                .copied()
                .unwrap_or(0)
        ),
    };
    let by_protocol = apps.protocol_order();
    let cx = Context {
        reg,
        facts: &apps.facts,
        facilities: &facilities,
        seed: files.seed.as_deref(),
        by_protocol: &by_protocol,
    };
    let (scores, lists) = score_in_halves(reg, &apps.facts, input.seed, failed)?;
    // The rows of the ranking that depend only on the scores are made while the seats are allocated:
    // the second half of them (and the excluded ones) on another thread, the first half here after
    // the allocation.
    let half = apps.facts.len() / 2;
    let (rows, allocated) = std::thread::scope(|scope| {
        let second = scope.spawn(|| {
            report::RankingRows::tails(&cx, &scores, &lists, half..apps.facts.len())
                .with_excluded(&cx, &scores)
        });
        let allocated = allocate(input, &scores, &lists);
        let first = report::RankingRows::tails(&cx, &scores, &lists, 0..half);
        (second.join().map(|second| first.then(second)), allocated)
    });
    let rows = rows.map_err(|_| "the ranking could not be made".to_owned())?;
    let outcome = RunOutcome::of(scores, lists, allocated.map_err(failed)?);
    // The ranking (most of it made already) and the public list on this thread, the allocation and the
    // waiting lists on another: about the same work. With facilities' lists, whose ranking rows are
    // all made here (eight per application), the public list goes to the other thread.
    let by_facility = report::by_facility(&outcome.lists);
    let status = report::statuses(&outcome);
    let public = || out.output("public.csv", |f| report::public(&cx, &outcome, &status, f));
    std::thread::scope(|scope| {
        let others = scope.spawn(|| {
            out.output("allocation.csv", |f| report::allocation(&cx, &outcome, f))?;
            out.output("waiting.csv", |f| report::waiting(&cx, &outcome, &status, f))?;
            if by_facility { public() } else { Ok(()) }
        });
        let ranking = out
            .output("ranking.csv", |f| {
                report::ranking(&cx, &outcome.scores, &outcome.lists, rows, f);
            })
            .and_then(|()| if by_facility { Ok(()) } else { public() });
        let others = others
            .join()
            .unwrap_or_else(|_| Err("the lists could not be made".into()));
        ranking.and(others)
    })?;
    Ok(report::counts(&outcome, apps.facts.len()))
}

/// [`graduatorie_ranker::score_and_rank`], the two halves of the applications scored at once (the
/// scores do not depend on how the batch is split; `graduatorie_rules` tests that).
fn score_in_halves(
    reg: &Regulation,
    facts: &FactsBatch,
    seed: Option<&str>,
    failed: impl Fn(RunError) -> String,
) -> Result<(BatchScores, Vec<RankedList>), String> {
    let half = facts.len() / 2;
    let (first, second) = std::thread::scope(|scope| {
        let second = scope.spawn(|| reg.score_batch_range(facts, half..facts.len()));
        (reg.score_batch_range(facts, 0..half), second.join())
    });
    // The first half's error first: the application with the lowest index, as one scoring names.
    let evaluation = |(index, error)| failed(RunError::Evaluation { index, error });
    let mut scores = first.map_err(evaluation)?;
    let second = second.map_err(|_| "the applications could not be scored".to_owned())?;
    scores.append(&second.map_err(evaluation)?);
    let lists = graduatorie_ranker::lists_of(reg, facts, seed, &scores);
    Ok((scores, lists))
}

/// A call for vouchers or contributions: lists, then grants until the budget is spent.
fn compute_budget(
    files: &RunFiles,
    applications: Arc<Vec<u8>>,
    reg: &Regulation,
    budget: &str,
    out: &Outbox,
) -> Result<report::BudgetSummary, String> {
    if !reg.has_grant() {
        return Err("the regulation has no [grant] saying how much each beneficiary receives".into());
    }
    if !files.answers.is_empty() {
        return Err("a call with a budget has no rounds of answers".into());
    }
    let money = graduatorie_domain::Money::parse(budget).map_err(|e| format!("--budget: {e}"))?;
    let mut table = graduatorie_rules::FacilityTable::closed(Vec::<String>::new());
    let apps = all_applications(files, &applications, reg, &mut table, false)?;
    drop(applications);
    let outcome = run_budget(BudgetInput {
        regulation: reg,
        facts: &apps.facts,
        seed: files.seed.as_deref(),
        budget: money,
    })
    .map_err(|e| match e {
        RunError::Evaluation { index, error } => {
            format!(
                "{}: the application cannot be evaluated: {error}",
                at(&apps, index)
            )
        }
        RunError::Grant { index, message } => format!("{}: {message}", at(&apps, index)),
        RunError::AnswerWithoutOffer { .. } => "no answers in a budget call".into(),
    })?;
    let facilities = tables::Facilities::none();
    let by_protocol = apps.protocol_order();
    let cx = Context {
        reg,
        facts: &apps.facts,
        facilities: &facilities,
        seed: files.seed.as_deref(),
        by_protocol: &by_protocol,
    };
    let rows = report::RankingRows::of(&cx, &outcome.scores, &outcome.lists);
    out.output("ranking.csv", |f| {
        report::ranking(&cx, &outcome.scores, &outcome.lists, rows, f);
    })?;
    out.output("grants.csv", |f| report::grants(&cx, &outcome, f))?;
    out.output("public.csv", |f| report::public_grants(&cx, &outcome, f))?;
    Ok(report::budget_summary(&outcome, money))
}
/// `graduatorie rank`.
#[derive(Debug, Args)]
pub struct RankArgs {
    /// Rules file (the regulation).
    #[arg(long, required_unless_present = "round", conflicts_with = "round")]
    rules: Option<String>,
    /// Applications (CSV, columns as `graduatorie rules form` and docs/formats.md describe).
    #[arg(long, required_unless_present = "round", conflicts_with = "round")]
    applications: Option<String>,
    /// Facilities and their seats per age section (CSV).
    #[arg(
        long,
        required_unless_present_any = ["round", "budget"],
        conflicts_with_all = ["round", "budget"]
    )]
    facilities: Option<String>,
    /// For vouchers and contributions instead of seats: the money to share (`50000.00`); each
    /// beneficiary receives what the regulation's [grant] gives, in ranking order.
    #[arg(long, conflicts_with = "round")]
    budget: Option<String>,
    /// Published seed of the public draw.
    #[arg(long)]
    seed: Option<String>,
    /// Directory of the previous round: its inputs are reused and the answers are applied to its offers.
    #[arg(long, requires = "answers")]
    round: Option<String>,
    /// The families' answers to the previous round's offers (CSV: protocol, answer).
    #[arg(long, requires = "round")]
    answers: Option<String>,
    /// Applications of a late batch (same columns as the applications), taking part from this round on.
    #[arg(long, requires = "round")]
    late: Option<String>,
    /// Directory to write (must not exist, or be empty).
    #[arg(long)]
    out: String,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

/// Reads a run directory's manifest and inputs, checking every input against its hash.
fn read_run_dir(dir: &Path) -> Result<(RunFiles, serde_json::Value), String> {
    let manifest_path = dir.join("manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(&read(&manifest_path)?)
        .map_err(|e| format!("{}: not a manifest: {e}", manifest_path.display()))?;
    let inputs = manifest
        .get("inputs")
        .and_then(serde_json::Value::as_object)
        .ok_or_else(|| format!("{}: 'inputs' is missing", manifest_path.display()))?;
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, hash) in inputs {
        // Only plain file names: a manifest must not make us read outside its directory.
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(format!(
                "{}: input '{name}' is not a plain file name",
                manifest_path.display()
            ));
        }
        let path = dir.join(name);
        let bytes = read(&path)?;
        if Some(sha256_hex(&bytes).as_str()) != hash.as_str() {
            return Err(format!(
                "{}: its SHA-256 differs from the manifest's: the file was changed after the run",
                path.display()
            ));
        }
        contents.insert(name.clone(), bytes);
    }
    let mut take = |name: &str| {
        contents
            .remove(name)
            .ok_or_else(|| format!("{}: the manifest lists no {name}", manifest_path.display()))
    };
    let rules = String::from_utf8(take("rules.toml")?)
        .map_err(|_| format!("{}: rules.toml is not UTF-8", dir.display()))?;
    let applications = take("applications.csv")?;
    let facilities = contents.remove("facilities.csv");
    let mut answers = Vec::new();
    for k in 1.. {
        match contents.remove(&answers_name(k)) {
            Some(a) => answers.push(a),
            None => break,
        }
    }
    let late: Vec<(usize, Vec<u8>)> = (2..=answers.len() + 1)
        .filter_map(|round| Some((round, contents.remove(&late_name(round))?)))
        .collect();
    if let Some(extra) = contents.keys().next() {
        return Err(format!(
            "{}: unexpected input '{extra}' in the manifest",
            manifest_path.display()
        ));
    }
    let seed = manifest
        .get("seed")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let budget = manifest
        .pointer("/budget/budget")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    Ok((
        RunFiles {
            rules,
            applications,
            facilities,
            answers,
            late,
            seed,
            budget,
        },
        manifest,
    ))
}

/// Runs `graduatorie rank`.
pub fn rank(args: RankArgs) -> Result<(), String> {
    let out_dir = PathBuf::from(&args.out);
    if let Ok(mut entries) = std::fs::read_dir(&out_dir)
        && entries.next().is_some()
    {
        return Err(format!(
            "{}: the directory is not empty; choose a new one (a run never overwrites another)",
            out_dir.display()
        ));
    }
    let files = match (&args.round, &args.answers) {
        (Some(prev), Some(answers)) => {
            let (mut files, _) = read_run_dir(Path::new(prev))?;
            if let Some(seed) = &args.seed
                && files.seed.as_ref() != Some(seed)
            {
                return Err(format!(
                    "--seed differs from the seed of {prev}: a later round uses the same seed as the first"
                ));
            }
            files.answers.push(read(Path::new(answers))?);
            if let Some(late) = &args.late {
                files.late.push((files.answers.len() + 1, read(Path::new(late))?));
            }
            files
        }
        _ => {
            let (Some(rules), Some(applications)) = (&args.rules, &args.applications) else {
                return Err("--rules and --applications are needed".into());
            };
            let reg = crate::rules_cmd::load(rules)?;
            RunFiles {
                rules: reg.flattened.clone(),
                applications: read(Path::new(applications))?,
                facilities: args.facilities.as_ref().map(|f| read(Path::new(f))).transpose()?,
                budget: args.budget.clone(),
                answers: Vec::new(),
                late: Vec::new(),
                seed: args.seed.clone(),
            }
        }
    };
    // Problems are found in the files as the run directory names them; name the user's files instead.
    let mut given: Vec<(String, &String)> = Vec::new();
    if let Some(a) = &args.applications {
        given.push(("applications.csv".into(), a));
    }
    if let Some(f) = &args.facilities {
        given.push(("facilities.csv".into(), f));
    }
    if let Some(a) = &args.answers {
        given.push((answers_name(files.answers.len()), a));
    }
    if let Some(l) = &args.late {
        given.push((late_name(files.answers.len() + 1), l));
    }
    let (rounds, budget_mode) = (files.answers.len() + 1, files.budget.is_some());
    let partial = PartialDir::create(&out_dir)?;
    let mut open = HashMap::new();
    let computed = compute(files, &mut |name, bytes, last| {
        partial.put(&mut open, name, bytes, last)
    });
    let manifest = match computed {
        Ok(m) => partial.finish().map(|()| m),
        Err(e) => {
            partial.abandon();
            Err(e)
        }
    };
    let manifest = manifest.map_err(|e| {
        e.lines()
            .map(|line| {
                given
                    .iter()
                    .find_map(|(inner, user)| {
                        line.strip_prefix(&format!("{inner}:"))
                            .map(|rest| format!("{user}:{rest}"))
                    })
                    .unwrap_or_else(|| line.to_owned())
            })
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap_or_default();
    let number = |k: &str| {
        manifest
            .pointer(k)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let text = |k: &str| {
        manifest
            .pointer(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    };
    let hash = text("/regulation/hash").get(..12).unwrap_or("");
    if budget_mode {
        println_out(&format!(
            "{}: {} applications: {} excluded, {} funded ({} in part), {} granted of {}; rules hash {hash}",
            out_dir.display(),
            number("/budget/applications"),
            number("/budget/excluded"),
            number("/budget/funded"),
            number("/budget/partial"),
            text("/budget/granted"),
            text("/budget/budget"),
        ));
    } else {
        println_out(&format!(
            "{}: round {}, {} applications: {} excluded, {} seats accepted, {} offered, {} waiting, {} cancelled; rules hash {hash}",
            out_dir.display(),
            rounds,
            number("/counts/applications"),
            number("/counts/excluded"),
            number("/counts/accepted"),
            number("/counts/offered"),
            number("/counts/waiting"),
            number("/counts/cancelled"),
        ));
    }
    Ok(())
}

/// A run directory being written: files go into a temporary directory next to it, renamed into place
/// at the end, so that a reader never sees half a run and a failure leaves nothing behind.
struct PartialDir {
    tmp: PathBuf,
    dir: PathBuf,
    /// The first directory above `dir` that did not exist before (removed again on failure).
    created: Option<PathBuf>,
}

impl PartialDir {
    fn create(dir: &Path) -> Result<Self, String> {
        let name = dir
            .file_name()
            .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
        let tmp = dir.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let created = tmp
            .ancestors()
            .skip(1)
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_owned);
        std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: cannot create: {e}", tmp.display()))?;
        Ok(PartialDir {
            tmp,
            dir: dir.to_owned(),
            created,
        })
    }

    /// Writes a piece of `file`, opened on its first piece (in `open`) and closed after its last.
    fn put(
        &self,
        open: &mut HashMap<String, std::fs::File>,
        file: &str,
        bytes: &[u8],
        last: bool,
    ) -> Result<(), String> {
        use std::io::Write;
        let path = self.tmp.join(file);
        let cannot = |e: std::io::Error| format!("{}: cannot write: {e}", path.display());
        let mut f = match open.remove(file) {
            Some(f) => f,
            None => std::fs::File::create(&path).map_err(cannot)?,
        };
        f.write_all(bytes).map_err(cannot)?;
        if !last {
            open.insert(file.to_owned(), f);
        }
        Ok(())
    }

    fn finish(self) -> Result<(), String> {
        let result = (|| {
            if self.dir.exists() {
                // Only an empty directory gets here; rename replaces it.
                std::fs::remove_dir(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
            }
            std::fs::rename(&self.tmp, &self.dir)
                .map_err(|e| format!("{}: cannot create: {e}", self.dir.display()))
        })();
        if result.is_err() {
            self.abandon();
        }
        result
    }

    fn abandon(&self) {
        let _ = std::fs::remove_dir_all(self.created.as_ref().unwrap_or(&self.tmp));
    }
}

/// Runs `graduatorie verify DIR`.
pub fn verify(dir: &str) -> Result<(), String> {
    let path = Path::new(dir);
    let (files, manifest) = read_run_dir(path)?;
    let rounds = files.answers.len() + 1;
    // Every file is compared piece by piece as it is recomputed; the first in name order that
    // differs is reported.
    let mut differences: BTreeMap<String, String> = BTreeMap::new();
    let mut open: HashMap<String, Compare> = HashMap::new();
    compute(files, &mut |name, piece, last| {
        let compare = open
            .entry(name.to_owned())
            .or_insert_with(|| Compare::open(path.join(name)));
        if let Some(difference) = compare.piece(name, piece, last) {
            differences.insert(name.to_owned(), difference);
        }
        if last {
            open.remove(name);
        }
        Ok(())
    })
    .map_err(|e| format!("{dir}: the inputs no longer make a run: {e}"))?;
    if let Some((_, first)) = differences.into_iter().next() {
        return Err(first);
    }
    println_out(&format!(
        "{dir}: verified: round {}, every output recomputed byte for byte and every hash matches the manifest (rules hash {})",
        rounds,
        manifest
            .pointer("/regulation/hash")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(""),
    ));
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Generate {
        #[command(flatten)]
        args: crate::generate_cmd::GenerateArgs,
    }

    /// A synthetic Bologna call of `n` applications, as `rank` reads it.
    fn call(name: &str, n: u32) -> RunFiles {
        let dir = std::env::temp_dir().join(format!("graduatorie-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rules = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/rules/bologna-nidi.toml"
        );
        let n = n.to_string();
        let out = dir.to_str().unwrap();
        let args = [
            "generate",
            "--applications",
            &n,
            "--facilities",
            "12",
            "--preferences",
            "3",
        ];
        let g = Generate::try_parse_from(args.into_iter().chain(["--rules", rules, "--out", out])).unwrap();
        crate::generate_cmd::generate(g.args).unwrap();
        let files = RunFiles {
            rules: crate::rules_cmd::load(rules).unwrap().flattened,
            applications: std::fs::read(dir.join("applications.csv")).unwrap(),
            facilities: Some(std::fs::read(dir.join("facilities.csv")).unwrap()),
            budget: None,
            answers: Vec::new(),
            late: Vec::new(),
            seed: Some("unit".into()),
        };
        std::fs::remove_dir_all(&dir).unwrap();
        files
    }

    #[test]
    fn the_manifest_hashes_exactly_what_the_sink_received() {
        let mut got: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut closed: Vec<String> = Vec::new();
        let manifest = compute(call("hashes", 300), &mut |name, bytes, last| {
            assert!(!closed.iter().any(|c| c == name), "{name} after its last piece");
            got.entry(name.to_owned()).or_default().extend_from_slice(bytes);
            if last {
                closed.push(name.to_owned());
            }
            Ok(())
        })
        .unwrap();
        closed.sort();
        assert_eq!(closed, got.keys().cloned().collect::<Vec<_>>(), "every file ends");
        assert_eq!(got.get("manifest.json"), Some(&manifest));
        let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        let mut named = vec!["manifest.json".to_owned()];
        for part in ["inputs", "outputs"] {
            for (name, hash) in m[part].as_object().unwrap() {
                assert_eq!(hash.as_str(), Some(sha256_hex(&got[name]).as_str()), "{name}");
                named.push(name.clone());
            }
        }
        named.sort();
        assert_eq!(named, got.keys().cloned().collect::<Vec<_>>());
        for file in [
            "ranking.csv",
            "allocation.csv",
            "waiting.csv",
            "public.csv",
            "applications.csv",
        ] {
            assert!(
                m["outputs"].get(file).or(m["inputs"].get(file)).is_some(),
                "{file}"
            );
        }
    }

    /// A list of thousands of rows is handed over in pieces (never whole), which make the same file.
    #[test]
    fn large_lists_are_handed_over_in_pieces() {
        let mut pieces: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut whole: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        compute(call("pieces", 12_000), &mut |name, bytes, _| {
            pieces.entry(name.to_owned()).or_default().push(bytes.len());
            whole.entry(name.to_owned()).or_default().extend_from_slice(bytes);
            Ok(())
        })
        .unwrap();
        let (chunk, ranking) = (1 << 20, &pieces["ranking.csv"]);
        assert!(
            whole["ranking.csv"].len() > chunk,
            "{}",
            whole["ranking.csv"].len()
        );
        assert!(ranking.len() > 2, "{ranking:?}");
        assert!(ranking.iter().all(|&n| n < 2 * chunk), "{ranking:?}");
        // Whole lines in each piece; the last piece (empty) ends the file.
        let mut at = 0;
        for &n in ranking {
            at += n;
            assert!(n == 0 || whole["ranking.csv"][at - 1] == b'\n');
        }
        assert_eq!(ranking.last(), Some(&0));
        assert_eq!(
            pieces["applications.csv"].len(),
            1,
            "an input is handed over whole"
        );
    }

    #[test]
    fn a_failing_sink_ends_the_run_with_its_own_error() {
        for failing in ["applications.csv", "ranking.csv", "public.csv"] {
            let mut after = Vec::new();
            let mut failed = false;
            let result = compute(call(failing, 200), &mut |name, _, _| {
                if failed {
                    after.push(name.to_owned());
                }
                if name == failing {
                    failed = true;
                    return Err(format!("{name}: cannot write: no space left on device"));
                }
                Ok(())
            });
            assert_eq!(
                result.unwrap_err(),
                format!("{failing}: cannot write: no space left on device")
            );
            assert!(
                after.is_empty(),
                "{failing}: {after:?} handed over after the failure"
            );
        }
    }
}
