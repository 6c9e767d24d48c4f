//! The accept loop. Each TCP connection is served by hyper (HTTP/1.1 with
//! upgrades, or HTTP/2) with a deadline for a request's headers, which
//! `axum::serve` has no setting for: without one, a connection that sends
//! nothing, or trickles its handshake a byte at a time, holds a socket and a
//! task forever. Shutdown stops accepting and lets requests in progress
//! finish; upgraded WebSockets have left hyper by then and are closed by
//! their own sessions. At most `max_connections` connections are open at
//! once (`connection_limit`).

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::connection_limit::{ConnectionLimit, CountedStream};

/// What the accept loop sets on each connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionSettings {
    /// The most a connection may take to send a request's headers, counted
    /// from when the server starts waiting for them (also between the
    /// requests of a keep-alive connection).
    pub header_timeout: Duration,
    /// Kernel send buffer of each connection in bytes (0: Linux's
    /// autotuning).
    pub tcp_send_buffer: usize,
    /// The most connections open at once (0: the open-file limit less a
    /// reserve).
    pub max_connections: usize,
}

/// A connection's HTTP/1 read buffer at most, in bytes.
const READ_BUFFER_MAX: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` completes, then waits for the
/// requests in progress.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: ConnectionSettings,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        // The most a connection reads ahead of its request's handler (and
        // the longest request head). hyper's default, about 400 KiB, made
        // every upload in flight hold that much while its body streamed
        // (BENCHMARKS.md "Files").
        .max_buf_size(READ_BUFFER_MAX);
    builder.http2().timer(TokioTimer::new());
    let builder = std::sync::Arc::new(builder);
    let graceful = GracefulShutdown::new();
    // Ends the wait for a first byte at shutdown: a connection still
    // waiting holds a watcher, which `graceful.shutdown()` waits for.
    let stopping = CancellationToken::new();
    let limit = ConnectionLimit::new(settings.max_connections);
    tracing::debug!(max_connections = limit.max(), "connection limit");
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    wait_after_accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(permit) = limit.admit() else {
            limit.refuse(tcp);
            continue;
        };
        configure(&tcp, settings);
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(|req: http::Request<Incoming>| req.map(Body::new)),
        );
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            // hyper's deadline starts once it reads a request head; before
            // that, telling HTTP/1 from HTTP/2 waits for the first bytes
            // with no deadline, so the first byte gets the same one here.
            let mut first = [0u8; 1];
            tokio::select! {
                peeked = tokio::time::timeout(settings.header_timeout, tcp.peek(&mut first)) => {
                    if !matches!(peeked, Ok(Ok(n)) if n > 0) {
                        return;
                    }
                }
                () = stopping.cancelled() => return,
            }
            let io = TokioIo::new(CountedStream::new(tcp, permit));
            let connection = builder.serve_connection_with_upgrades(io, service);
            if let Err(e) = watcher.watch(connection).await {
                // A client that went away, sent garbage, or ran out the
                // header deadline: nothing the server can act on.
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    stopping.cancel();
    graceful.shutdown().await;
}

/// Socket options for an accepted connection.
fn configure(tcp: &TcpStream, settings: ConnectionSettings) {
    // Replies are small and interactive.
    let _ = tcp.set_nodelay(true);
    if settings.tcp_send_buffer > 0 {
        if let Err(e) = socket2::SockRef::from(tcp).set_send_buffer_size(settings.tcp_send_buffer) {
            tracing::debug!(error = %e, "setting the socket send buffer failed");
        }
    }
}

/// After a failed `accept`: a connection that was reset before it was taken
/// is skipped; anything else (such as running out of file descriptors) is
/// logged and the loop pauses, so it does not spin while nothing can be
/// accepted.
async fn wait_after_accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; pausing for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
