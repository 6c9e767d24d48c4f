//! The `chat` binary: load settings, start logging, build the application,
//! serve until Ctrl-C or SIGTERM.

use chat::server::config::Settings;
use chat::server::startup::Application;
use chat::server::telemetry;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    telemetry::init();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("chat: cannot start: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match app.run_until_stopped(shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat: server error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
