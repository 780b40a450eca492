//! Feeds arbitrary bytes to the rules compiler; when they compile, evaluates an arbitrary application.
//! The input is `RULES [0x00 APPLICATION_JSON]`.
#![no_main]

use graduatorie_rules::{ApplicationJson, FacilityTable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (rules, app) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{\"inputs\":{}}"[..]),
    };
    let Ok(rules) = std::str::from_utf8(rules) else { return };
    let Ok(regulation) = graduatorie_rules::compile_str("fuzz.toml", rules) else { return };
    let _ = regulation.form();
    let Ok(app) = serde_json::from_slice::<ApplicationJson>(app) else { return };
    let mut facilities = FacilityTable::open();
    if let Ok(facts) = regulation.facts(&app, &mut facilities) {
        if let Ok(evaluation) = regulation.evaluate(&facts) {
            let fee = regulation.fee_for(&facts).ok();
            let _ = regulation.explain(&evaluation, &facilities, fee).to_text();
        }
    }
});
