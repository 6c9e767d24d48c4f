//! One measured run: open the population's sockets (timing the connects),
//! send at a rate or as fast as acknowledgements allow (and, with an edit
//! plan, edit at a rate too), wait until every receiver has its channel's
//! every message (and last rev), and add up what they saw.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use crate::checks::Percentiles;
use crate::conn::{self, Command, ConnStats, HeldMessage, Role, Shared, Ws};
use crate::seed::Population;
use crate::server::Server;

/// How long receivers may take to get the last messages after the last
/// acknowledgement before the missing ones count as lost.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long senders may wait for acknowledgements after sending stops.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// How a batch of connects went.
#[derive(Debug, Default)]
pub struct ConnectReport {
    /// Sockets that reached `presence.state`.
    pub ok: usize,
    /// Sockets that failed (refused, timed out, rejected).
    pub failed: usize,
    /// Wall time for the batch.
    pub elapsed: Duration,
    /// Per-connect latency (TCP + upgrade + first frame), microseconds.
    pub latency: Percentiles,
    /// The first failure, for the log.
    pub first_error: Option<String>,
}

impl ConnectReport {
    /// Successful connects per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Opens a socket for every peer, `concurrency` at a time.
pub async fn open_peers(
    server: &Server,
    population: &Population,
    concurrency: usize,
    recv_buffer: Option<u32>,
) -> (Vec<(usize, Ws)>, ConnectReport) {
    let started = Instant::now();
    let port = server.port();
    let attempts = population.peers.iter().enumerate().map(|(idx, peer)| {
        let channel = population.channels[peer.channel];
        let token = peer.token.clone();
        async move {
            let t = Instant::now();
            let result = conn::open(port, idx, channel, &token, recv_buffer).await;
            (idx, result, t.elapsed())
        }
    });
    let mut results = futures_util::stream::iter(attempts).buffer_unordered(concurrency);
    let mut sockets = Vec::with_capacity(population.peers.len());
    let mut report = ConnectReport::default();
    let mut latencies = Vec::with_capacity(population.peers.len());
    while let Some((idx, result, took)) = results.next().await {
        match result {
            Ok(ws) => {
                sockets.push((idx, ws));
                latencies.push(took.as_micros() as u64);
            }
            Err(e) => {
                report.failed += 1;
                report.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    report.elapsed = started.elapsed();
    report.ok = sockets.len();
    report.latency = Percentiles::of(&mut latencies);
    if let Some(e) = &report.first_error {
        eprintln!("loadgen: {} connects failed; first: {e}", report.failed);
    }
    (sockets, report)
}

/// What to send.
#[derive(Debug, Clone)]
pub struct SendPlan {
    /// Peers of each channel that send (the first by rank).
    pub senders_per_channel: usize,
    /// Messages per second over all channels; `None` floods instead.
    pub rate: Option<f64>,
    /// Sends in flight per sender when flooding.
    pub flood_window: usize,
    /// How long to send.
    pub duration: Duration,
    /// Characters after the timestamp in each message.
    pub padding: usize,
    /// An edit stream beside the messages (issue 17); `None` for none.
    pub edits: Option<EditPlan>,
}

/// Senders that also edit their newest message at a steady rate while
/// messages flow (`message.edit`, answered by `message.updated`).
#[derive(Debug, Clone, Copy)]
pub struct EditPlan {
    /// Senders of each channel that also edit (the first by rank; at most
    /// `senders_per_channel`).
    pub editors_per_channel: usize,
    /// Edits per second over all channels, spread evenly over the editors.
    pub rate: f64,
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Messages sent.
    pub sent: u64,
    /// Messages acknowledged to their senders.
    pub acked: u64,
    /// Error frames.
    pub errors: u64,
    /// `message.new` frames received (distinct per receiver).
    pub delivered: u64,
    /// Messages a receiver should have had and did not.
    pub lost: u64,
    /// Frames a receiver got twice.
    pub duplicated: u64,
    /// Frames that arrived after a later seq.
    pub reordered: u64,
    /// Send-to-receive latency over every delivery, microseconds.
    pub latency: Percentiles,
    /// The same latencies, every sample (sorted), for pooling runs.
    pub latencies_us: Vec<u64>,
    /// From the first send to the last acknowledgement.
    pub ack_window: Duration,
    /// From the first message any receiver got to the last: the span
    /// deliveries were made in.
    pub delivery_span: Duration,
    /// Connections the server closed during the run.
    pub closed_by_server: usize,
    /// Edits sent.
    pub edits_sent: u64,
    /// Edits whose `message.updated` reached their editor.
    pub edits_acked: u64,
    /// Edit commands before the editor had an acknowledged message.
    pub edits_skipped: u64,
    /// `message.updated` frames received, all connections.
    pub updates: u64,
    /// Update frames whose rev repeated the one before on that connection.
    pub revs_repeated: u64,
    /// Update frames whose rev was lower than the one before.
    pub revs_reordered: u64,
    /// Receivers that ended below their channel's last rev.
    pub revs_short: u64,
    /// Edit send to every receiver's `message.updated`, microseconds.
    pub edit_latency: Percentiles,
    /// The same, every sample, for pooling runs.
    pub edit_latencies_us: Vec<u64>,
    /// Edit send to the editor's own `message.updated`, microseconds.
    pub edit_ack: Percentiles,
    /// With an edit stream: each receiver's channel and the state it holds
    /// of each message after its channel's start head (compared with
    /// storage by the scenario, then dropped).
    pub held: Vec<(usize, Vec<HeldMessage>)>,
}

impl LoadReport {
    /// Adds another run's counts and samples to this one (windows and
    /// rates are not merged).
    pub fn absorb(&mut self, other: LoadReport) {
        self.sent += other.sent;
        self.acked += other.acked;
        self.errors += other.errors;
        self.delivered += other.delivered;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.closed_by_server += other.closed_by_server;
        self.latencies_us.extend(other.latencies_us);
        self.latency = Percentiles::of(&mut self.latencies_us);
        self.edits_sent += other.edits_sent;
        self.edits_acked += other.edits_acked;
        self.edits_skipped += other.edits_skipped;
        self.updates += other.updates;
        self.revs_repeated += other.revs_repeated;
        self.revs_reordered += other.revs_reordered;
        self.revs_short += other.revs_short;
        self.edit_latencies_us.extend(other.edit_latencies_us);
        self.edit_latency = Percentiles::of(&mut self.edit_latencies_us);
    }

    /// Acknowledged messages per second.
    pub fn acked_per_s(&self) -> f64 {
        self.acked as f64 / self.ack_window.as_secs_f64().max(1e-9)
    }

    /// Deliveries per second.
    pub fn delivered_per_s(&self) -> f64 {
        self.delivered as f64 / self.delivery_span.as_secs_f64().max(1e-9)
    }
}

/// Runs `plan` over open `sockets` (channels start at `start_heads`).
pub async fn run(
    sockets: Vec<(usize, Ws)>,
    population: &Population,
    start_heads: Vec<i64>,
    plan: &SendPlan,
) -> LoadReport {
    let padding = crate::words::Padding::new(plan.padding);
    let shared = Arc::new(match plan.edits {
        Some(_) => Shared::with_edits(start_heads, padding),
        None => Shared::new(start_heads, padding),
    });
    let (drain_tx, drain_rx) = watch::channel(false);
    let started = Instant::now();
    let flood_until = started + plan.duration;
    // Senders in turn across channels, so the rate spreads evenly.
    let mut pacers: Vec<(usize, usize, mpsc::Sender<Command>)> = Vec::new();
    let editors_per_channel = plan.edits.map_or(0, |e| e.editors_per_channel);
    let mut editors: Vec<(usize, usize, mpsc::Sender<Command>)> = Vec::new();
    let mut tasks = Vec::with_capacity(sockets.len());
    for (idx, ws) in sockets {
        let peer = &population.peers[idx];
        let role = if peer.rank >= plan.senders_per_channel {
            Role::Listen
        } else if plan.rate.is_some() {
            let (tx, rx) = mpsc::channel(4096);
            if peer.rank < editors_per_channel {
                editors.push((peer.rank, peer.channel, tx.clone()));
            }
            pacers.push((peer.rank, peer.channel, tx));
            Role::Paced(rx)
        } else {
            Role::Flood {
                window: plan.flood_window,
                until: flood_until,
            }
        };
        tasks.push(tokio::spawn(conn::run(
            idx,
            peer.channel,
            ws,
            role,
            shared.clone(),
            drain_rx.clone(),
        )));
    }
    pacers.sort_by_key(|(rank, channel, _)| (*rank, *channel));
    editors.sort_by_key(|(rank, channel, _)| (*rank, *channel));
    let edit_rate = plan.edits.map_or(0.0, |e| e.rate);
    let mut queued = 0u64;
    let mut edits_queued = 0u64;
    if let Some(rate) = plan.rate {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while started.elapsed() < plan.duration && !pacers.is_empty() {
            tick.tick().await;
            let due = (started.elapsed().as_secs_f64() * rate) as u64;
            while queued < due {
                let (_, _, tx) = &pacers[queued as usize % pacers.len()];
                if tx.try_send(Command::Send).is_err() {
                    eprintln!("loadgen: a sender fell 4096 messages behind its pace");
                }
                queued += 1;
            }
            let edits_due = (started.elapsed().as_secs_f64() * edit_rate) as u64;
            while edits_queued < edits_due && !editors.is_empty() {
                let (_, _, tx) = &editors[edits_queued as usize % editors.len()];
                if tx.try_send(Command::Edit).is_err() {
                    eprintln!("loadgen: an editor fell 4096 commands behind its pace");
                }
                edits_queued += 1;
            }
        }
        drop(pacers);
        drop(editors);
    } else {
        tokio::time::sleep_until(flood_until.into()).await;
    }
    // Every send acknowledged (or answered with an error).
    let ack_deadline = Instant::now() + ACK_TIMEOUT;
    loop {
        let sent = shared.sent_total.load(Ordering::SeqCst);
        let answered =
            shared.acked_total.load(Ordering::SeqCst) + shared.errors_total.load(Ordering::SeqCst);
        let edits_open = shared
            .edits_sent_total
            .load(Ordering::SeqCst)
            .saturating_sub(shared.edits_answered_total.load(Ordering::SeqCst));
        if answered >= sent && edits_open == 0 && (plan.rate.is_none() || sent >= queued) {
            break;
        }
        if Instant::now() > ack_deadline {
            eprintln!(
                "loadgen: {} sends unanswered after {ACK_TIMEOUT:?}",
                sent.saturating_sub(answered)
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let ack_window = started.elapsed();
    let _ = drain_tx.send(true);
    // Receivers stop by themselves once they have their channel's head; a
    // watchdog stops the stragglers, whose missing messages count as lost.
    let watchdog = {
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(DRAIN_TIMEOUT).await;
            eprintln!("loadgen: receivers still missing messages after {DRAIN_TIMEOUT:?}");
            shared.stop.cancel();
        })
    };
    let stats: Vec<ConnStats> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    watchdog.abort();
    shared.stop.cancel();
    summarise(&shared, stats, ack_window)
}

fn summarise(shared: &Shared, stats: Vec<ConnStats>, ack_window: Duration) -> LoadReport {
    let mut report = LoadReport {
        ack_window,
        ..LoadReport::default()
    };
    let (mut first_us, mut last_us) = (u64::MAX, 0u64);
    let mut latencies = Vec::new();
    let mut edit_acks = Vec::new();
    for mut s in stats {
        report.edits_sent += s.edits_sent;
        report.edits_skipped += s.edits_skipped;
        report.edits_acked += s.edit_ack_us.len() as u64;
        report.updates += s.revs.frames;
        report.revs_repeated += s.revs.repeated;
        report.revs_reordered += s.revs.reordered;
        if shared.edits {
            report.revs_short += u64::from(s.revs.last < shared.final_rev(s.channel));
            report.held.push((s.channel, std::mem::take(&mut s.held)));
        }
        report.edit_latencies_us.append(&mut s.edit_latencies_us);
        edit_acks.append(&mut s.edit_ack_us);
        report.sent += s.sent;
        report.acked += s.acked;
        report.errors += s.errors;
        report.delivered += s.log.distinct;
        report.duplicated += s.log.duplicated;
        report.reordered += s.log.reordered;
        report.lost += s
            .log
            .missing(shared.start_heads[s.channel], shared.final_head(s.channel));
        report.closed_by_server += usize::from(s.ended_by_server);
        latencies.extend(s.latencies_us);
        if let Some((first, last)) = s.delivered_between_us {
            first_us = first_us.min(first);
            last_us = last_us.max(last);
        }
    }
    report.delivery_span = Duration::from_micros(last_us.saturating_sub(first_us));
    report.latency = Percentiles::of(&mut latencies);
    report.latencies_us = latencies;
    report.edit_latency = Percentiles::of(&mut report.edit_latencies_us);
    report.edit_ack = Percentiles::of(&mut edit_acks);
    report
}
