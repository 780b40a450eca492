//! Database work from a handler: run on actix's blocking pool (never on the async workers) with a
//! pooled connection, and every store error turned into the problem a client should see. A pool
//! that stays busy for its checkout timeout, or a database that does not answer, is a `503` with
//! `Retry-After`, never a half-done request.

use actix_web::web;
use graduatorie_store::{AnyConnection, StoreError};

use crate::AppState;
use crate::problem::{Kind, Lang, Problem};

/// Seconds a client is asked to wait when the database is saturated or unreachable.
pub const RETRY_SECONDS: u32 = 5;

/// Runs `work` with a connection on the blocking pool.
pub async fn run<T, F>(state: &AppState, lang: Lang, work: F) -> Result<T, Problem>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection, Lang) -> Result<T, Problem> + Send + 'static,
{
    let store = state.store.clone();
    web::block(move || {
        let mut conn = store.conn().map_err(|e| store_problem(lang, e))?;
        work(&mut conn, lang)
    })
    .await
    .map_err(|_| unavailable(lang))?
}

/// Runs blocking work that needs no connection (password hashing, the submission writer).
pub async fn run_plain<T, F>(lang: Lang, work: F) -> Result<T, Problem>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Problem> + Send + 'static,
{
    web::block(work).await.map_err(|_| unavailable(lang))?
}

/// 503 with `Retry-After`.
pub fn unavailable(lang: Lang) -> Problem {
    Problem::new(
        Kind::Unavailable,
        lang,
        "Il servizio è momentaneamente sovraccarico o non raggiunge la base dati: nulla è stato salvato, riprovare tra qualche secondo.",
        "The service is overloaded or cannot reach its database: nothing was saved, retry in a few seconds.",
    )
    .retry_after(RETRY_SECONDS)
}

/// `map_err(store(lang))`.
pub fn store(lang: Lang) -> impl Fn(StoreError) -> Problem {
    move |e| store_problem(lang, e)
}

/// The problem a store error is to a client. Store messages name ids, tables and constraints, never
/// values; database-level messages are logged, not sent.
pub fn store_problem(lang: Lang, e: StoreError) -> Problem {
    match e {
        StoreError::NotFound(_) => not_found(lang),
        StoreError::Conflict(message) => Problem::new(
            Kind::Conflict,
            lang,
            &format!("Operazione non possibile nello stato attuale ({message})."),
            &format!("Not possible in the current state: {message}."),
        ),
        StoreError::Refused(message) => {
            tracing::warn!(operation = "store", outcome = "refused", reason = %message);
            Problem::new(
                Kind::Conflict,
                lang,
                "La base dati ha rifiutato la modifica: i dati registrati restano invariati.",
                "The database refused the change: the recorded data is unchanged.",
            )
        }
        e if e.is_transient() => {
            tracing::warn!(operation = "store", outcome = "unavailable", reason = %e);
            unavailable(lang)
        }
        other => {
            tracing::error!(operation = "store", outcome = "failed", error = %other);
            internal(lang)
        }
    }
}

/// 404, the same whether the thing does not exist or belongs to someone else.
pub fn not_found(lang: Lang) -> Problem {
    Problem::new(Kind::NotFound, lang, "Risorsa non trovata.", "Not found.")
}

/// 500 for a fault of ours (the details are logged by whoever calls this, never sent).
pub fn internal(lang: Lang) -> Problem {
    Problem::new(
        Kind::Internal,
        lang,
        "Errore interno: l'operazione non è stata eseguita.",
        "Internal error: the operation was not carried out.",
    )
}
