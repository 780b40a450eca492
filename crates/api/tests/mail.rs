//! Receipt e-mails through a real SMTP server on loopback: a submission's receipt arrives with its
//! protocol number and declared data, an amendment's too (at a changed address); a delivery the
//! server took but never acknowledged is sent again with the same `Message-ID`; a recipient refused
//! for good is abandoned, not retried; nothing of it reaches the log.

use graduatorie_api::mail::{self, Mailer, Pass};
use graduatorie_api::rules_cache::RulesCache;
use graduatorie_store::Backend;
use graduatorie_store::outbox;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::smtp::{Behaviour, SmtpServer};
use crate::support::{FAMILY_1, TestServer, application, client, dev_login, world};

const FROM: &str = "Ufficio scuola <noreply@unione.example.invalid>";

fn submit(s: &TestServer, token: &str, call: i64, body: &Value) -> Value {
    let mut r = client()
        .post(s.url(&format!("/api/v1/calls/{call}/applications")))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(body)
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.body_mut().read_to_string().unwrap());
    r.body_mut().read_json().unwrap()
}

/// Waits until every queued message is marked sent (the mark follows the server's answer).
fn wait_all_sent(s: &TestServer, n: usize) -> Vec<outbox::Message> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let all = outbox::all(&mut s.store().conn().unwrap()).unwrap();
        if all.iter().filter(|m| m.sent_at.is_some()).count() >= n || std::time::Instant::now() > until {
            return all;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn receipts_arrive_for_submission_and_amendment(backend: Backend) {
    let smtp = SmtpServer::start(Behaviour::Accept);
    let url = smtp.url();
    let s = TestServer::start_with(
        backend,
        &[
            ("GRADUATORIE__AUTH__DEV_LOGIN", "true"),
            ("GRADUATORIE__MAIL__SMTP_URL", url.as_str()),
            ("GRADUATORIE__MAIL__POLL_SECONDS", "1"),
            ("GRADUATORIE__MAIL__FROM", FROM),
            (
                "GRADUATORIE__MAIL__PUBLIC_URL",
                "https://servizi.unione.example.invalid",
            ),
        ],
    );
    let w = world(&s);
    let token = dev_login(&s, FAMILY_1);
    let body = application(w.town_a);
    let receipt = submit(&s, &token, w.call.get(), &body);
    let protocol = receipt["protocol"].as_str().unwrap();
    let id = receipt["application"].as_i64().unwrap();

    let got = smtp.wait_for(1);
    assert_eq!(got.len(), 1, "one receipt");
    let mail = &got[0];
    assert_eq!(mail.rcpt_to, vec!["famiglia@example.invalid".to_owned()]);
    assert_eq!(
        mail.header("From").as_deref(),
        Some("\"Ufficio scuola\" <noreply@unione.example.invalid>")
    );
    let message_id = mail.header("Message-ID").unwrap();
    assert!(
        message_id.starts_with(&format!("<receipt.{id}.1.outbox-"))
            && message_id.ends_with("@unione.example.invalid>"),
        "{message_id}"
    );
    let text = mail.text();
    for expected in [
        format!("Numero di protocollo: {protocol}"),
        format!(
            "Impronta della ricevuta (SHA-256): {}",
            receipt["receipt_sha256"].as_str().unwrap()
        ),
        "- Data di nascita del bambino: 2025-03-10".to_owned(),
        "- Genitore assente: Nessuno".to_owned(),
        "1. Nido girasole (girasole)".to_owned(),
        "(https://servizi.unione.example.invalid)".to_owned(),
        "Unione di Prova".to_owned(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains(FAMILY_1), "the codice fiscale is not in the mail");
    let all = wait_all_sent(&s, 1);
    assert!(all[0].sent_at.is_some(), "{all:?}");

    // An amendment with a new address: its own receipt, there.
    let mut amended = body.clone();
    amended["contact_email"] = "nuovo@example.invalid".into();
    amended["preferences"] = serde_json::json!(["arcobaleno", "girasole"]);
    amended.as_object_mut().unwrap().remove("municipality");
    let mut r = client()
        .put(s.url(&format!("/api/v1/applications/{id}")))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(&amended)
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.body_mut().read_to_string().unwrap());
    let got = smtp.wait_for(2);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].rcpt_to, vec!["nuovo@example.invalid".to_owned()]);
    let text = got[1].text();
    assert!(text.contains("la modifica della domanda"), "{text}");
    assert!(text.contains("Versione: 2 del"), "{text}");
    assert!(
        text.contains("1. Nido arcobaleno (arcobaleno)\n2. Nido girasole (girasole)"),
        "{text}"
    );
    assert!(
        got[1]
            .header("Message-ID")
            .unwrap()
            .starts_with(&format!("<receipt.{id}.2.outbox-"))
    );
    wait_all_sent(&s, 2);
}

#[test]
fn receipts_arrive_for_submission_and_amendment_sqlite() {
    receipts_arrive_for_submission_and_amendment(Backend::Sqlite);
}

#[test]
fn receipts_arrive_for_submission_and_amendment_postgres() {
    receipts_arrive_for_submission_and_amendment(Backend::Postgres);
}

fn mailer_for(smtp: &SmtpServer) -> Mailer {
    let settings = graduatorie_api::settings::MailSettings {
        smtp_url: smtp.url(),
        from: FROM.into(),
        public_url: "https://servizi.unione.example.invalid".into(),
        poll_seconds: 1,
        timeout_seconds: 5,
    };
    Mailer::new(&settings).unwrap().unwrap()
}

/// A server without a mail sender (the test drives the sender itself, at chosen times), with one
/// queued receipt.
fn one_queued(backend: Backend) -> (TestServer, i64) {
    let s = TestServer::start_with(backend, &[("GRADUATORIE__AUTH__DEV_LOGIN", "true")]);
    let w = world(&s);
    let token = dev_login(&s, FAMILY_1);
    let receipt = submit(&s, &token, w.call.get(), &application(w.town_a));
    (s, receipt["application"].as_i64().unwrap())
}

fn unacknowledged_delivery_is_sent_again_with_the_same_message_id(backend: Backend) {
    let smtp = SmtpServer::start(Behaviour::DropAfterData);
    let mailer = mailer_for(&smtp);
    let (s, _) = one_queued(backend);
    let rules = RulesCache::default();
    let now = Timestamp::now();
    let pass = mail::deliver_due(&s.store(), &rules, &mailer, now).unwrap();
    assert_eq!(
        pass,
        Pass {
            sent: 0,
            retried: 1,
            abandoned: 0
        }
    );
    let m = &outbox::all(&mut s.store().conn().unwrap()).unwrap()[0];
    assert_eq!(m.attempts, 1);
    assert_eq!(m.sent_at, None);
    let error = m.last_error.clone().unwrap();
    assert!(
        !error.contains("example.invalid"),
        "no address in the error: {error}"
    );
    // Not due again before its back-off (a minute after the first failure)…
    let soon = now.checked_add(SignedDuration::from_secs(30)).unwrap();
    assert_eq!(
        mail::deliver_due(&s.store(), &rules, &mailer, soon).unwrap(),
        Pass::default()
    );
    // …then sent again.
    smtp.set(Behaviour::Accept);
    let later = now.checked_add(SignedDuration::from_mins(2)).unwrap();
    let pass = mail::deliver_due(&s.store(), &rules, &mailer, later).unwrap();
    assert_eq!(
        pass,
        Pass {
            sent: 1,
            retried: 0,
            abandoned: 0
        }
    );
    let got = smtp.received();
    assert_eq!(got.len(), 2, "at least once: the server got it twice");
    assert_eq!(got[0].header("Message-ID"), got[1].header("Message-ID"));
    assert_eq!(got[0].text(), got[1].text());
    // Sent messages are not sent again.
    let much_later = now.checked_add(SignedDuration::from_hours(48)).unwrap();
    assert_eq!(
        mail::deliver_due(&s.store(), &rules, &mailer, much_later).unwrap(),
        Pass::default()
    );
    assert_eq!(smtp.received().len(), 2);
}

#[test]
fn unacknowledged_delivery_is_sent_again_with_the_same_message_id_sqlite() {
    unacknowledged_delivery_is_sent_again_with_the_same_message_id(Backend::Sqlite);
}

#[test]
fn unacknowledged_delivery_is_sent_again_with_the_same_message_id_postgres() {
    unacknowledged_delivery_is_sent_again_with_the_same_message_id(Backend::Postgres);
}

#[test]
fn a_recipient_refused_for_good_is_abandoned_and_a_silent_server_retried() {
    let smtp = SmtpServer::start(Behaviour::RefuseRecipients);
    let mailer = mailer_for(&smtp);
    let (s, _) = one_queued(Backend::Sqlite);
    let rules = RulesCache::default();
    let now = Timestamp::now();
    let pass = mail::deliver_due(&s.store(), &rules, &mailer, now).unwrap();
    assert_eq!(
        pass,
        Pass {
            sent: 0,
            retried: 0,
            abandoned: 1
        }
    );
    let m = &outbox::all(&mut s.store().conn().unwrap()).unwrap()[0];
    assert_eq!(
        m.last_error.as_deref(),
        Some("abandoned: refused by the mail server (550)")
    );
    let next_year = now.checked_add(SignedDuration::from_hours(24 * 365)).unwrap();
    assert_eq!(
        mail::deliver_due(&s.store(), &rules, &mailer, next_year).unwrap(),
        Pass::default()
    );

    // No server listening at all: retried later, the submission itself untouched.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let settings = graduatorie_api::settings::MailSettings {
        smtp_url: format!("smtp://{closed}"),
        from: FROM.into(),
        public_url: "https://x.example.invalid".into(),
        poll_seconds: 1,
        timeout_seconds: 2,
    };
    let nowhere = Mailer::new(&settings).unwrap().unwrap();
    let (s, id) = one_queued(Backend::Sqlite);
    let pass = mail::deliver_due(&s.store(), &rules, &nowhere, Timestamp::now()).unwrap();
    assert_eq!(pass.retried, 1);
    let app = graduatorie_store::applications::get(
        &mut s.store().conn().unwrap(),
        graduatorie_domain::ApplicationId::new(id),
    )
    .unwrap();
    assert_eq!(app.status, "submitted");
}

#[test]
fn wrong_mail_settings_are_named_without_repeating_the_password() {
    let base = graduatorie_api::settings::MailSettings {
        smtp_url: "smtps://user:segreto@".into(),
        from: FROM.into(),
        public_url: "https://x.example.invalid".into(),
        poll_seconds: 1,
        timeout_seconds: 2,
    };
    let e = Mailer::new(&base).unwrap_err().to_string();
    assert!(e.contains("mail.smtp_url") && !e.contains("segreto"), "{e}");
    let e = Mailer::new(&graduatorie_api::settings::MailSettings {
        from: "not an address".into(),
        ..base.clone()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("mail.from"), "{e}");
    let e = Mailer::new(&graduatorie_api::settings::MailSettings {
        public_url: "servizi.example".into(),
        ..base
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("mail.public_url"), "{e}");
}

#[test]
fn on_shutdown_the_sender_finishes_the_message_in_hand_and_leaves_the_rest_due() {
    let smtp = SmtpServer::start(Behaviour::Slow);
    let s = TestServer::start_with(Backend::Sqlite, &[("GRADUATORIE__AUTH__DEV_LOGIN", "true")]);
    let w = world(&s);
    let token = dev_login(&s, FAMILY_1);
    for _ in 0..4 {
        submit(&s, &token, w.call.get(), &application(w.town_a));
    }
    let worker =
        mail::Worker::start(s.store(), mailer_for(&smtp), std::time::Duration::from_secs(60)).unwrap();
    // The first message is at the server (which takes a second to accept it): stop now.
    assert_eq!(smtp.wait_for(1).len(), 1);
    let started = std::time::Instant::now();
    drop(worker);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let all = outbox::all(&mut s.store().conn().unwrap()).unwrap();
    let sent = all.iter().filter(|m| m.sent_at.is_some()).count();
    assert_eq!(
        sent,
        smtp.received().len(),
        "what reached the server was marked sent"
    );
    assert!(sent < 4, "stopped before the end: {sent} sent");
    // What was not sent was not claimed either: due at once for the next start.
    let due = outbox::due(&mut s.store().conn().unwrap(), Timestamp::now(), 10).unwrap();
    assert_eq!(due.len(), 4 - sent);
}
