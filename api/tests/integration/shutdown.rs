use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestDatabase;
use crate::support::process::ServerProcess;

#[tokio::test]
async fn sigterm_turns_readiness_503_and_lets_a_slow_request_finish_before_exiting_0() {
    let db = TestDatabase::create().await;
    let mut server = ServerProcess::start(&db, &["--shutdown-delay", "1s", "--drain-timeout", "10s"]).await;
    assert_eq!(server.ready_status().await, Some(200));

    // A slow client: the headers and half of the body now, the rest after the SIGTERM.
    let body = br#"{"query":"{ shop { name currency } }"}"#;
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(first_half).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let signalled = Instant::now();
    server.terminate();
    let mut saw_503 = false;
    while signalled.elapsed() < Duration::from_millis(900) {
        if server.ready_status().await == Some(503) {
            saw_503 = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saw_503, "readiness did not turn 503 after SIGTERM");

    tokio::time::sleep(Duration::from_millis(1200)).await; // past the shutdown delay: the listener is closed
    assert_eq!(server.ready_status().await, None, "no new connections are accepted while draining");
    slow.write_all(second_half).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), slow.read_to_string(&mut response))
        .await
        .expect("the slow request is answered")
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""shop":{"name":"MyClothes","currency":"EUR"}"#), "{response}");

    let status = server.wait_for_exit(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0));
}
