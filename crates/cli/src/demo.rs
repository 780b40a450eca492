//! Demo data for `graduatorie serve --demo` (what `make run` starts): on an empty database, a union of
//! three towns with a front desk each, a nursery call and a voucher call open now under regulations
//! from `config/rules/`, facilities with seats, a few hundred synthetic applications, and one
//! member of staff per role. Never on a database that already holds an organisation.

use graduatorie_domain::{CodiceFiscale, FacilityCode, OrganisationId};
use graduatorie_ranker::synthetic::{Generator, code};
use graduatorie_rules::FacilityTable;
use graduatorie_store::applications::{self, Submission};
use graduatorie_store::calls::{self, CallStatus, NewCall, Seats};
use graduatorie_store::orgs::{self, OrganisationKind, Role};
use graduatorie_store::{Store, write_tx};
use jiff::{SignedDuration, Timestamp};

/// The nursery regulation of the demo union.
const NIDI: &str = include_str!("../../../config/rules/unione-sorbara-nidi.toml");
/// The voucher regulation of the demo union.
const VOUCHER: &str = include_str!("../../../config/rules/unione-sorbara-voucher.toml");

/// The demo password of every demo member of staff (printed at start-up, listed in the README).
pub const PASSWORD: &str = "demo-graduatorie";

/// Demo staff: login, role, and the town (`None` = the union).
pub const STAFF: [(&str, Role, Option<usize>); 6] = [
    ("sportello.bastiglia", Role::Operator, Some(0)),
    ("sportello.bomporto", Role::Operator, Some(1)),
    ("sportello.ravarino", Role::Operator, Some(2)),
    ("responsabile", Role::Manager, None),
    ("revisore", Role::Auditor, None),
    ("amministratore", Role::Admin, None),
];

const TOWNS: [&str; 3] = ["Comune di Bastiglia", "Comune di Bomporto", "Comune di Ravarino"];
const NURSERIES: [&str; 4] = [
    "Nido Il Girasole",
    "Nido Arcobaleno",
    "Nido L'Aquilone",
    "Nido Il Bosco",
];

/// Synthetic applications to the nursery call.
const APPLICATIONS: u32 = 300;

/// What was loaded, for the start-up message.
#[derive(Debug)]
pub struct Loaded {
    /// The nursery call's id.
    pub nidi_call: i64,
    /// The voucher call's id.
    pub voucher_call: i64,
    /// Applications submitted.
    pub applications: usize,
}

/// A codice fiscale for synthetic applicant `n` (valid check character, a foreign-state birthplace
/// code so it matches no real person's municipality).
fn synthetic_cf(n: u32) -> Result<CodiceFiscale, String> {
    let months = ['A', 'B', 'C', 'D', 'E', 'H', 'L', 'M', 'P', 'R', 'S', 'T'];
    let month = months
        .get(usize::try_from(n % 12).unwrap_or(0))
        .copied()
        .unwrap_or('A');
    let body = format!(
        "DMOFAM{:02}{month}{:02}Z{:03}",
        80 + n % 15,
        1 + n % 28,
        100 + n % 900
    );
    let full = graduatorie_domain::codice_fiscale::with_check_character(&body)
        .ok_or_else(|| format!("demo: cannot make a codice fiscale from {body}"))?;
    CodiceFiscale::parse(&full).map_err(|e| format!("demo: {e}"))
}

/// Loads the demo into an empty database; returns `None` when it already holds data.
pub fn load(store: &Store, now: Timestamp) -> Result<Option<Loaded>, String> {
    let err = |e: graduatorie_store::StoreError| format!("demo data: {e}");
    let mut conn = store.conn().map_err(err)?;
    if orgs::find_login(&mut conn, "responsabile")
        .map_err(err)?
        .is_some()
        || !calls::accepting(&mut conn, now).map_err(err)?.is_empty()
    {
        return Ok(None);
    }
    let nidi =
        graduatorie_rules::compile_str("unione-sorbara-nidi.toml", NIDI).map_err(|e| e.lines().join("; "))?;
    let hash = graduatorie_api::auth::passwords::hash(PASSWORD)?;
    let day = SignedDuration::from_hours(24);
    let t0 = now.checked_sub(day * 7).map_err(|e| e.to_string())?;
    let opens = now.checked_sub(day).map_err(|e| e.to_string())?;
    let closes = now.checked_add(day * 30).map_err(|e| e.to_string())?;

    // Three steps: `add_facility` and `set_status` hold their own transactions, which do not nest.
    // A failure half-way leaves the database refusing a second load: start from a new file.
    let (union, towns, nidi_call, voucher_call) = write_tx(&mut conn, |tx| {
        let union = orgs::create_organisation(
            tx,
            OrganisationKind::Union,
            "Unione Comuni del Sorbara (demo)",
            None,
            t0,
        )?;
        let mut towns: Vec<OrganisationId> = Vec::new();
        for name in TOWNS {
            let town = orgs::create_organisation(tx, OrganisationKind::Municipality, name, None, t0)?;
            orgs::add_union_member(tx, union, town)?;
            towns.push(town);
        }
        for (login, role, town) in STAFF {
            let org = town.and_then(|t| towns.get(t).copied()).unwrap_or(union);
            let user = orgs::create_user(tx, login, login, t0)?;
            orgs::grant_role(tx, user, org, role)?;
            orgs::set_password_hash(tx, user, &hash)?;
        }
        let mut open_call = |code: &str,
                             name: &str,
                             rules: &str|
         -> Result<graduatorie_domain::CallId, graduatorie_store::StoreError> {
            let service = calls::create_service(tx, union, code, name)?;
            calls::create_call(
                tx,
                &NewCall {
                    service,
                    school_year: "2026/2027",
                    opens_at: opens,
                    closes_at: closes,
                    rules_toml: rules,
                },
                t0,
            )
        };
        let nidi_call = open_call("nidi", "Nidi d'infanzia", NIDI)?;
        let voucher_call = open_call("buoni-0-3", "Buoni servizio 0-3 anni", VOUCHER)?;
        Ok((union, towns, nidi_call, voucher_call))
    })
    .map_err(err)?;
    let _ = union;
    let facilities = u32::try_from(NURSERIES.len()).unwrap_or(1);
    for (f, name) in (0..).zip(NURSERIES) {
        let code = FacilityCode::parse(&code(f)).map_err(|_| "demo: facility code".to_owned())?;
        let seats = [Seats {
            section: String::new(),
            time_slot: String::new(),
            seats: 40 + i64::from(f) * 10,
        }];
        calls::add_facility(&mut conn, nidi_call, &code, name, &seats).map_err(err)?;
    }
    calls::set_status(&mut conn, nidi_call, CallStatus::Open).map_err(err)?;
    calls::set_status(&mut conn, voucher_call, CallStatus::Open).map_err(err)?;

    let loaded = write_tx(&mut conn, |tx| {
        let mut generator = Generator::new(&nidi, "demo", facilities, 3);
        let mut table = FacilityTable::closed((0..facilities).map(code));
        let mut submissions = Vec::new();
        for n in 0..APPLICATIONS {
            let Some(app) = generator.application(n + 1, &mut table) else {
                continue;
            };
            let owner = synthetic_cf(n).map_err(graduatorie_store::StoreError::Config)?;
            let preferences = app
                .preferences
                .iter()
                .map(|p| FacilityCode::parse(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| graduatorie_store::StoreError::Config("demo preference".into()))?;
            submissions.push(Submission {
                call: nidi_call,
                answers: serde_json::Value::Object(app.inputs),
                preferences,
                family: app.family,
                by: None,
                owner: Some(owner),
                municipality: towns.get(usize::try_from(n % 3).unwrap_or(0)).copied(),
                contact_email: None,
                idempotency: None,
            });
        }
        let jobs: Vec<_> = submissions.iter().map(|s| (s, now)).collect();
        let done = applications::submit_group_in_tx(tx, &jobs)?;
        let applications = done.iter().filter(|r| r.is_ok()).count();
        Ok(Loaded {
            nidi_call: nidi_call.get(),
            voucher_call: voucher_call.get(),
            applications,
        })
    })
    .map_err(err)?;
    Ok(Some(loaded))
}
