//! One shutdown protocol for every service.
//!
//! A `Shutdown` is a cancellation token shared by all tasks of a process. SIGTERM or SIGINT
//! cancels it; so does any task that fails, so one broken part takes the whole process down
//! (and the orchestrator restarts it) instead of leaving a half-working replica. Tasks finish
//! their current unit of work — a consumer commits its batch, the relay flushes the producer —
//! and return; `main` bounds the whole drain with a grace period and exits non-zero if it is
//! exceeded or any task failed.

use tokio_util::sync::CancellationToken;

/// Cancellation shared by all tasks of one process.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every task to finish its current unit of work and stop.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when shutdown has been asked for. Cancellation safe.
    pub async fn wait(&self) {
        self.token.cancelled().await;
    }

    /// Cancels this shutdown when the process receives SIGTERM or SIGINT.
    pub fn listen_for_signals(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let term = async {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for SIGTERM");
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                () = term => tracing::info!("SIGTERM received, draining"),
                _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received, draining"),
                () = this.wait() => return,
            }
            this.trigger();
        });
    }
}
