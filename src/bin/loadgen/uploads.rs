//! Uploads (PROTOCOL.md "Files and images"), on SQLite with the files on
//! local disk (the default), over loopback: how many 100 KB and 10 MB
//! files eight uploaders store per second; what the server's memory does
//! while 50 clients send 10 MB each at once (an upload is streamed to
//! disk, so the peak must not grow with the bodies in flight); and what a
//! picture's decode and thumbnail add to its upload, against a PDF of the
//! same size. Every upload must answer 201, and every picture must come
//! back as an image with a thumbnail.

use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

use crate::checks::Percentiles;
use crate::report::{Row, Unit};
use crate::scenarios::{latency_rows, Ctx};
use crate::seed::{self, Population};
use crate::server::{Backend, Server};
use crate::Result;

/// The boundary of the multipart bodies sent.
const BOUNDARY: &str = "loadgen-upload-7f3a91c2";
/// A small file: 100 KB.
const SMALL: usize = 100_000;
/// A large file: 10 MB.
const LARGE: usize = 10_000_000;
/// Uploaders at a time in the throughput phases.
const UPLOADERS: usize = 8;
/// The size of each write of a streamed body.
const WRITE_CHUNK: usize = 64 * 1024;
/// How often the server's memory is read while bodies stream in.
const RSS_EVERY: Duration = Duration::from_millis(50);
/// The longest one upload may take.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(180);
/// The test picture's size (a phone photo's, roughly).
const PICTURE: (u32, u32) = (3000, 2000);

/// The per-user limits a load test must lift: the daily bytes (1 GiB by
/// default) and, for the test picture (gradient and noise compress badly),
/// the size of one file.
fn upload_env() -> Vec<(&'static str, String)> {
    vec![
        ("CHAT_UPLOAD_DAILY_BYTES", "1000000000000".into()),
        ("CHAT_UPLOAD_MAX_BYTES", (64 * 1024 * 1024).to_string()),
    ]
}

/// The uploads scenario: the throughput and picture phases on one server,
/// the memory phase on a fresh one.
pub async fn uploads(ctx: &Ctx) -> Result<Vec<Row>> {
    const NAME: &str = "uploads (SQLite, local disk)";
    let pictures = ctx.size(10usize, 2);
    let large_count = ctx.size(40usize, 4);
    let small_for = ctx.size(Duration::from_secs(10), Duration::from_secs(2));
    let at_once = ctx.size(50usize, 10);

    // The bodies, made before any server runs.
    let small = multipart("small.pdf", &pdf(SMALL, 1));
    let large = multipart("large.pdf", &pdf(LARGE, 2));
    let made = Instant::now();
    let png = tokio::task::spawn_blocking(|| picture(PICTURE.0, PICTURE.1)).await??;
    eprintln!(
        "loadgen: made a {}×{} PNG of {} bytes in {:.1?}",
        PICTURE.0,
        PICTURE.1,
        png.len(),
        made.elapsed()
    );
    let same_size_pdf = multipart("same-size.pdf", &pdf(png.len(), 3));
    let png_len = png.len();
    let png = multipart("picture.png", &png);

    let mut failed = 0u64;
    let mut rows = Vec::new();

    // 1, 2 and 4 on one server.
    let server = ctx.server(&Backend::Sqlite, &upload_env()).await?;
    let population = seed::populate(&server, 1, UPLOADERS).await?;
    let uploaders = Uploaders::new(&server, &population)?;

    let cpu = server.cpu_seconds();
    let batch = uploaders.run(&small, Stop::After(small_for)).await;
    let cpu = server.cpu_seconds() - cpu;
    failed += batch.report_failures("100 KB files");
    rows.extend(batch.rows(NAME, &format!("100 KB, {UPLOADERS} at a time"), SMALL, cpu));

    let cpu = server.cpu_seconds();
    let batch = uploaders.run(&large, Stop::Count(large_count)).await;
    let cpu = server.cpu_seconds() - cpu;
    failed += batch.report_failures("10 MB files");
    rows.extend(batch.rows(NAME, &format!("10 MB, {UPLOADERS} at a time"), LARGE, cpu));

    // 4: pictures and PDFs of the same size, one after another and in
    // turns, so both see the same moments of a shared machine; one of
    // each first, not counted.
    let mut pdf_times = Vec::new();
    let mut png_times = Vec::new();
    let mut not_images = 0u64;
    let mut first_error = None;
    for round in 0..=pictures {
        for (body, is_picture) in [(&same_size_pdf, false), (&png, true)] {
            match uploaders.one(0, body.clone()).await {
                Ok((took, upload)) => {
                    if is_picture && !is_thumbnailed(&upload) {
                        not_images += 1;
                        first_error.get_or_insert_with(|| format!("picture answered {upload}"));
                    }
                    if round > 0 {
                        let times = if is_picture {
                            &mut png_times
                        } else {
                            &mut pdf_times
                        };
                        times.push(took.as_micros() as u64);
                    }
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    if let Some(e) = &first_error {
        eprintln!("loadgen: pictures: {e}");
    }
    server.stop().await;
    let (pdf_p, png_p) = (
        Percentiles::of(&mut pdf_times),
        Percentiles::of(&mut png_times),
    );
    let what = format!("{}×{} PNG", PICTURE.0, PICTURE.1);
    rows.extend([
        Row::info(
            NAME,
            &format!("{what}: pictures"),
            pictures as f64,
            Unit::Count,
        ),
        Row::info(NAME, &format!("{what}: bytes"), png_len as f64, Unit::MiB),
        Row::info(
            NAME,
            &format!("{what}: upload p50"),
            png_p.p50 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            &format!("{what}: PDF of the same size, upload p50"),
            pdf_p.p50 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            &format!("{what}: decode and thumbnail (p50 difference)"),
            png_p.p50 as f64 - pdf_p.p50 as f64,
            Unit::Millis,
        ),
        Row::zero(
            NAME,
            "pictures answered without kind image, size and thumb_url",
            not_images,
        ),
    ]);

    // 3: memory while many 10 MB bodies stream in at once, on a fresh
    // server: files on local disk, and, with `LOADGEN_S3` (an S3-protocol
    // endpoint such as moto's on loopback), in a bucket.
    let (memory_rows, memory_failed) =
        memory_phase(ctx, &upload_env(), &large, at_once, NAME).await?;
    rows.extend(memory_rows);
    failed += memory_failed;
    if let Ok(endpoint) = std::env::var("LOADGEN_S3") {
        let bucket = new_bucket(&endpoint).await?;
        let mut env = upload_env();
        env.extend([
            ("CHAT_FILES_URL", format!("s3://{bucket}/chat")),
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "loadgen".into()),
            ("AWS_SECRET_ACCESS_KEY", "loadgen".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]);
        let (memory_rows, memory_failed) =
            memory_phase(ctx, &env, &large, at_once, "uploads (SQLite, S3 bucket)").await?;
        rows.extend(memory_rows);
        failed += memory_failed;
    }
    rows.push(Row::zero(NAME, "uploads not answered 201", failed));
    Ok(rows)
}

/// The server's memory while `at_once` clients send a 10 MB file each, on
/// a fresh server with `env` (warmed by one upload of the same file): its
/// rows, and the uploads not answered 201.
async fn memory_phase(
    ctx: &Ctx,
    env: &[(&'static str, String)],
    large: &Bytes,
    at_once: usize,
    name: &str,
) -> Result<(Vec<Row>, u64)> {
    let mut failed = 0u64;
    let mut rows = Vec::new();
    let server = ctx.server(&Backend::Sqlite, env).await?;
    let population = seed::populate(&server, 1, at_once).await?;
    let warm = Uploaders::new(&server, &population)?;
    if let Err(e) = warm.one(0, large.clone()).await {
        eprintln!("loadgen: warm-up upload: {e}");
        failed += 1;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let memory = at_once_memory(&server, &population, large).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server.rss_bytes();
    server.stop().await;
    failed += memory.failed;
    if let Some(e) = &memory.first_error {
        eprintln!("loadgen: {at_once} at once: {e}");
    }
    let growth = memory.peak.saturating_sub(memory.before);
    let in_flight = (at_once * LARGE) as f64;
    let label = format!("{at_once} × 10 MB at once");
    rows.extend([
        Row::info(
            name,
            &format!("{label}: clients"),
            at_once as f64,
            Unit::Count,
        ),
        Row::info(
            name,
            &format!("{label}: all stored in"),
            memory.elapsed.as_micros() as f64,
            Unit::Millis,
        ),
        Row::info(
            name,
            &format!("{label}: server RSS before"),
            memory.before as f64,
            Unit::MiB,
        ),
        Row::info(
            name,
            &format!(
                "{label}: server RSS peak (every {} ms, {} samples)",
                RSS_EVERY.as_millis(),
                memory.samples
            ),
            memory.peak as f64,
            Unit::MiB,
        ),
        Row::info(
            name,
            &format!("{label}: server RSS 1 s after"),
            after as f64,
            Unit::MiB,
        ),
        Row::info(
            name,
            &format!("{label}: server RSS peak − before"),
            growth as f64,
            Unit::MiB,
        ),
        Row::info(
            name,
            &format!("{label}: the bodies in flight, for comparison"),
            in_flight,
            Unit::MiB,
        ),
        Row::info(
            name,
            &format!("{label}: peak growth per client"),
            growth as f64 / at_once as f64,
            Unit::KiB,
        ),
    ]);
    Ok((rows, failed))
}

/// A new, empty bucket on an S3-protocol server (moto's accepts an
/// anonymous `PUT /{bucket}`).
async fn new_bucket(endpoint: &str) -> Result<String> {
    let bucket = format!("loadgen-{}", uuid::Uuid::new_v4().simple());
    let status = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await?
        .status();
    if !status.is_success() {
        return Err(format!("creating the bucket {bucket} answered {status}").into());
    }
    Ok(bucket)
}

/// A `multipart/form-data` body with one file part.
fn multipart(file_name: &str, bytes: &[u8]) -> Bytes {
    let mut body = Vec::with_capacity(bytes.len() + 256);
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body.into()
}

/// A file the server types as a PDF (by its first bytes): the signature,
/// then seeded pseudo-random bytes, `len` in all.
fn pdf(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    fastrand::Rng::with_seed(seed).fill(&mut bytes);
    let head = b"%PDF-1.4\n";
    bytes[..head.len()].copy_from_slice(head);
    bytes
}

/// A PNG of `width` × `height`: a colour gradient with seeded noise, so
/// it compresses like a photo rather than like a flat picture.
fn picture(width: u32, height: u32) -> Result<Vec<u8>> {
    let mut rng = fastrand::Rng::with_seed(0x9c7e);
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x * 220 / width, y * 220 / height);
        image::Rgb([
            (fx + rng.u32(0..32)) as u8,
            (fy + rng.u32(0..32)) as u8,
            ((fx + fy) / 2 + rng.u32(0..32)) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// An upload answer is a picture's: `kind` image, its size, a thumbnail.
fn is_thumbnailed(upload: &Value) -> bool {
    upload["kind"] == "image"
        && upload["width"] == PICTURE.0
        && upload["height"] == PICTURE.1
        && upload["thumb_url"].as_str().is_some_and(|u| !u.is_empty())
}

/// When a batch of uploads ends.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// No new upload starts after this long.
    After(Duration),
    /// After this many uploads (started).
    Count(usize),
}

/// What a batch of uploads did.
#[derive(Debug, Default)]
struct Batch {
    ok: u64,
    failed: u64,
    first_error: Option<String>,
    latencies_us: Vec<u64>,
    elapsed: Duration,
}

impl Batch {
    /// Logs the first failure; the failures.
    fn report_failures(&self, what: &str) -> u64 {
        if let Some(e) = &self.first_error {
            eprintln!("loadgen: {what}: {} failed, first: {e}", self.failed);
        }
        self.failed
    }

    /// Throughput, latency and server CPU rows of a batch of `file_bytes`
    /// files that cost the server `cpu` seconds.
    fn rows(mut self, name: &str, label: &str, file_bytes: usize, cpu: f64) -> Vec<Row> {
        let seconds = self.elapsed.as_secs_f64().max(1e-9);
        let mut rows = vec![
            Row::info(
                name,
                &format!("{label}: uploads"),
                self.ok as f64,
                Unit::Count,
            ),
            Row::info(
                name,
                &format!("{label}: uploads per second"),
                self.ok as f64 / seconds,
                Unit::PerSecond,
            ),
            Row::info(
                name,
                &format!("{label}: file bytes per second (MiB/s)"),
                (self.ok as usize * file_bytes) as f64 / seconds,
                Unit::MiB,
            ),
        ];
        rows.extend(latency_rows(
            name,
            &format!("{label}: upload"),
            &Percentiles::of(&mut self.latencies_us),
            None,
        ));
        rows.extend([
            Row::info(
                name,
                &format!("{label}: server CPU per upload"),
                cpu * 1e6 / self.ok.max(1) as f64,
                Unit::Millis,
            ),
            Row::info(
                name,
                &format!("{label}: server CPU"),
                cpu / seconds,
                Unit::Cores,
            ),
        ]);
        rows
    }
}

/// Uploaders into the population's first channel, one user each.
struct Uploaders {
    http: reqwest::Client,
    url: String,
    tokens: Vec<String>,
}

impl Uploaders {
    fn new(server: &Server, population: &Population) -> Result<Self> {
        let channel = population.channels.first().ok_or("no channel")?;
        Ok(Uploaders {
            http: reqwest::Client::builder().timeout(UPLOAD_TIMEOUT).build()?,
            url: server.url(&format!("/chat/channels/{channel}/uploads")),
            tokens: population.peers.iter().map(|p| p.token.clone()).collect(),
        })
    }

    /// One upload of `body` as uploader `who`: how long it took and the
    /// answer's `upload`, or why it was not a 201.
    async fn one(&self, who: usize, body: Bytes) -> std::result::Result<(Duration, Value), String> {
        let t = Instant::now();
        let res = self
            .http
            .post(&self.url)
            .bearer_auth(&self.tokens[who])
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = res.status();
        let text = res.text().await.map_err(|e| e.to_string())?;
        let took = t.elapsed();
        if status != reqwest::StatusCode::CREATED {
            return Err(format!("{status}: {text}"));
        }
        let mut answer: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        Ok((took, answer["upload"].take()))
    }

    /// Every uploader sends `body` again and again until `stop`.
    async fn run(&self, body: &Bytes, stop: Stop) -> Batch {
        let started = Instant::now();
        let issued = AtomicUsize::new(0);
        let goes_on = || match stop {
            Stop::After(d) => started.elapsed() < d,
            Stop::Count(n) => issued.fetch_add(1, Ordering::Relaxed) < n,
        };
        let lanes = (0..self.tokens.len()).map(|who| {
            let goes_on = &goes_on;
            async move {
                let mut lane = Batch::default();
                while goes_on() {
                    match self.one(who, body.clone()).await {
                        Ok((took, _)) => {
                            lane.ok += 1;
                            lane.latencies_us.push(took.as_micros() as u64);
                        }
                        Err(e) => {
                            lane.failed += 1;
                            lane.first_error.get_or_insert(e);
                        }
                    }
                }
                lane
            }
        });
        let mut batch = Batch::default();
        for lane in futures_util::future::join_all(lanes).await {
            batch.ok += lane.ok;
            batch.failed += lane.failed;
            batch.latencies_us.extend(lane.latencies_us);
            if batch.first_error.is_none() {
                batch.first_error = lane.first_error;
            }
        }
        batch.elapsed = started.elapsed();
        batch
    }
}

/// The server's memory around many uploads at once.
struct AtOnce {
    before: u64,
    peak: u64,
    samples: u64,
    elapsed: Duration,
    failed: u64,
    first_error: Option<String>,
}

/// Every peer of `population` connects, then all send `body` at once, each
/// streamed in 64 KiB writes; the server's RSS is read every 50 ms until
/// the last answer.
async fn at_once_memory(server: &Server, population: &Population, body: &Bytes) -> AtOnce {
    let port = server.port();
    let channel = population.channels[0];
    let path = format!("/chat/channels/{channel}/uploads");
    let start = Arc::new(Barrier::new(population.peers.len()));
    let before = server.rss_bytes();
    let started = Instant::now();
    let tasks: Vec<_> = population
        .peers
        .iter()
        .map(|peer| {
            let (path, token, body, start) = (
                path.clone(),
                peer.token.clone(),
                body.clone(),
                start.clone(),
            );
            tokio::spawn(async move { streamed_upload(port, &path, &token, &body, &start).await })
        })
        .collect();
    let all = futures_util::future::join_all(tasks);
    tokio::pin!(all);
    let mut tick = tokio::time::interval(RSS_EVERY);
    let (mut peak, mut samples) = (before, 0u64);
    let results = loop {
        tokio::select! {
            results = &mut all => break results,
            _ = tick.tick() => {
                peak = peak.max(server.rss_bytes());
                samples += 1;
            }
        }
    };
    let elapsed = started.elapsed();
    peak = peak.max(server.rss_bytes());
    let mut report = AtOnce {
        before,
        peak,
        samples,
        elapsed,
        failed: 0,
        first_error: None,
    };
    for result in results {
        let outcome = result.map_err(|e| e.to_string()).and_then(|r| r);
        if let Err(e) = outcome {
            report.failed += 1;
            report.first_error.get_or_insert(e);
        }
    }
    report
}

/// One upload written by hand over its own connection: connects, waits
/// for every other client at `start`, then sends the request with its
/// `Content-Length` and the body in 64 KiB writes, and reads the answer's
/// status (201 expected).
async fn streamed_upload(
    port: u16,
    path: &str,
    token: &str,
    body: &Bytes,
    start: &Barrier,
) -> std::result::Result<(), String> {
    let connected = tokio::time::timeout(
        Duration::from_secs(10),
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await;
    start.wait().await;
    let mut stream = match connected {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(format!("connect: {e}")),
        Err(_) => return Err("connect: timed out".into()),
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let exchange = async {
        let sent = async {
            stream.write_all(head.as_bytes()).await?;
            for chunk in body.chunks(WRITE_CHUNK) {
                stream.write_all(chunk).await?;
            }
            stream.flush().await
        }
        .await;
        // Read the answer even when the body was cut short: the server may
        // have answered (and closed) before it took everything.
        let mut answer = Vec::new();
        let read = stream.read_to_end(&mut answer).await;
        (sent, read, answer)
    };
    let (sent, read, answer) = tokio::time::timeout(UPLOAD_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer within {UPLOAD_TIMEOUT:?}"))?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(201) => Ok(()),
        Some(code) => {
            let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
            Err(format!(
                "{code}: {}",
                body.chars().take(300).collect::<String>()
            ))
        }
        None => Err(format!(
            "no HTTP answer (send: {sent:?}, read: {:?})",
            read.map(|_| answer.len())
        )),
    }
}
