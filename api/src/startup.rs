//! Builds the application from its configuration, binds the public listener and the admin one (port 0
//! picks a free one, as the tests do), and serves until a shutdown signal, draining in-flight
//! requests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::Server;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};

use crate::config::{HttpSettings, ServeConfig};
use crate::routes::{self, Readiness};
use crate::services::Services;

pub struct Application {
    acceptor: TcpAcceptor,
    local_addr: SocketAddr,
    admin_acceptor: TcpAcceptor,
    admin_addr: SocketAddr,
    services: Arc<Services>,
    readiness: Readiness,
    http: HttpSettings,
    shutdown_delay: Duration,
    drain_timeout: Duration,
}

impl Application {
    pub async fn build(config: ServeConfig) -> anyhow::Result<Self> {
        crate::metrics::install();
        let services = Arc::new(Services::connect(&config).await?);
        let (acceptor, local_addr) = bind(config.listen).await?;
        let (admin_acceptor, admin_addr) = bind(config.admin_listen).await?;
        Ok(Self {
            acceptor,
            local_addr,
            admin_acceptor,
            admin_addr,
            services,
            readiness: Readiness::default(),
            http: config.http,
            shutdown_delay: config.shutdown_delay,
            drain_timeout: config.drain_timeout,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    pub fn services(&self) -> Arc<Services> {
        self.services.clone()
    }

    /// Serves until `shutdown` completes; then reports not-ready for the shutdown delay (still
    /// serving, so the load balancer can take this instance out), closes the listener, and lets
    /// in-flight requests finish within the drain timeout.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let readiness = self.readiness.clone();
        let shutdown_delay = self.shutdown_delay;
        let drain = async move {
            shutdown.await;
            readiness.start_draining();
            tracing::info!(?shutdown_delay, "shutting down: readiness is 503, still serving");
            tokio::time::sleep(shutdown_delay).await;
            tracing::info!("listener closed; draining in-flight requests");
        };
        let admin = routes::admin(self.services.clone(), self.readiness.clone());
        let app = routes::app(self.services, self.readiness, self.http);
        tracing::info!(addr = %self.local_addr, admin = %self.admin_addr, "serving");
        // The admin listener answers until the public one has drained.
        let (served, served_signal) = tokio::sync::oneshot::channel::<()>();
        let public = async {
            let outcome = Server::new_with_acceptor(self.acceptor)
                .run_with_graceful_shutdown(app, drain, Some(self.drain_timeout))
                .await;
            let _ = served.send(());
            outcome
        };
        let admin = Server::new_with_acceptor(self.admin_acceptor).run_with_graceful_shutdown(
            admin,
            async {
                let _ = served_signal.await;
            },
            Some(Duration::from_secs(1)),
        );
        let (public, admin) = tokio::join!(public, admin);
        public.and(admin)
    }
}

/// A listener on `address`, and the address it got.
async fn bind(address: SocketAddr) -> anyhow::Result<(TcpAcceptor, SocketAddr)> {
    let acceptor = TcpListener::bind(address)
        .into_acceptor()
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let bound = *acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr())
        .context("the listener has no socket address")?;
    Ok((acceptor, bound))
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed at start-up");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
