//! A TCP proxy in front of a server on this machine, which the test can cut: from then on connections
//! through it are refused and the open ones are closed, as if the server had died (without stopping a
//! server that other tests share).

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub struct TcpProxy {
    pub port: u16,
    tasks: JoinSet<()>,
}

impl TcpProxy {
    pub async fn start(target_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().unwrap().port();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(("127.0.0.1", target_port)).await {
                        let _ = copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { port, tasks }
    }

    /// Closes the listener and every connection through it.
    pub fn cut(&mut self) {
        self.tasks.abort_all();
    }
}
