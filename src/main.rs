//! The `chat` binary: parse the command line, then serve (the default),
//! check the configuration, or call a running server's admin API. Built
//! with `--features embed-site`, it carries the site (Wasm, JS, CSS,
//! assets) and needs nothing beside it.

use clap::Parser;

use chat::server::cli::{describe, Cli, Command, ServeFlags};
use chat::server::http::embedded::EmbeddedSite;
use chat::server::startup::Application;
use chat::server::telemetry;

/// mimalloc instead of the system allocator: cheaper allocation on the
/// connection paths (measured in docs/BENCHMARKS.md). The
/// `system-allocator` feature leaves it out so heap profilers that hook
/// `malloc` (heaptrack, massif) see every allocation.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    chat::server::huge_pages::configure_from_env();
    let cli = Cli::parse();
    match cli.command {
        None => serve(&ServeFlags::default(), cli.config).await,
        Some(Command::Serve(flags)) => serve(&flags, cli.config).await,
        Some(Command::CheckConfig(flags)) => match flags.settings(cli.config) {
            Ok(s) => {
                print!("{}", describe(&s));
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::ExitCode::from(2)
            }
        },
        Some(Command::Admin(args)) => match args.run().await {
            Ok(line) => {
                println!("{line}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("chat admin: {e}");
                std::process::ExitCode::from(1)
            }
        },
    }
}

/// Runs the server until Ctrl-C or SIGTERM.
async fn serve(flags: &ServeFlags, config: Option<std::path::PathBuf>) -> std::process::ExitCode {
    telemetry::init();
    let mut settings = match flags.settings(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    settings.embedded_site = embedded_site();
    if settings.embedded_site.is_some() && std::env::var("LEPTOS_ENV").is_err() {
        // A self-contained binary is a deployment: no live-reload script.
        settings.production = true;
    }
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

/// The site compiled in by `--features embed-site` (from `target/site`,
/// which `cargo leptos build` must have produced first).
#[cfg(feature = "embed-site")]
fn embedded_site() -> Option<EmbeddedSite> {
    #[derive(rust_embed::RustEmbed)]
    #[folder = "target/site/"]
    struct Site;

    fn lookup(path: &str) -> Option<std::borrow::Cow<'static, [u8]>> {
        Site::get(path).map(|file| file.data)
    }
    Some(EmbeddedSite { lookup })
}

/// Without `embed-site` the site is read from `LEPTOS_SITE_ROOT`.
#[cfg(not(feature = "embed-site"))]
fn embedded_site() -> Option<EmbeddedSite> {
    None
}
