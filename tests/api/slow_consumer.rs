//! A client that stops reading is cut off at the slow-consumer cap
//! (`ws_send_timeout`), and the other members keep receiving every message
//! in order meanwhile.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpSocket;

use crate::helpers::*;

/// The cap of this test's server (the default is 10 s).
const SEND_TIMEOUT: Duration = Duration::from_millis(500);

/// `chat_slow_consumers_closed_total` from `/metrics`.
async fn slow_consumers_closed(app: &TestApp) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("chat_slow_consumers_closed_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the metric is exported")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_and_others_are_not_held_up() {
    let app = spawn_app_with(|s| {
        generous_rate_limits(s);
        s.limits.ws_send_timeout = SEND_TIMEOUT;
        s.limits.tcp_send_buffer = 4096;
    })
    .await;
    let mut pair = app.alice_and_bob_in("General").await;
    let (carol, _) = app.login(CAROL).await;

    // Carol connects with a tiny receive buffer and never reads again.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket
        .connect(([127, 0, 0, 1], app.port).into())
        .await
        .unwrap();
    let (stalled, _) =
        tokio_tungstenite::client_async(app.ws_request_bearer(&carol, &pair.channel), tcp)
            .await
            .expect("carol's upgrade");
    assert_eq!(slow_consumers_closed(&app).await, 0);

    // 200 messages of 3,000 characters: far more than carol's buffers and
    // the server's socket hold.
    // Bob reads as he goes (a reader that keeps up; with the small send
    // buffer of this server, one that waited for the end would be cut
    // too).
    let text = "x".repeat(3000);
    let (mut seqs, mut seen) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        seqs.push(seq(&pair.a.send_ok(&text).await));
        seen.push(seq(&pair.b.next_frame_of_type("message.new", WAIT).await));
    }
    assert_eq!(seen, seqs, "bob missed or reordered messages meanwhile");

    let deadline = tokio::time::Instant::now() + WAIT;
    while slow_consumers_closed(&app).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled client was not cut off"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Reading now drains what was in flight, then the connection ends.
    let (_, mut read) = stalled.split();
    let ended =
        tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = read.next().await {} }).await;
    assert!(ended.is_ok(), "carol's connection is still open");
    pair.a.send_ok("still flowing").await;
}
