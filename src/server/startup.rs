//! `Application`: builds everything from [`Settings`] (data directory,
//! secret, storage, demo data, write path, router, listener) and runs it
//! until a shutdown future completes. Tests use the same path with port 0.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use leptos::config::LeptosOptions;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::protocol::Message;
use crate::server::auth::JwtKeys;
use crate::server::bus::follower::Follower;
use crate::server::bus::local::LocalBus;
use crate::server::bus::postgres::{PgBus, PgCommitNotice};
use crate::server::bus::server_id::ServerId;
use crate::server::bus::Bus;
use crate::server::chat::change_writer::ChangeWriterParts;
use crate::server::chat::uploads::Files;
use crate::server::chat::{activity, ChangeWriter, Chat, MessageWriter, RateLimit, SendLimiter};
use crate::server::config::Settings;
use crate::server::files::images::ImageLimits;
use crate::server::files::sniff::AllowedTypes;
use crate::server::files::spool;
use crate::server::files::storage::FileStorage;
use crate::server::http::router;
use crate::server::http::serve::{serve, ConnectionSettings};
use crate::server::http::site_files::SiteFiles;
use crate::server::metrics::Metrics;
use crate::server::notify::notifier::Notifier;
use crate::server::notify::webhook::{Webhook, WebhookConfig};
use crate::server::previews::queue;
use crate::server::previews::task::{self as preview_task, PreviewParts, PreviewSettings};
use crate::server::rooms::{Rooms, UserHub};
use crate::server::state::AppState;
use crate::server::store::postgres::PgStore;
use crate::server::store::sqlite::SqliteStore;
use crate::server::store::ChangeLimits;
use crate::server::store::{Store, StoreError};
use crate::server::{demo, secret};

/// How long shutdown waits for WebSocket sessions to close.
const SESSION_DRAIN: Duration = Duration::from_secs(5);
/// How long shutdown waits for queued writes to commit.
const WRITER_DRAIN: Duration = Duration::from_secs(10);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data directory or secret file.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Storage could not be opened or migrated.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The database URL names a backend this build does not have.
    #[error("configuration error in DATABASE_URL: {0}")]
    Database(String),
    /// The file storage or the upload settings.
    #[error("configuration error in the file settings: {0}")]
    Files(String),
    /// The listen address.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// A built, bound server that has not started serving yet.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    writer_task: JoinHandle<()>,
    /// Applies changes to stored messages (drained at shutdown).
    change_task: JoinHandle<()>,
    activity_task: JoinHandle<()>,
    /// Follows the other servers on the bus (ends at once when there are
    /// none).
    follower_task: JoinHandle<()>,
    /// The webhook's notifier and delivery (none unless configured).
    notify_tasks: Vec<JoinHandle<()>>,
}

impl Application {
    /// Builds the server: creates the data directory, loads the secret,
    /// opens and migrates storage, seeds demo data if asked, binds.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        settings
            .validate()
            .map_err(|e| StartupError::Database(e.to_string()))?;
        let data_dir_err = |source| StartupError::DataDir {
            path: settings.data_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&settings.data_dir).map_err(data_dir_err)?;
        let configured = settings.jwt_secret.as_ref().map(|s| s.expose_secret());
        let secret =
            secret::load_or_create(configured, &settings.data_dir).map_err(data_dir_err)?;
        let jwt = Arc::new(JwtKeys::new(secret.as_bytes(), settings.jwt_issuer.clone()));

        let url = settings.effective_database_url();
        let url = url.expose_secret();
        let connections = u32::try_from(settings.limits.db_connections).unwrap_or(u32::MAX);
        let server_id = ServerId::new_random();
        // Several servers share a Postgres database; a SQLite file has one.
        let (store, bus): (Arc<dyn Store>, Arc<dyn Bus>) = if url.starts_with("sqlite:") {
            let store = SqliteStore::connect_with_sync(url, connections, settings.sqlite_sync)
                .await?
                .with_search_index(settings.search)
                .await?;
            (Arc::new(store), Arc::new(LocalBus::new(server_id)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let notice = Arc::new(PgCommitNotice { id: server_id });
            let pg = PgStore::connect(url, connections, Some(notice))
                .await?
                .with_search_index(settings.search);
            let bus = PgBus::new(server_id, pg.pool());
            (Arc::new(pg), bus)
        } else {
            return Err(StartupError::Database(
                "DATABASE_URL must start with sqlite:, postgres:// or postgresql://".into(),
            ));
        };
        if settings.demo_data && demo::seed_once(store.as_ref()).await? {
            tracing::info!("demo data created: alice, bob, carol (password \"password\")");
        }

        let files = Arc::new(files_from(&settings)?);

        let limits = settings.limits.clone();
        let rooms = Rooms::new(limits.room_buffer, limits.presence_batch);
        let users = Arc::new(UserHub::default());
        let (activity_tx, activity_rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let metrics = Arc::new(Metrics::new());
        let member_cache = Arc::new(activity::MemberCache::default());
        // With link previews, what this server stores and edits is offered
        // to the preview task (started below, once the change writer is).
        let (previews, preview_inbox) = if settings.link_previews {
            let (queue, inbox) = queue::queue();
            (Some(queue), Some(inbox))
        } else {
            (None, None)
        };
        // With a webhook, what this server stores also goes to the
        // notifier; with previews, to the preview queue.
        let mut notify_tasks = Vec::new();
        let notify_tx = webhook_config(&settings).map(|config| {
            let (webhook, delivery) = Webhook::spawn(config, metrics.clone(), shutdown.clone());
            let (notify_tx, notifier) = Notifier {
                store: store.clone(),
                users: users.clone(),
                rooms: rooms.clone(),
                members: member_cache.clone(),
                webhook,
                reminder_after: limits.webhook_reminder_after,
            }
            .spawn(shutdown.clone());
            notify_tasks.extend([delivery, notifier]);
            notify_tx
        });
        let stored_tx = if notify_tx.is_none() && previews.is_none() {
            activity_tx.clone()
        } else {
            let (tee_tx, mut tee_rx) = mpsc::unbounded_channel::<Message>();
            let activity = activity_tx.clone();
            let offer = previews.clone();
            notify_tasks.push(tokio::spawn(async move {
                while let Some(m) = tee_rx.recv().await {
                    if let Some(offer) = &offer {
                        offer.offer(&m);
                    }
                    if let Some(notify) = &notify_tx {
                        let _ = notify.send(m.clone());
                    }
                    let _ = activity.send(m);
                }
            }));
            tee_tx
        };
        let (writer, writer_task) = MessageWriter::spawn(
            store.clone(),
            rooms.clone(),
            stored_tx,
            bus.clone(),
            limits.write_batch,
            metrics.clone(),
            shutdown.clone(),
        );
        let (changes, change_task) = ChangeWriter::spawn(
            ChangeWriterParts {
                store: store.clone(),
                rooms: rooms.clone(),
                users: users.clone(),
                bus: bus.clone(),
                limits: ChangeLimits {
                    max_reactions_per_message: limits.max_reactions_per_message,
                    max_pins_per_channel: i64::try_from(limits.max_pins_per_channel)
                        .unwrap_or(i64::MAX),
                },
                max_batch: limits.write_batch,
                previews,
            },
            shutdown.clone(),
        );
        if let Some(inbox) = preview_inbox {
            notify_tasks.push(preview_task::spawn(
                PreviewParts {
                    store: store.clone(),
                    changes: changes.clone(),
                    files: files.clone(),
                    settings: PreviewSettings {
                        timeout: limits.preview_timeout,
                        max_bytes: limits.preview_max_bytes,
                        image_max_bytes: limits.preview_image_max_bytes,
                        max_links: limits.max_previews,
                        cache_for: limits.preview_cache,
                        concurrency: limits.preview_fetches,
                        image: ImageLimits {
                            max_pixels: limits.image_max_pixels,
                            thumb_max_px: limits.thumb_max_px,
                        },
                        test_hosts: settings.preview_test_hosts.clone(),
                    },
                },
                inbox,
                shutdown.clone(),
            ));
        }
        let follower_task = Follower {
            bus: bus.clone(),
            store: store.clone(),
            rooms: rooms.clone(),
            users: users.clone(),
            activity: activity_tx.clone(),
            member_cache: member_cache.clone(),
            sweep: limits.cluster_sweep,
        }
        .spawn(shutdown.clone());
        let activity_task = activity::spawn(
            store.clone(),
            users.clone(),
            member_cache.clone(),
            activity_rx,
        );
        let limiter = SendLimiter::per_second(limits.rate_burst, limits.rate_per_second);
        let login_limiter = RateLimit::new(
            limits.login_burst,
            Duration::from_secs(60) / limits.login_per_minute.max(1),
        );
        let chat = Arc::new(Chat {
            bus: bus.clone(),
            store,
            rooms,
            users,
            writer,
            changes,
            limiter,
            change_limiter: RateLimit::per_second(limits.change_burst, limits.change_per_second),
            login_limiter,
            password_checks: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get() * 2),
            )),
            limits,
            metrics,
            known_users: Default::default(),
            member_cache: member_cache.clone(),
            search_on: settings.search,
            files,
        });

        let listener = bind(settings.listen_addr).map_err(|source| StartupError::Bind {
            addr: settings.listen_addr.to_string(),
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.listen_addr.to_string(),
            source,
        })?;
        let leptos_options = LeptosOptions::builder()
            .output_name(settings.output_name.clone())
            .site_root(settings.site_root.clone())
            .site_pkg_dir(settings.site_pkg_dir.clone())
            .site_addr(local_addr)
            .reload_port(settings.reload_port)
            .env(if settings.production {
                leptos::config::Env::PROD
            } else {
                leptos::config::Env::DEV
            })
            .build();

        let site = Arc::new(match settings.embedded_site {
            Some(embedded) => SiteFiles::embedded(embedded),
            None => SiteFiles::dir(&settings.site_root),
        });
        let state = AppState {
            site,
            settings: Arc::new(settings),
            jwt,
            chat,
            leptos_options,
            shutdown,
            tasks: TaskTracker::new(),
        };
        Ok(Application {
            listener,
            state,
            writer_task,
            change_task,
            activity_task,
            follower_task,
            notify_tasks,
        })
    }

    /// The server's shared state, so the rule book can be driven without a
    /// socket (its tests).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The bound port (useful with port 0).
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Serves until `shutdown` completes; then stops accepting, closes every
    /// WebSocket with 1001, waits (bounded) for sessions and queued writes.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Application {
            listener,
            state,
            writer_task,
            change_task,
            activity_task,
            follower_task,
            notify_tasks,
        } = self;
        let token = state.shutdown.clone();
        let tasks = state.tasks.clone();

        let limiter = state.chat.limiter.clone();
        let change_limiter = state.chat.change_limiter.clone();
        let login_limiter = state.chat.login_limiter.clone();
        let janitor_token = token.clone();
        let janitor = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = janitor_token.cancelled() => break,
                    _ = every.tick() => {
                        limiter.forget_idle();
                        change_limiter.forget_idle();
                        login_limiter.forget_idle();
                    }
                }
            }
        });

        let file_sweeper = tokio::spawn(sweep_files(
            state.chat.clone(),
            state.settings.limits.files_sweep_interval,
            token.clone(),
        ));

        let flusher = tokio::spawn(crate::server::chat::search_flush::run(
            state.chat.store.clone(),
            state.settings.limits.search_flush_interval,
            token.clone(),
        ));

        tracing::info!(addr = %state.leptos_options.site_addr, "chat server listening");
        let connection_settings = ConnectionSettings {
            header_timeout: state.settings.limits.http_header_timeout,
            tcp_send_buffer: state.settings.limits.tcp_send_buffer,
            max_connections: state.settings.limits.max_connections,
        };
        let app = router::build(state);
        let signal_token = token.clone();
        serve(listener, app, connection_settings, async move {
            shutdown.await;
            tracing::info!("shutting down: closing WebSockets with 1001");
            signal_token.cancel();
        })
        .await;
        token.cancel();
        tasks.close();
        if tokio::time::timeout(SESSION_DRAIN, tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket sessions did not close in time");
        }
        let _ = janitor.await;
        let _ = flusher.await;
        let _ = file_sweeper.await;
        // The writer saw the shutdown: it closed its queue, commits what is
        // queued, and stops.
        if tokio::time::timeout(WRITER_DRAIN, writer_task)
            .await
            .is_err()
        {
            tracing::warn!("message writer did not drain in time");
        }
        if tokio::time::timeout(WRITER_DRAIN, change_task)
            .await
            .is_err()
        {
            tracing::warn!("change writer did not drain in time");
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), follower_task).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), activity_task).await;
        for task in notify_tasks {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        Ok(())
    }
}

/// Where uploads go and what they may be (`files_url`, by default a
/// folder `files` in the data directory; spooled in `uploads-tmp` there,
/// where parts a stopped server left behind over an hour ago are removed
/// now: younger ones may be another server's, sharing the folder).
fn files_from(settings: &Settings) -> Result<Files, StartupError> {
    let url = settings
        .files_url
        .clone()
        .unwrap_or_else(|| format!("file://{}", settings.data_dir.join("files").display()));
    let storage = match &settings.files_env {
        Some(env) => FileStorage::from_url_with_env(&url, env.clone()),
        None => FileStorage::from_url(&url),
    }
    .map_err(|e| StartupError::Files(format!("{url}: {e}")))?;
    let allowed = AllowedTypes::parse(&settings.limits.upload_types)
        .map_err(|e| StartupError::Files(format!("upload_types: {e}")))?;
    let spool_dir = settings.data_dir.join("uploads-tmp");
    std::fs::create_dir_all(&spool_dir)
        .map_err(|e| StartupError::Files(format!("{}: {e}", spool_dir.display())))?;
    match spool::sweep_stale(&spool_dir, Duration::from_secs(3600)) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            parts = n,
            "removed uploads a stopped server left half-received"
        ),
        Err(e) => tracing::warn!(error = %e, "could not clear the upload spool"),
    }
    Ok(Files::new(storage, spool_dir, allowed))
}

/// Deletes the bytes of removed and orphaned uploads every `every`, until
/// `shutdown` (PROTOCOL.md "Files and images").
async fn sweep_files(chat: Arc<Chat>, every: Duration, shutdown: CancellationToken) {
    /// Uploads removed per round at most; a longer backlog goes on in
    /// the next rounds.
    const PER_ROUND: u32 = 500;
    loop {
        match chat.sweep_files(PER_ROUND).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "deleted removed files"),
            Err(e) => tracing::warn!(error = %e, "deleting removed files failed; retried later"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// The webhook's delivery settings, when a URL (and its secret: checked by
/// `Settings::validate`) is configured.
fn webhook_config(settings: &Settings) -> Option<WebhookConfig> {
    let url = settings.webhook_url.clone()?;
    let secret = settings.webhook_secret.clone()?;
    let l = &settings.limits;
    Some(WebhookConfig {
        url,
        secret,
        timeout: l.webhook_timeout,
        max_attempts: l.webhook_max_attempts,
        retry_base: l.webhook_retry,
        queue: l.webhook_queue,
    })
}

/// Pending connections the kernel queues for `accept` (it caps this at
/// `net.core.somaxconn`). Tokio's default of 1,024 overflowed in the
/// connect storm while the accept loop waited for a core, and each dropped
/// handshake cost its client a one-second SYN retry.
const LISTEN_BACKLOG: u32 = 4096;

/// The listening socket, with address reuse (a restart need not wait for
/// old connections' TIME_WAIT) and a deep accept queue.
fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}
