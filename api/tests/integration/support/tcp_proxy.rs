//! A TCP proxy in front of a server on this machine, which the test can cut: from then on connections
//! through it are refused and the open ones are closed, as if the server had died (without stopping a
//! server that other tests share); or pause: the server then seems to hang, until the proxy resumes;
//! or sever the open connections alone, as a network that drops them; or delay the server's answers,
//! as a slow link back does.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub struct TcpProxy {
    pub port: u16,
    tasks: JoinSet<()>,
    paused: Arc<watch::Sender<bool>>,
    severed: Arc<watch::Sender<u64>>,
    answers_delay: Arc<watch::Sender<Duration>>,
}

impl TcpProxy {
    pub async fn start(target_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().unwrap().port();
        let paused = Arc::new(watch::Sender::new(false));
        let severed = Arc::new(watch::Sender::new(0));
        let answers_delay = Arc::new(watch::Sender::new(Duration::ZERO));
        let mut tasks = JoinSet::new();
        let (pause, sever, delay) = (paused.clone(), severed.clone(), answers_delay.clone());
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let (pause, mut severed, delay) = (pause.clone(), sever.subscribe(), delay.subscribe());
                connections.spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)).await {
                        let ((client_in, client_out), (server_in, server_out)) =
                            (client.into_split(), server.into_split());
                        let no_delay = watch::Sender::new(Duration::ZERO).subscribe();
                        tokio::select! {
                            _ = async {
                                tokio::join!(
                                    forward(client_in, server_out, pause.subscribe(), no_delay),
                                    forward(server_in, client_out, pause.subscribe(), delay)
                                )
                            } => {}
                            _ = severed.changed() => {}
                        }
                    }
                });
            }
        });
        Self { port, tasks, paused, severed, answers_delay }
    }

    /// Holds each chunk of the server's answers `delay` before passing it on.
    pub fn delay_answers(&self, delay: Duration) {
        self.answers_delay.send_replace(delay);
    }

    /// Holds every byte from now on, in both directions, as a server that hangs would.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Lets what was held, and everything after it, through.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// Closes every open connection through it; new ones may be made.
    pub fn sever(&self) {
        self.severed.send_modify(|generation| *generation += 1);
    }

    /// Closes the listener and every connection through it.
    pub fn cut(&mut self) {
        self.tasks.abort_all();
    }
}

/// Copies `from` to `to`, holding each chunk while the proxy is paused, and for `delay`.
async fn forward(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut paused: watch::Receiver<bool>,
    delay: watch::Receiver<Duration>,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else { return };
        if read == 0 || paused.wait_for(|paused| !paused).await.is_err() {
            return;
        }
        let held = *delay.borrow();
        tokio::time::sleep(held).await;
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
