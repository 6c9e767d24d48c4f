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

/// mimalloc's settings for a server that holds many idle connections.
#[cfg(not(feature = "system-allocator"))]
mod allocator {
    use std::ffi::{c_int, c_long};

    // The option numbers of the mimalloc v3 that `libmimalloc-sys` builds
    // (its `mimalloc.h`); the test below checks them against their
    // defaults (in its `options.c`).
    const PURGE_DELAY: c_int = 15;
    const ARENA_EAGER_COMMIT: c_int = 4;

    extern "C" {
        fn mi_option_set(option: c_int, value: c_long);
        #[cfg(test)]
        fn mi_option_get(option: c_int) -> c_long;
    }

    /// Freed memory goes back to the system at once, not after a delay
    /// that only runs out when the freeing thread allocates again: after a
    /// connect burst an idle server's threads do not, and the burst's
    /// memory stayed resident (idle-sockets benchmark, docs/BENCHMARKS.md).
    /// Arena memory is committed as it is used, not up front. A
    /// `MIMALLOC_*` variable in the environment still wins.
    pub fn tune() {
        let unset = |name: &str| std::env::var_os(name).is_none();
        // SAFETY: plain setters of mimalloc's option table, valid at any time.
        unsafe {
            if unset("MIMALLOC_PURGE_DELAY") {
                mi_option_set(PURGE_DELAY, 0);
            }
            if unset("MIMALLOC_ARENA_EAGER_COMMIT") {
                mi_option_set(ARENA_EAGER_COMMIT, 0);
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn option_numbers_are_the_linked_mimallocs() {
            // SAFETY: a getter of mimalloc's option table.
            let (purge, eager) = unsafe {
                (
                    mi_option_get(PURGE_DELAY),
                    mi_option_get(ARENA_EAGER_COMMIT),
                )
            };
            assert_eq!(purge, 1000, "mimalloc v3 default purge delay (ms)");
            assert_eq!(eager, 2, "mimalloc v3 default arena eager commit");
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    #[cfg(not(feature = "system-allocator"))]
    allocator::tune();
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
