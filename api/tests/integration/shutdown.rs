use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestDatabase, free_port, serve_args};

/// `myclothes serve` as a child process, so that it can be sent a real SIGTERM.
struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    async fn start(db: &TestDatabase, overrides: &[&str]) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_myclothes"))
            .args(serve_args(db, &[&["--listen", listen.as_str()], overrides].concat()))
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("myclothes starts");
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&listen).await.is_err() {
            assert!(Instant::now() < deadline, "the server did not listen within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    fn terminate(&self) {
        let status =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill runs");
        assert!(status.success());
    }

    async fn ready_status(&self) -> Option<u16> {
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let response =
            client.get(format!("http://127.0.0.1:{}/health/ready", self.port)).send().await.ok()?;
        Some(response.status().as_u16())
    }

    async fn wait_for_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be waited on") {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
