//! Connections that hold a socket without finishing a request: one that
//! sends nothing, one that trickles its handshake a byte at a time, and a
//! keep-alive connection left idle are all closed after the header
//! deadline; a WebSocket, once upgraded, is not subject to it.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// The header deadline of these tests' servers.
const HEADER_TIMEOUT: Duration = Duration::from_millis(600);

async fn app_with_short_header_deadline() -> TestApp {
    spawn_app_with(|s| s.limits.http_header_timeout = HEADER_TIMEOUT).await
}

/// Reads until the server closes the connection (EOF or reset) and returns
/// what it sent; panics if it is still open after `WAIT`.
async fn read_until_closed(tcp: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open");
    got
}

/// A client that connects and sends nothing is disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed() {
    let app = app_with_short_header_deadline().await;
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let answer = read_until_closed(&mut tcp).await;
    let answer = String::from_utf8_lossy(&answer);
    // Either a bare close or a 408; never a request that was served.
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

/// A valid WebSocket handshake sent one byte every 50 ms (it would take
/// longer than the deadline to finish) is cut off before it completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_sent_byte_by_byte_is_cut_off() {
    let app = app_with_short_header_deadline().await;
    let (token, _) = app.login(ALICE).await;
    let channel = app.channel_id(&token, "General").await;
    let handshake = format!(
        "GET /chat/ws/{channel} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
         Authorization: Bearer {token}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        app.port
    );
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let started = Instant::now();
    let mut sent_all = true;
    for byte in handshake.as_bytes() {
        if tcp.write_all(&[*byte]).await.is_err() {
            sent_all = false;
            break;
        }
        // A closed connection shows as a read of 0 (or an error) well
        // before a write fails.
        let mut probe = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(50), tcp.read(&mut probe)).await {
            Err(_) => {}
            Ok(Ok(n)) if n > 0 => panic!(
                "the server answered a trickled handshake: {}",
                String::from_utf8_lossy(&probe[..n])
            ),
            Ok(_) => {
                sent_all = false;
                break;
            }
        }
        assert!(started.elapsed() < 4 * WAIT, "still open after 20 s");
    }
    assert!(
        !sent_all,
        "the whole handshake ({} bytes) went through",
        handshake.len()
    );
}

/// A keep-alive connection that served one request and then sends nothing
/// is closed; the request itself was answered normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = app_with_short_header_deadline().await;
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut tcp).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// The deadline is for headers only: an upgraded WebSocket that stays
/// quiet for several deadlines still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_websocket_outlives_the_header_deadline() {
    let app = app_with_short_header_deadline().await;
    let mut pair = app.alice_and_bob_in("General").await;
    tokio::time::sleep(HEADER_TIMEOUT * 3).await;
    let echo = pair.a.send_ok("still here").await;
    let seen = pair.b.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(seen["clientId"], echo["clientId"]);
}

/// Shutdown does not wait for a connection that has sent nothing yet: it
/// stops at once, not when that connection's header deadline (a minute
/// here) runs out. (`stop` allows 10 s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_silent_connection() {
    let app = spawn_app_with(|s| s.limits.http_header_timeout = Duration::from_secs(60)).await;
    let _silent = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    // Let the server accept it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.stop().await;
}
