//! `myclothes serve` and `myclothes worker` as child processes of the test.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::TcpStream;

use super::{TestDatabase, free_port, serve_args};

/// `myclothes serve` as a child process, so that it can be sent a real SIGTERM.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
    /// The admin listener's: health reports and metrics.
    pub admin_port: u16,
}

impl ServerProcess {
    pub async fn start(db: &TestDatabase, overrides: &[&str]) -> Self {
        Self::spawn(db, overrides, Stdio::null()).await
    }

    /// Starts the server with its log (standard error) going to `log`.
    pub async fn start_logging(db: &TestDatabase, overrides: &[&str], log: &std::path::Path) -> Self {
        Self::spawn(db, overrides, std::fs::File::create(log).expect("the log file can be created").into())
            .await
    }

    async fn spawn(db: &TestDatabase, overrides: &[&str], log: Stdio) -> Self {
        let (port, admin_port) = (free_port(), free_port());
        let (listen, admin) = (format!("127.0.0.1:{port}"), format!("127.0.0.1:{admin_port}"));
        let child = Command::new(env!("CARGO_BIN_EXE_myclothes"))
            .args(serve_args(
                db,
                &[&["--listen", listen.as_str(), "--admin-listen", admin.as_str()], overrides].concat(),
            ))
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("myclothes starts");
        let server = Self { child, port, admin_port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&listen).await.is_err() {
            assert!(Instant::now() < deadline, "the server did not listen within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    pub fn terminate(&self) {
        let status =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill runs");
        assert!(status.success());
    }

    pub async fn ready_status(&self) -> Option<u16> {
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let response =
            client.get(format!("http://127.0.0.1:{}/health/ready", self.port)).send().await.ok()?;
        Some(response.status().as_u16())
    }

    /// Stops the server (SIGTERM) and answers what it wrote to `log`, its log file, which goes. Lines
    /// are written by a thread of their own: a stopping server writes what is still queued.
    pub async fn stop_and_read_log(&mut self, log: &std::path::Path) -> String {
        self.terminate();
        self.wait_for_exit(Duration::from_secs(30)).await;
        let logged = std::fs::read_to_string(log).expect("the log file can be read");
        std::fs::remove_file(log).expect("the log file can be removed");
        logged
    }

    pub async fn wait_for_exit(&mut self, within: Duration) -> std::process::ExitStatus {
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

impl ServerProcess {
    /// `kill -9`: gone at once, nothing finished.
    pub fn kill(&mut self) {
        self.child.kill().expect("the server can be killed");
        self.child.wait().expect("the killed server is reaped");
    }

    pub async fn post_graphql(&self, token: Option<&str>, query: &str) -> Value {
        let mut request = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/graphql", self.port))
            .json(&json!({ "query": query }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("the server answers").json().await.expect("the body is JSON")
    }
}

/// `myclothes worker` as a child process, so that it can be killed with `kill -9`.
pub struct WorkerProcess {
    child: Child,
}

impl WorkerProcess {
    pub fn start(db: &TestDatabase, name: &str, overrides: &[&str]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_myclothes"))
            .args(serve_args(db, &[&["--worker-name", name], overrides].concat()))
            .arg("worker")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("myclothes worker starts");
        Self { child }
    }

    /// `kill -9`: gone at once, nothing finished.
    pub fn kill(&mut self) {
        self.child.kill().expect("the worker can be killed");
        self.child.wait().expect("the killed worker is reaped");
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
