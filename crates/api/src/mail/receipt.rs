//! The text of a receipt e-mail: the protocol number, what the family declared (with the form's own
//! labels), its choices in order, and how to amend. Plain text, Italian. Answers the regulation marks
//! as special-category data (health, social services) are named but not repeated: e-mail is not a
//! safe channel for them, and the family can read them in its own area.

use std::fmt::Write as _;

use graduatorie_rules::form::Field;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// What a receipt says.
#[derive(Debug)]
pub struct ReceiptFacts<'a> {
    /// The regulation's title (the form's).
    pub title: &'a str,
    /// The municipality or union running the call.
    pub organisation: &'a str,
    /// School year.
    pub school_year: &'a str,
    /// Protocol number.
    pub protocol: &'a str,
    /// First submission.
    pub submitted_at: Timestamp,
    /// The version this receipt is for, and when it was saved.
    pub version: i32,
    /// When that version was saved.
    pub saved_at: Timestamp,
    /// Until when it can be amended or withdrawn.
    pub closes_at: Timestamp,
    /// The receipt's fingerprint, as the API gives it.
    pub receipt_sha256: &'a str,
    /// The form's fields.
    pub fields: &'a [Field],
    /// The answers by field name.
    pub answers: &'a serde_json::Map<String, serde_json::Value>,
    /// Chosen facilities in order: (code, name).
    pub preferences: &'a [(String, String)],
    /// The service's public address, for the family's area.
    pub public_url: &'a str,
}

/// Instants as Italians read them, in Europe/Rome.
fn local(t: Timestamp) -> String {
    let rome = TimeZone::get("Europe/Rome").unwrap_or(TimeZone::UTC);
    t.to_zoned_datetime(rome)
        .strftime("%d/%m/%Y alle %H:%M")
        .to_string()
}

/// The subject line.
pub fn subject(f: &ReceiptFacts<'_>) -> String {
    if f.version > 1 {
        format!(
            "Ricevuta della modifica n. {} alla domanda {} — {}",
            f.version - 1,
            f.protocol,
            f.title
        )
    } else {
        format!("Ricevuta della domanda {} — {}", f.protocol, f.title)
    }
}

/// The body.
pub fn body(f: &ReceiptFacts<'_>) -> String {
    let mut out = String::new();
    let what = if f.version > 1 {
        "la modifica della domanda"
    } else {
        "la domanda"
    };
    // `write!` into a String cannot fail.
    let _ = writeln!(out, "Gentile richiedente,\n");
    let _ = writeln!(
        out,
        "{what} per \"{}\" ({}, anno {}) è stata registrata.\n",
        f.title, f.organisation, f.school_year
    );
    let _ = writeln!(out, "Numero di protocollo: {}", f.protocol);
    let _ = writeln!(out, "Presentata il: {} (ora italiana)", local(f.submitted_at));
    if f.version > 1 {
        let _ = writeln!(out, "Versione: {} del {}", f.version, local(f.saved_at));
    }
    let _ = writeln!(out, "Impronta della ricevuta (SHA-256): {}\n", f.receipt_sha256);
    let _ = writeln!(out, "DATI DICHIARATI");
    let mut any = false;
    for field in f.fields {
        if let Some(value) = f.answers.get(&field.name).filter(|v| !v.is_null()) {
            any = true;
            let _ = writeln!(out, "- {}: {}", field.label, shown(field, value, "  "));
        }
    }
    if !any {
        let _ = writeln!(out, "(nessuna risposta)");
    }
    if !f.preferences.is_empty() {
        let _ = writeln!(out, "\nSTRUTTURE SCELTE, IN ORDINE DI PREFERENZA");
        for (i, (code, name)) in f.preferences.iter().enumerate() {
            let _ = writeln!(out, "{}. {name} ({code})", i + 1);
        }
    }
    let _ = writeln!(out, "\nCOME MODIFICARE O RITIRARE LA DOMANDA");
    let _ = writeln!(
        out,
        "Fino al {} può modificarla o ritirarla dalla sua area personale ({}) oppure allo \
         sportello del suo Comune. Ogni modifica mantiene lo stesso numero di protocollo e produce \
         una nuova ricevuta; vale l'ultima versione presentata entro la scadenza.\n",
        local(f.closes_at),
        f.public_url.trim_end_matches('/')
    );
    let _ = writeln!(
        out,
        "Se non ha presentato lei questa domanda, si rivolga allo sportello del suo Comune.\n\
         Messaggio inviato automaticamente: le risposte a questo indirizzo non vengono lette."
    );
    out
}

/// An answer as a person reads it.
fn shown(field: &Field, value: &serde_json::Value, indent: &str) -> String {
    if field.sensitive {
        return "dichiarato (dato riservato: non riportato per e-mail, consultabile nell'area personale)"
            .to_owned();
    }
    match (field.kind, value) {
        ("bool", serde_json::Value::Bool(b)) => if *b { "sì" } else { "no" }.to_owned(),
        ("choice", serde_json::Value::String(s)) => field
            .options
            .iter()
            .find(|o| &o.value == s)
            .map_or_else(|| s.clone(), |o| o.label.clone()),
        ("money", v) => format!("€ {}", plain(v)),
        ("list", serde_json::Value::Array(items)) => {
            let mut out = format!("{} voci", items.len());
            for (i, item) in items.iter().enumerate() {
                let parts: Vec<String> = field
                    .fields
                    .iter()
                    .filter_map(|sub| {
                        let v = item.get(&sub.name).filter(|v| !v.is_null())?;
                        Some(format!("{}: {}", sub.label, shown(sub, v, indent)))
                    })
                    .collect();
                let _ = write!(out, "\n{indent}{}. {}", i + 1, parts.join("; "));
            }
            out
        }
        (_, serde_json::Value::Array(items)) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        (_, v) => plain(v),
    }
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    const RULES: &str = include_str!("../../../../config/rules/unione-sorbara-nidi.toml");

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_receipt_names_protocol_answers_choices_and_how_to_amend_but_not_sensitive_data() {
        let regulation = graduatorie_rules::compile_str("prova.toml", RULES).unwrap();
        let form = regulation.form();
        let answers = serde_json::json!({
            "child_birth_date": "2025-03-10",
            "parent_absent": "separated",
            "pregnancy": false,
            "invalid_members": [{ "relation": "parent_or_sibling", "percent": 74 }],
            "other_children": [],
        });
        let prefs = vec![("F0001".to_owned(), "Nido Girasole".to_owned())];
        let facts = ReceiptFacts {
            title: &form.title,
            organisation: "Unione Comuni del Sorbara",
            school_year: "2026/2027",
            protocol: "2027/000042",
            submitted_at: t("2027-03-01T08:30:00Z"),
            version: 1,
            saved_at: t("2027-03-01T08:30:00Z"),
            closes_at: t("2027-03-31T21:59:59Z"),
            receipt_sha256: "ab12",
            fields: &form.fields,
            answers: answers.as_object().unwrap(),
            preferences: &prefs,
            public_url: "https://servizi.example.invalid/",
        };
        assert_eq!(
            subject(&facts),
            "Ricevuta della domanda 2027/000042 — Nidi d'infanzia dell'Unione — iscrizioni 2026/2027"
        );
        let text = body(&facts);
        for expected in [
            "Numero di protocollo: 2027/000042",
            // 08:30 UTC is 09:30 in Rome in March (CET, UTC+1).
            "Presentata il: 01/03/2027 alle 09:30 (ora italiana)",
            "- Data di nascita del bambino: 2025-03-10",
            // A choice shows its label, a yes/no in words.
            "- Genitore assente: Separazione o divorzio",
            "- Gravidanza in corso: no",
            // A list holding special-category data is withheld whole.
            "- Conviventi con invalidità: dichiarato (dato riservato",
            "- Altri figli nel nucleo (esclusi il bambino e i gemelli): 0 voci",
            "1. Nido Girasole (F0001)",
            // 21:59:59 UTC on 31 March is 23:59 in Rome (CEST, UTC+2, since 28 March 2027).
            "Fino al 31/03/2027 alle 23:59",
            "(https://servizi.example.invalid)",
            "Impronta della ricevuta (SHA-256): ab12",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert!(!text.contains("74"), "a sensitive value is not repeated:\n{text}");
        assert!(!text.contains("Genitore o fratello"), "{text}");

        let amended = ReceiptFacts {
            version: 3,
            saved_at: t("2027-03-10T10:00:00Z"),
            ..facts
        };
        assert_eq!(
            subject(&amended),
            "Ricevuta della modifica n. 2 alla domanda 2027/000042 — Nidi d'infanzia dell'Unione — iscrizioni 2026/2027"
        );
        assert!(body(&amended).contains("Versione: 3 del 10/03/2027 alle 11:00"));
    }
}
