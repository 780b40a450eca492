//! A single writer that commits submissions in groups. The protocol counter row serialises every
//! submission of an organisation, so with one commit (one fsync) per submission throughput is bounded
//! by the disk's flush latency; grouping the submissions waiting at that moment into one transaction
//! keeps every acknowledged submission durable and the numbering gapless, with one flush per group.
//!
//! A group is written with a few multi-row statements ([`applications::submit_group_in_tx`]); a
//! submission refused by the checks (a closed call, a bad preference) takes no number and the others
//! are committed. Should the database refuse the group as a whole, the group is retried with each
//! submission in its own savepoint, so one bad row never costs the others their place. Callers are
//! answered only after the commit.

use std::sync::mpsc;
use std::thread::JoinHandle;

use jiff::Timestamp;

use crate::Store;
use crate::applications::{self, Submission, Submitted};
use crate::connection::write_tx;
use crate::error::StoreError;

type Reply = mpsc::SyncSender<Result<Submitted, StoreError>>;

struct Job {
    submission: Submission,
    at: Timestamp,
    reply: Reply,
}

/// The writer's handle; cheap to share behind an `Arc`. Dropping it stops the writer once the
/// queued submissions are committed.
#[derive(Debug)]
pub struct SubmissionWriter {
    queue: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl SubmissionWriter {
    /// Starts the writer thread; at most `max_group` submissions share a transaction.
    pub fn start(store: Store, max_group: usize) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("submission-writer".into())
            .spawn(move || writer_loop(&store, &jobs, max_group.max(1)))
            .map_err(|e| StoreError::Config(format!("cannot start the submission writer: {e}")))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Submits and waits until the submission is committed (or refused).
    pub fn submit(&self, submission: Submission, at: Timestamp) -> Result<Submitted, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || StoreError::Config("the submission writer has stopped".into());
        self.queue
            .as_ref()
            .ok_or_else(stopped)?
            .send(Job {
                submission,
                at,
                reply,
            })
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

impl Drop for SubmissionWriter {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn writer_loop(store: &Store, jobs: &mpsc::Receiver<Job>, max_group: usize) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < max_group {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let outcome = store.conn().and_then(|mut conn| {
            let jobs: Vec<_> = group.iter().map(|j| (&j.submission, j.at)).collect();
            write_tx(&mut conn, |tx| applications::submit_group_in_tx(tx, &jobs)).or_else(|_| {
                write_tx(&mut conn, |tx| {
                    Ok(group
                        .iter()
                        .map(|job| {
                            diesel::Connection::transaction(tx, |sp| {
                                applications::submit_in_tx(sp, &job.submission, job.at)
                            })
                        })
                        .collect::<Vec<_>>())
                })
            })
        });
        match outcome {
            Ok(results) => {
                for (job, result) in group.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                // Nothing of the group was committed: every caller hears so, and hears whether
                // trying again later may work (the database busy or unreachable: a 503 upstream).
                let message = format!("not saved: {e}");
                let transient = e.is_transient();
                for job in group {
                    let error = if transient {
                        StoreError::Connect(message.clone())
                    } else {
                        StoreError::Conflict(message.clone())
                    };
                    let _ = job.reply.send(Err(error));
                }
            }
        }
    }
}
