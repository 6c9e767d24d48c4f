//! The real `chat` binary as a child process on a loopback port: started
//! with a clean environment, waited for until `/readyz` answers, stopped
//! with SIGTERM (graceful) or SIGKILL (a crash), started again on the same
//! port and data, and read from `/proc` (memory, descriptors, threads).
//!
//! One copy for both users, so they cannot drift apart: the load generator
//! (this directory) and the integration tests that kill or restart the
//! server (`tests/support/server_process.rs` includes this file with
//! `#[path]`). It lives here rather than in the library so that the server
//! ships no test code; it uses nothing of either crate, only std, libc,
//! tokio and reqwest, which both have.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a server could not be started or read.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// How to start the server (kept for restarts).
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `chat` binary.
    pub bin: PathBuf,
    /// Its working directory and data directory (`CHAT_DATA_DIR`).
    pub dir: PathBuf,
    /// The loopback port it listens on (`LEPTOS_SITE_ADDR`), the same after
    /// a restart; [`free_port`] picks one.
    pub port: u16,
    /// Settings added to an otherwise empty environment (only `PATH` is
    /// kept, and `RUST_LOG=warn` unless given here), after the port and the
    /// data directory, so they can override those too.
    pub env: Vec<(String, String)>,
    /// A file for the server's stdout and stderr ([`ServerProcess::log_tail`]
    /// reads it back); `None` discards them (a test that fills the data
    /// directory's disk must not have the log there).
    pub log: Option<PathBuf>,
    /// How long the server may take until `/readyz` answers 200.
    pub ready_within: Duration,
    /// After SIGTERM, how long to wait for a graceful exit before SIGKILL;
    /// `None` waits as long as it takes (a test of the graceful shutdown
    /// must not cut it short).
    pub stop_grace: Option<Duration>,
}

impl Launch {
    /// A launch of `bin` in `dir` on `port` with nothing added: no log, 60 s
    /// to get ready, 15 s to stop.
    pub fn new(bin: impl Into<PathBuf>, dir: impl Into<PathBuf>, port: u16) -> Self {
        Launch {
            bin: bin.into(),
            dir: dir.into(),
            port,
            env: Vec::new(),
            log: None,
            ready_within: Duration::from_secs(60),
            stop_grace: Some(Duration::from_secs(15)),
        }
    }

    /// Adds environment variables (later ones win).
    pub fn env<K: ToString, V: ToString>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self {
        self.env.extend(
            vars.into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        self
    }
}

/// One running `chat` process (or a stopped one, between [`kill`] and
/// [`restart`]); killed with SIGKILL when dropped.
///
/// [`kill`]: ServerProcess::kill
/// [`restart`]: ServerProcess::restart
pub struct ServerProcess {
    launch: Launch,
    child: Option<Child>,
}

impl ServerProcess {
    /// Starts the server and waits until it is ready.
    ///
    /// # Errors
    /// The binary could not be started, exited, or was not ready in time
    /// (with the end of its log when it has one).
    pub async fn launch(launch: Launch) -> Result<Self, Error> {
        let mut server = ServerProcess {
            launch,
            child: None,
        };
        server.restart().await?;
        Ok(server)
    }

    /// Starts the process again (after [`ServerProcess::kill`] or
    /// [`ServerProcess::terminate`]) with the same settings, port and data,
    /// and waits until it is ready.
    ///
    /// # Errors
    /// As [`ServerProcess::launch`]; also when it is still running.
    pub async fn restart(&mut self) -> Result<(), Error> {
        if self.child.is_some() {
            return Err("the server is still running".into());
        }
        let l = &self.launch;
        let mut cmd = Command::new(&l.bin);
        cmd.current_dir(&l.dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", l.port))
            .env("CHAT_DATA_DIR", &l.dir)
            .envs(l.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        match &l.log {
            Some(path) => {
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                cmd.stdout(log.try_clone()?).stderr(log);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", l.bin.display()))?;
        self.child = Some(child);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> Result<(), Error> {
        let url = self.url("/readyz");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + self.launch.ready_within;
        loop {
            if let Some(child) = &mut self.child {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(
                        format!("server exited at start ({status}):\n{}", self.log_tail()).into(),
                    );
                }
            }
            if let Ok(r) = http.get(&url).send().await {
                if r.status() == 200 {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "server not ready after {:?}:\n{}",
                    self.launch.ready_within,
                    self.log_tail()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL (no goodbye, no graceful shutdown), and waits until the
    /// process is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM (a graceful shutdown) and waits until the process is gone:
    /// SIGKILL after the launch's `stop_grace`.
    #[allow(unsafe_code)]
    pub fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SAFETY: kill(2) on our own child's pid (not yet reaped, so not
        // reused) has no memory effects.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let Some(grace) = self.launch.stop_grace else {
            let _ = child.wait();
            return;
        };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The port it listens on (the same after a restart).
    pub fn port(&self) -> u16 {
        self.launch.port
    }

    /// Its data directory (and working directory).
    pub fn dir(&self) -> &std::path::Path {
        &self.launch.dir
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.launch.port)
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The server process's id (0 when stopped), for attaching a profiler.
    #[allow(dead_code)] // The load generator's; the tests share this file.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// Resident memory of the server process in bytes, as (anonymous: the
    /// heap and stacks; file-backed: the binary's pages read so far).
    #[allow(dead_code)] // The load generator's; the tests share this file.
    pub fn rss_anon_and_file(&self) -> (u64, u64) {
        (
            self.proc_status("RssAnon:") * 1024,
            self.proc_status("RssFile:") * 1024,
        )
    }

    /// Resident memory of the server process, in bytes (0 when stopped).
    pub fn rss_bytes(&self) -> u64 {
        self.proc_status("VmRSS:") * 1024
    }

    /// CPU time the server process has used so far (user and system, all
    /// threads), in seconds; 0 when stopped. The difference over a phase
    /// is the server's share of the two cores, apart from the load
    /// generator's.
    #[allow(unsafe_code)]
    pub fn cpu_seconds(&self) -> f64 {
        let Some(child) = &self.child else { return 0.0 };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", child.id())) else {
            return 0.0;
        };
        // Fields after the command name (which may hold spaces): state is
        // the first, utime the 12th, stime the 13th.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return 0.0;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // SAFETY: sysconf only reads a configuration value.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        (ticks(11) + ticks(12)) as f64 / per_second
    }

    /// Bytes the server process has caused to be written to storage so far
    /// (`write_bytes` of `/proc/<pid>/io`: counted when a page is dirtied,
    /// so it does not depend on when the kernel flushes; sockets are not
    /// storage); 0 when stopped. With SQLite this is the WAL and the
    /// checkpoints into the database file: the difference over a phase is
    /// what its writes cost in pages, a measure that does not move with
    /// the machine's load as wall-clock rates do.
    pub fn storage_written_bytes(&self) -> u64 {
        let Some(child) = &self.child else { return 0 };
        std::fs::read_to_string(format!("/proc/{}/io", child.id()))
            .ok()
            .and_then(|io| {
                io.lines()
                    .find_map(|line| line.strip_prefix("write_bytes:"))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// Threads of the server process (tokio workers and blocking threads).
    pub fn threads(&self) -> u64 {
        self.proc_status("Threads:")
    }

    /// Open file descriptors of the server process (sockets, database
    /// files, the runtime's own).
    pub fn open_fds(&self) -> u64 {
        let Some(child) = &self.child else { return 0 };
        std::fs::read_dir(format!("/proc/{}/fd", child.id()))
            .map(|dir| dir.count() as u64)
            .unwrap_or(0)
    }

    /// A gauge or counter from the server's `/metrics` (`chat_<name>`).
    ///
    /// # Errors
    /// The server did not answer, or has no such metric.
    pub async fn metric(&self, name: &str) -> Result<f64, Error> {
        let text = reqwest::get(self.url("/metrics")).await?.text().await?;
        let prefix = format!("chat_{name} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("no chat_{name} in /metrics").into())
    }

    /// The last 2,000 bytes of the server's log, for error messages (empty
    /// without a log file).
    pub fn log_tail(&self) -> String {
        let Some(path) = &self.launch.log else {
            return String::new();
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        text[start..].to_string()
    }

    /// A field of `/proc/<pid>/status` (kB values and counts); 0 when
    /// stopped or unreadable.
    fn proc_status(&self, field: &str) -> u64 {
        let Some(child) = &self.child else { return 0 };
        std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port (bound and released at once).
///
/// # Errors
/// No port could be bound.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
