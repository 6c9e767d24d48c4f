//! The queue in front of a writer task (messages, changes): jobs wait in
//! an `mpsc` channel and the writer takes them in batches, one
//! transaction each (group commit). At shutdown the queue closes, so later
//! jobs are refused, and what was queued is still taken.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A writer's receiving end of its queue.
pub struct WriteQueue<T> {
    rx: mpsc::Receiver<T>,
    shutdown: CancellationToken,
    closing: bool,
    max_batch: usize,
}

impl<T> WriteQueue<T> {
    /// Batches of at most `max_batch` (at least 1) from `rx`, until
    /// `shutdown` closes it.
    pub fn new(rx: mpsc::Receiver<T>, shutdown: CancellationToken, max_batch: usize) -> Self {
        WriteQueue {
            rx,
            shutdown,
            closing: false,
            max_batch: max_batch.max(1),
        }
    }

    /// Waits for the next job, then adds it and whatever else is queued
    /// (up to the batch size) to `jobs`. `false` once the queue is closed
    /// and empty: the writer is done.
    pub async fn next_batch(&mut self, jobs: &mut Vec<T>) -> bool {
        let first = loop {
            if self.closing {
                break self.rx.recv().await;
            }
            tokio::select! {
                job = self.rx.recv() => break job,
                _ = self.shutdown.cancelled() => {
                    self.closing = true;
                    self.rx.close();
                }
            }
        };
        let Some(first) = first else { return false };
        jobs.push(first);
        while jobs.len() < self.max_batch {
            match self.rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        true
    }
}
