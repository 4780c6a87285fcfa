//! A Redis server of the test's own, for tests that stop Redis; a Redis set or cluster of the test's
//! own (`scripts/stack`), and killing one of its servers.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use deadpool_redis::redis;

use super::{free_port, stack_script};

pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
    /// Where its append-only file lives, when it keeps one.
    dir: Option<PathBuf>,
}

const PASSWORD: &str = "own-redis-password";

impl OwnRedis {
    /// A Redis that keeps nothing on disk.
    pub async fn start() -> Self {
        let mut redis = Self { port: free_port(), child: None, dir: None };
        redis.restart().await;
        redis
    }

    /// A Redis with the stack's persistence: an append-only file synced every second.
    pub async fn start_persistent() -> Self {
        let dir = std::env::temp_dir().join(format!("mc-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a folder for the append-only file");
        let mut redis = Self { port: free_port(), child: None, dir: Some(dir) };
        redis.restart().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://:{PASSWORD}@127.0.0.1:{}/0", self.port)
    }

    /// `kill -9`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM: Redis writes out what it has and exits, as on a planned restart.
    pub fn shut_down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port and files, and waits until it answers.
    pub async fn restart(&mut self) {
        let mut command = Command::new("redis-server");
        command.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--requirepass", PASSWORD]);
        command.args(["--save", "", "--daemonize", "no"]);
        match &self.dir {
            Some(dir) => command.args(["--appendonly", "yes", "--appendfsync", "everysec", "--dir"]).arg(dir),
            None => command.args(["--appendonly", "no"]),
        };
        self.child = Some(command.stdout(Stdio::null()).spawn().expect("redis-server starts"));
        let client = redis_client(&self.url());
        for _ in 0..100 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && deadpool_redis::redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not answer within 5 s", self.port);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn redis_client(url: &str) -> deadpool_redis::redis::Client {
    deadpool_redis::redis::Client::open(url).expect("a valid Redis URL")
}

/// `scripts/stack KIND up NAME PORTS… [tls]` (`redis-ha`, `redis-cluster`) under a new name: the name,
/// and the addresses the script printed.
pub fn redis_of_its_own(kind: &str, ports: &[u16], tls: bool) -> (String, String) {
    let name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut args = vec![kind.to_owned(), "up".to_owned(), name.clone()];
    args.extend(ports.iter().map(u16::to_string));
    if tls {
        args.push("tls".to_owned());
    }
    let printed = stack_script(&args.iter().map(String::as_str).collect::<Vec<_>>()).trim().to_owned();
    (name, printed)
}

/// `kill -9` of the Redis server that `connection` reaches.
pub async fn kill_server(connection: &mut redis::aio::MultiplexedConnection) {
    let info: String = redis::cmd("INFO").arg("server").query_async(connection).await.unwrap();
    let pid = info.lines().find_map(|line| line.strip_prefix("process_id:")).unwrap().trim().to_owned();
    let killed = std::process::Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(killed.success(), "kill -9 {pid}");
}
