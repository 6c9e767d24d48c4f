//! The connection limit (`limits.max_connections`): WebSockets and HTTP
//! connections count alike; a connection beyond the limit reads a complete
//! 503 with `Retry-After` and is closed, a WebSocket upgrade beyond it gets
//! 503; the connections already open keep working, and a closed one makes
//! room for the next.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Room for the two WebSockets, the test client's own pooled connections
/// (how many depends on timing) and at least one more.
const LIMIT: usize = 8;

/// A new connection's answer to `GET /readyz` (keep-alive): its status line,
/// its head and body, and the connection, still open if the server left it so.
async fn readyz_on_new_connection(port: u16) -> (String, String, TcpStream) {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let answer = tokio::time::timeout(WAIT, async {
        loop {
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .expect("a content-length");
                if body.len() >= length {
                    return (head.to_string(), body.to_string());
                }
            }
            let n = tcp.read(&mut buf).await.expect("read the answer");
            assert!(n > 0, "closed before a whole answer: {text:?}");
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("an answer in time");
    let status = answer.0.lines().next().unwrap_or_default().to_string();
    (status, format!("{}\r\n\r\n{}", answer.0, answer.1), tcp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_get_a_503_and_the_open_ones_keep_working() {
    let app = spawn_app_with(|s| s.limits.max_connections = LIMIT).await;
    let mut pair = app.alice_and_bob_in("General").await;

    // Fill what is left of the limit with keep-alive connections (the test
    // client's own pool may hold one too) until one is refused.
    let mut admitted = Vec::new();
    let refused = loop {
        assert!(
            admitted.len() <= LIMIT - 2,
            "{} connections besides the two WebSockets were admitted",
            admitted.len()
        );
        let (status, answer, tcp) = readyz_on_new_connection(app.port).await;
        if status.starts_with("HTTP/1.1 200") {
            admitted.push(tcp);
        } else {
            break (status, answer, tcp);
        }
    };
    assert!(!admitted.is_empty(), "no room for even one connection");
    let (status, answer, mut refused_tcp) = refused;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable", "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: 1\r\n"), "{answer}");
    assert!(lower.contains("\r\nconnection: close\r\n"), "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(
        body["error"],
        "server is at its connection limit; retry shortly"
    );
    // ...and the refused connection is closed.
    let mut rest = [0u8; 64];
    let closed = tokio::time::timeout(WAIT, refused_tcp.read(&mut rest))
        .await
        .expect("the refused connection is closed");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");

    // A WebSocket upgrade beyond the limit is refused the same way.
    assert_eq!(
        ws_refused_status(app.ws_request_bearer(&pair.alice, &pair.channel)).await,
        503
    );

    // The connections already open are untouched.
    pair.a.send_ok("still here").await;
    let got = pair.b.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(got["text"], "still here");
    for tcp in &mut admitted {
        tcp.write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let n = tokio::time::timeout(WAIT, tcp.read(&mut rest))
            .await
            .expect("an answer on an admitted connection")
            .unwrap();
        assert!(
            String::from_utf8_lossy(&rest[..n]).starts_with("HTTP/1.1 200"),
            "an admitted keep-alive connection was not served"
        );
    }

    // Closing a WebSocket makes room: a new connection is served (once the
    // server has seen the close).
    pair.b.close().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, _, _tcp) = readyz_on_new_connection(app.port).await;
        if status.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no room after a WebSocket closed: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
