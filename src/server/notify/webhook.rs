//! The webhook client: a bounded queue of events and one task that POSTs
//! each, signed with HMAC-SHA256 over `"<timestamp>.<body>"`, retrying a
//! time-out, a connection error or a non-2xx answer with doubling waits up
//! to the configured number of attempts. A full queue drops the newest
//! event (counted); a failing receiver delays only other events.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::server::hex::lower_hex;
use crate::server::metrics::Metrics;

/// Where and how events are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The host app's URL (http or https).
    pub url: String,
    /// The signing key.
    pub secret: SecretString,
    /// One attempt's time-out.
    pub timeout: Duration,
    /// Attempts per event, the first included.
    pub max_attempts: u32,
    /// The wait before the second attempt; each later one doubles it.
    pub retry_base: Duration,
    /// Events waiting at most.
    pub queue: usize,
}

/// A handle that queues events for delivery; cloning is cheap.
#[derive(Clone)]
pub struct Webhook {
    events: mpsc::Sender<serde_json::Value>,
    metrics: Arc<Metrics>,
}

impl Webhook {
    /// Starts the delivery task. At `shutdown` it stops (queued events are
    /// not kept: the contract says so).
    pub fn spawn(
        config: WebhookConfig,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<serde_json::Value>(config.queue.max(1));
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .unwrap_or_default();
        let task = tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    event = rx.recv() => match event {
                        Some(event) => event,
                        None => break,
                    },
                };
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    () = deliver(&client, &config, &event) => {}
                }
            }
        });
        (
            Webhook {
                events: tx,
                metrics,
            },
            task,
        )
    }

    /// Queues an event; a full queue drops it (counted), never waits.
    pub fn send(&self, event: serde_json::Value) {
        if self.events.try_send(event).is_err() {
            self.metrics.webhook_dropped.inc();
            tracing::warn!("webhook queue full: an event was dropped");
        }
    }
}

/// Delivers one event, retrying as configured; gives up with a log line.
async fn deliver(client: &reqwest::Client, config: &WebhookConfig, event: &serde_json::Value) {
    let body = event.to_string();
    let mut wait = config.retry_base;
    for attempt in 1..=config.max_attempts.max(1) {
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(config.secret.expose_secret(), timestamp, &body);
        let answer = client
            .post(&config.url)
            .header("content-type", "application/json")
            .header("x-chat-timestamp", timestamp.to_string())
            .header("x-chat-signature", signature)
            .body(body.clone())
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::warn!(status = %r.status(), attempt, "webhook refused an event"),
            Err(e) => tracing::warn!(error = %e, attempt, "webhook delivery failed"),
        }
        if attempt < config.max_attempts {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
    }
    tracing::error!(event = %event["id"], "webhook event dropped after every attempt");
}

/// `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">` keyed with `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex = lower_hex(&digest);
    format!("v1={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // The value computed independently with Python's hmac module:
        // hmac.new(b"Jefe", b"1.what do ya want for nothing?", sha256).
        let sig = sign("Jefe", 1, "what do ya want for nothing?");
        assert_eq!(
            sig,
            "v1=a9049465ce89cfb8e9aac62333abda66f80e3403f51f57f6bae3c3a4485eca38"
        );
        assert_ne!(sign("Jefe", 2, "what do ya want for nothing?"), sig);
        assert_ne!(sign("jefe", 1, "what do ya want for nothing?"), sig);
    }
}
