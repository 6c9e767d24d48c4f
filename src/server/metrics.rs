//! `/metrics` in Prometheus text format (prometheus-client): open
//! connections, live rooms, messages stored, how long a stored batch takes,
//! resumes, rate-limit refusals, error frames by code, and the runtime's
//! live tasks.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::protocol::ErrorCode;

/// The label of [`Metrics::errors`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    /// The error code, as on the wire (`RATE_LIMITED`, ...).
    pub code: String,
}

/// Every metric the server exports; cheap to update from any task.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections.
    pub connections: Gauge,
    /// Channels with a live room on this server.
    pub rooms: Gauge,
    /// Messages stored by this server (duplicates not counted).
    pub messages_stored: Counter,
    /// Seconds to store one batch of messages (one transaction).
    pub store_write_seconds: Histogram,
    /// `resume` frames served.
    pub resumes: Counter,
    /// Sends, resumes and logins refused by a rate limit.
    pub rate_limited: Counter,
    /// Error frames sent, by code.
    pub errors: Family<CodeLabel, Counter>,
    /// Connections closed because the client took no frame within the
    /// slow-consumer cap (`limits.ws_send_timeout`).
    pub slow_consumers_closed: Counter,
    /// Webhook events dropped because the delivery queue was full.
    pub webhook_dropped: Counter,
    /// Tasks alive on the runtime, read when the metrics are rendered: a
    /// number that keeps growing while connections come and go is a leak.
    pub tasks: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("chat");
        let connections = Gauge::default();
        let rooms = Gauge::default();
        let messages_stored = Counter::default();
        // 0.25 ms to ~4 s.
        let store_write_seconds = Histogram::new(exponential_buckets(0.00025, 2.0, 15));
        let resumes = Counter::default();
        let rate_limited = Counter::default();
        let errors = Family::<CodeLabel, Counter>::default();
        let slow_consumers_closed = Counter::default();
        let webhook_dropped = Counter::default();
        let tasks = Gauge::default();
        registry.register(
            "connections",
            "Open WebSocket connections",
            connections.clone(),
        );
        registry.register("rooms", "Channels with a live room here", rooms.clone());
        registry.register(
            "messages_stored",
            "Messages stored by this server",
            messages_stored.clone(),
        );
        registry.register(
            "store_write_seconds",
            "Time to store one batch of messages (one transaction)",
            store_write_seconds.clone(),
        );
        registry.register("resumes", "Resume frames served", resumes.clone());
        registry.register(
            "rate_limited",
            "Sends, resumes and logins refused by a rate limit",
            rate_limited.clone(),
        );
        registry.register("errors", "Error frames sent, by code", errors.clone());
        registry.register(
            "slow_consumers_closed",
            "Connections closed for taking no frame within the slow-consumer cap",
            slow_consumers_closed.clone(),
        );
        registry.register(
            "webhook_dropped",
            "Webhook events dropped because the delivery queue was full",
            webhook_dropped.clone(),
        );
        registry.register(
            "tasks",
            "Tasks alive on the runtime (read at each scrape)",
            tasks.clone(),
        );
        Metrics {
            registry,
            connections,
            rooms,
            messages_stored,
            store_write_seconds,
            resumes,
            rate_limited,
            errors,
            slow_consumers_closed,
            webhook_dropped,
            tasks,
        }
    }

    /// Counts an error frame.
    pub fn error(&self, code: ErrorCode) {
        let code = serde_json::to_value(code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.errors.get_or_create(&CodeLabel { code }).inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            self.tasks.set(runtime.metrics().num_alive_tasks() as i64);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_metric() {
        let m = Metrics::new();
        m.messages_stored.inc();
        m.error(ErrorCode::RateLimited);
        m.store_write_seconds.observe(0.002);
        let text = m.render();
        for name in [
            "chat_connections ",
            "chat_rooms ",
            "chat_messages_stored_total 1",
            "chat_store_write_seconds_bucket",
            "chat_resumes_total 0",
            "chat_rate_limited_total 0",
            "chat_slow_consumers_closed_total 0",
            "chat_tasks ",
            "chat_errors_total{code=\"RATE_LIMITED\"} 1",
        ] {
            assert!(text.contains(name), "{name} missing in:\n{text}");
        }
    }
}
