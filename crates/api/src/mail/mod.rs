//! Receipt e-mails, sent from the outbox. A submission (or an amendment) queues its receipt in the
//! same transaction that stores it; this worker, a thread of its own, sends what is due through
//! SMTP (lettre) and marks it sent. A crash between sending and marking sends the mail again
//! (at least once), with the same `Message-ID`, built from the outbox id, so mail programs can
//! recognise the copy. A message is first *claimed* for a few minutes, so two instances of the
//! service never send it both. A refusal for good (5xx) abandons the message; anything else is
//! retried after 1, 2, 4… minutes, at most a day apart.
//!
//! Logs name the outbox id and the SMTP status code, never the address or the content.

pub mod receipt;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use graduatorie_domain::ApplicationId;
use graduatorie_store::applications::{self, RECEIPT_MESSAGE};
use graduatorie_store::outbox::{self, Message};
use graduatorie_store::{AnyConnection, Store, StoreError, calls, orgs};
use jiff::{SignedDuration, Timestamp};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MessageBuilder};
use lettre::{SmtpTransport, Transport};

use crate::rules_cache::RulesCache;
use crate::settings::{MailSettings, SettingsError};

/// How long a claimed message is left to one sender before another may take it.
const LEASE_MINUTES: i64 = 10;
/// Messages taken in one pass.
const BATCH: i64 = 50;

/// Where and how mail is sent.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    domain: String,
    public_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the SMTP password.
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer the settings describe, `None` when `mail.smtp_url` is empty; a wrong setting is
    /// named (the URL is not repeated: it may hold a password).
    pub fn new(s: &MailSettings) -> Result<Option<Self>, SettingsError> {
        let from: Mailbox = s.from.parse().map_err(|_| {
            SettingsError::from_message(format!(
                "mail.from: {:?} is not an address such as \"Servizi scolastici <noreply@comune.example.it>\"",
                s.from
            ))
        })?;
        if !(s.public_url.starts_with("https://") || s.public_url.starts_with("http://")) {
            return Err(SettingsError::from_message(
                "mail.public_url: must start with https:// (or http://)".into(),
            ));
        }
        if s.smtp_url.is_empty() {
            return Ok(None);
        }
        let transport = SmtpTransport::from_url(&s.smtp_url)
            .map_err(|_| {
                SettingsError::from_message(
                    "mail.smtp_url: not an SMTP address such as smtp://HOST:587?tls=required or smtps://USER:PASSWORD@HOST:465"
                        .into(),
                )
            })?
            .timeout(Some(Duration::from_secs(s.timeout_seconds)))
            .build();
        Ok(Some(Self {
            domain: from.email.domain().to_owned(),
            from,
            transport,
            public_url: s.public_url.clone(),
        }))
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Sent and marked.
    pub sent: usize,
    /// Failed for now; will be retried.
    pub retried: usize,
    /// Given up for good.
    pub abandoned: usize,
}

/// Why one message was not sent.
enum Failure {
    /// Try again later.
    Retry(String),
    /// Never.
    Abandon(String),
}

/// Sends every message due at `now`.
pub fn deliver_due(
    store: &Store,
    rules: &RulesCache,
    mailer: &Mailer,
    now: Timestamp,
) -> Result<Pass, StoreError> {
    deliver(store, rules, mailer, now, &AtomicBool::new(false))
}

/// [`deliver_due`], stopping before the next message once `stopping` is set (the service is
/// shutting down): a message not yet claimed stays due for the next start.
fn deliver(
    store: &Store,
    rules: &RulesCache,
    mailer: &Mailer,
    now: Timestamp,
    stopping: &AtomicBool,
) -> Result<Pass, StoreError> {
    let due = outbox::due(&mut *store.conn()?, now, BATCH)?;
    let mut pass = Pass::default();
    let lease = now
        .checked_add(SignedDuration::from_mins(LEASE_MINUTES))
        .unwrap_or(now);
    for message in due {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        if !outbox::claim(&mut *store.conn()?, message.id, now, lease)? {
            continue;
        }
        // The connection goes back to the pool before the mail server is talked to.
        let composed = compose(&mut *store.conn()?, rules, mailer, &message);
        let outcome = composed.and_then(|email| {
            mailer.transport.send(&email).map(|_| ()).map_err(|e| {
                let code = e.status().map(|c| c.to_string());
                match (e.is_permanent(), code) {
                    (true, Some(code)) => Failure::Abandon(format!("refused by the mail server ({code})")),
                    (_, Some(code)) => Failure::Retry(format!("mail server answered {code}")),
                    (_, None) if e.is_timeout() => Failure::Retry("mail server timed out".into()),
                    (_, None) => Failure::Retry("mail server unreachable or connection lost".into()),
                }
            })
        });
        let mut conn = store.conn()?;
        match outcome {
            Ok(()) => {
                outbox::mark_sent(&mut conn, message.id, Timestamp::now())?;
                tracing::info!(operation = "mail.send", outcome = "sent", outbox_id = message.id, kind = %message.kind);
                pass.sent += 1;
            }
            Err(Failure::Retry(reason)) => {
                outbox::mark_failed(&mut conn, message.id, &reason, now)?;
                tracing::warn!(operation = "mail.send", outcome = "retry", outbox_id = message.id, reason = %reason);
                pass.retried += 1;
            }
            Err(Failure::Abandon(reason)) => {
                outbox::abandon(&mut conn, message.id, &reason)?;
                tracing::warn!(operation = "mail.send", outcome = "abandoned", outbox_id = message.id, reason = %reason);
                pass.abandoned += 1;
            }
        }
    }
    Ok(pass)
}

/// The e-mail of one outbox message.
fn compose(
    conn: &mut AnyConnection,
    rules: &RulesCache,
    mailer: &Mailer,
    message: &Message,
) -> Result<lettre::Message, Failure> {
    if message.kind != RECEIPT_MESSAGE {
        return Err(Failure::Abandon(format!("unknown message kind {}", message.kind)));
    }
    let to: Mailbox = message
        .recipient
        .parse()
        .map_err(|_| Failure::Abandon("the recipient is not an e-mail address".into()))?;
    let payload: serde_json::Value =
        serde_json::from_str(&message.payload).map_err(|_| Failure::Abandon("unreadable payload".into()))?;
    let field = |name: &str| payload.get(name).and_then(serde_json::Value::as_i64);
    let (Some(id), Some(version)) = (field("application"), field("version")) else {
        return Err(Failure::Abandon("payload without application and version".into()));
    };
    let from_store = |e: StoreError| match e {
        StoreError::NotFound(what) => Failure::Abandon(format!("{what} no longer exists")),
        other => Failure::Retry(format!("database: {other}")),
    };
    let app = applications::get(conn, ApplicationId::new(id)).map_err(from_store)?;
    let versions = applications::versions(conn, app.id).map_err(from_store)?;
    let saved_at = versions
        .iter()
        .find(|(v, _, _)| i64::from(*v) == version)
        .map_or(app.submitted_at, |(_, _, at)| *at);
    // A later version has its own receipt queued: this one would describe answers that are no
    // longer the application's.
    if i64::from(app.version) != version {
        return Err(Failure::Abandon(format!("superseded by version {}", app.version)));
    }
    let call = calls::get(conn, app.call).map_err(from_store)?;
    let organisation = orgs::get_organisation(conn, call.organisation).map_err(from_store)?;
    let regulation = rules
        .of(&call)
        .map_err(|_| Failure::Retry(format!("rules of call {} do not compile", call.id)))?;
    let form = regulation.form();
    let names = calls::facility_names(conn, call.id).map_err(from_store)?;
    let preferences: Vec<(String, String)> = app
        .preferences
        .iter()
        .map(|code| {
            let name = names
                .iter()
                .find(|(c, _)| c == code)
                .map_or(code.as_str(), |(_, n)| n.as_str());
            (code.clone(), name.to_owned())
        })
        .collect();
    let digest = crate::families::applications::receipt(&app).receipt_sha256;
    let empty = serde_json::Map::new();
    let protocol = app.protocol.to_string();
    let facts = receipt::ReceiptFacts {
        title: &form.title,
        organisation: &organisation.name,
        school_year: &call.school_year,
        protocol: &protocol,
        submitted_at: app.submitted_at,
        version: app.version,
        saved_at,
        closes_at: call.closes_at,
        receipt_sha256: &digest,
        fields: &form.fields,
        answers: app.answers.as_object().unwrap_or(&empty),
        preferences: &preferences,
        public_url: &mailer.public_url,
    };
    MessageBuilder::new()
        .from(mailer.from.clone())
        .to(to)
        .subject(receipt::subject(&facts))
        .message_id(Some(format!(
            "<receipt.{}.{}.outbox-{}@{}>",
            app.id, app.version, message.id, mailer.domain
        )))
        .header(ContentType::TEXT_PLAIN)
        // Quoted-printable whatever the text: readable in the raw message, safe through any relay.
        .body(
            Body::new_with_encoding(receipt::body(&facts), ContentTransferEncoding::QuotedPrintable)
                .map_err(|_| Failure::Abandon("the message could not be encoded".into()))?,
        )
        .map_err(|_| Failure::Abandon("the message could not be built".into()))
}

/// The sending thread; dropping it stops it after the message in hand.
#[derive(Debug)]
pub struct Worker {
    stopping: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts sending: a pass at once, then one every `poll`.
    pub fn start(store: Store, mailer: Mailer, poll: Duration) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = stopping.clone();
        let thread = std::thread::Builder::new()
            .name("graduatorie-mail".into())
            .spawn(move || {
                let rules = RulesCache::default();
                loop {
                    if let Err(e) = deliver(&store, &rules, &mailer, Timestamp::now(), &flag) {
                        tracing::warn!(operation = "mail.send", outcome = "database_unavailable", error = %e);
                    }
                    match stopped.recv_timeout(poll) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            })?;
        Ok(Self {
            stopping,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
