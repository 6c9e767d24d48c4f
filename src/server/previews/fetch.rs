//! The link-preview fetcher (PROTOCOL.md "Link previews"): gets a page or
//! an image from a URL someone posted, without ever being made to reach
//! the server's own network (SSRF).
//!
//! Every request, and every redirect hop (redirects are followed here, not
//! by reqwest), is checked with [`address::check_url`] before it is sent;
//! every name is resolved by our own resolver, which refuses an answer
//! with any address that is not public, so the addresses checked are the
//! ones the connection uses. IP-literal hosts never reach a resolver and
//! are refused by `check_url`. No proxy, no cookies, one deadline for the
//! whole fetch and a cap on the bytes read.

use std::error::Error as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use super::address::{self, Refused};

/// The user agent sent, so that sites can tell what fetches them.
const USER_AGENT: &str = "chat-link-preview/1 (+self-hosted chat)";

/// What a page request accepts.
const ACCEPT_PAGE: &str = "text/html,application/xhtml+xml";

/// What an image request accepts.
const ACCEPT_IMAGE: &str = "image/*";

/// The limits of one fetch (PROTOCOL.md: `CHAT_PREVIEW_TIMEOUT_MS`,
/// `CHAT_PREVIEW_MAX_BYTES`, 5 redirects), so that a slow, huge or
/// endlessly redirecting site costs the server little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// The whole fetch: every redirect hop and the body included.
    pub timeout: Duration,
    /// The most bytes of a page read (the rest is not read).
    pub max_bytes: usize,
    /// The most redirects followed.
    pub max_redirects: u8,
}

impl Default for FetchLimits {
    /// PROTOCOL.md's defaults: 5 s, 512 KiB, 5 redirects.
    fn default() -> Self {
        FetchLimits {
            timeout: Duration::from_millis(5_000),
            max_bytes: 512 * 1024,
            max_redirects: 5,
        }
    }
}

/// What was fetched, for the page reader or the thumbnailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Where it was fetched from in the end, after redirects (relative
    /// links in a page are resolved against it).
    pub url: url::Url,
    /// The `Content-Type` header as sent (its charset decodes a page).
    pub content_type: Option<String>,
    /// The body, at most the limit's bytes.
    pub body: Vec<u8>,
    /// The page was longer than the limit and was cut there (a page's
    /// metadata sits at its top, so that is no error).
    pub truncated: bool,
}

/// Why nothing (usable) was fetched; the link gets no preview.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL, a redirect's target or an address a name resolved to is
    /// refused (nothing was sent there).
    #[error("refused: {0}")]
    Refused(#[from] Refused),
    /// More redirects than the limit.
    #[error("too many redirects")]
    Redirects,
    /// The whole fetch took longer than the limit.
    #[error("the fetch timed out")]
    Timeout,
    /// An answer that is neither a success nor a redirect (or a redirect
    /// without a usable `Location`).
    #[error("the site answered {0}")]
    Status(u16),
    /// A page that is not HTML (its media type, lowercased; empty when
    /// none was sent).
    #[error("not an HTML page: {0:?}")]
    NotHtml(String),
    /// An image request answered with something that is not an image (its
    /// media type, lowercased; empty when none was sent).
    #[error("not an image: {0:?}")]
    WrongType(String),
    /// An image larger than its limit.
    #[error("the image is too large")]
    TooLarge,
    /// The connection, TLS or HTTP failed (or the client could not be
    /// built), with reqwest's explanation.
    #[error("network error: {0}")]
    Network(String),
}

/// Fetches pages and images for link previews under the address rules.
/// Holds one HTTP client (connection pool); cheap to clone.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: FetchLimits,
    test_hosts: Arc<[String]>,
}

/// How a body is read.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// HTML, cut at `max_bytes`.
    Page,
    /// `image/*`, refused past `max_bytes`.
    Image,
}

impl Fetcher {
    /// A fetcher with its own client: no redirects followed by reqwest, no
    /// proxy (an `HTTP_PROXY` variable must not route around the checks),
    /// no cookies, and the checking resolver.
    ///
    /// `test_hosts`: host names (lowercase) that resolve to 127.0.0.1 and
    /// are exempt from the port and address rules — for tests only, so a
    /// test can serve pages from a loopback server without the loopback
    /// rule being lifted for anything else. Empty in production.
    ///
    /// # Errors
    /// [`FetchError::Network`] when the HTTP client cannot be built (TLS
    /// set-up).
    pub fn new(limits: FetchLimits, test_hosts: Vec<String>) -> Result<Self, FetchError> {
        let test_hosts: Arc<[String]> = test_hosts
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .no_proxy()
            .referer(false)
            .user_agent(USER_AGENT)
            .dns_resolver(Arc::new(CheckingResolver {
                test_hosts: Arc::clone(&test_hosts),
            }))
            .build()
            .map_err(|e| FetchError::Network(error_chain(&e)))?;
        Ok(Fetcher {
            client,
            limits,
            test_hosts,
        })
    }

    /// A page: HTML only (`text/html` or `application/xhtml+xml`; anything
    /// else is [`FetchError::NotHtml`], checked from the `Content-Type`
    /// before the body is read). Reads at most `max_bytes` and stops there
    /// (`truncated`, not an error: metadata sits at the top).
    ///
    /// # Errors
    /// Any [`FetchError`] but `WrongType` and `TooLarge`.
    pub async fn page(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        self.fetch(url, Kind::Page, self.limits.max_bytes).await
    }

    /// An image for a preview: its `Content-Type` must start with
    /// `image/`; more than `max_bytes` is [`FetchError::TooLarge`] (reading
    /// stops at once, before the body when its length is announced).
    ///
    /// # Errors
    /// Any [`FetchError`] but `NotHtml`.
    pub async fn image(&self, url: &url::Url, max_bytes: usize) -> Result<Fetched, FetchError> {
        self.fetch(url, Kind::Image, max_bytes).await
    }

    async fn fetch(
        &self,
        url: &url::Url,
        kind: Kind,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(
            self.limits.timeout,
            self.fetch_in_time(url, kind, max_bytes),
        )
        .await
        {
            Ok(result) => result,
            Err(_elapsed) => Err(FetchError::Timeout),
        }
    }

    async fn fetch_in_time(
        &self,
        url: &url::Url,
        kind: Kind,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        let accept = match kind {
            Kind::Page => ACCEPT_PAGE,
            Kind::Image => ACCEPT_IMAGE,
        };
        let mut url = url.clone();
        let mut redirects: u8 = 0;
        let mut response = loop {
            self.check(&url)?;
            let response = self
                .client
                .get(url.clone())
                .header(ACCEPT, accept)
                .send()
                .await
                .map_err(from_reqwest)?;
            let status = response.status();
            if is_redirect(status) {
                if redirects >= self.limits.max_redirects {
                    return Err(FetchError::Redirects);
                }
                redirects += 1;
                url = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| std::str::from_utf8(l.as_bytes()).ok())
                    .and_then(|l| url.join(l.trim()).ok())
                    .ok_or(FetchError::Status(status.as_u16()))?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            break response;
        };

        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let media_type = content_type.as_deref().map(media_type).unwrap_or_default();
        match kind {
            Kind::Page => {
                if !matches!(media_type.as_str(), "text/html" | "application/xhtml+xml") {
                    return Err(FetchError::NotHtml(media_type));
                }
            }
            Kind::Image => {
                if !media_type.starts_with("image/") {
                    return Err(FetchError::WrongType(media_type));
                }
            }
        }

        let announced = response.content_length();
        if matches!(kind, Kind::Image) && announced.is_some_and(|n| n > max_bytes as u64) {
            return Err(FetchError::TooLarge);
        }
        let capacity = announced.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let mut body = Vec::with_capacity(capacity.min(max_bytes).min(1024 * 1024));
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
            let room = max_bytes - body.len();
            if chunk.len() > room {
                match kind {
                    Kind::Page => {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    Kind::Image => return Err(FetchError::TooLarge),
                }
            }
            body.extend_from_slice(&chunk);
            if body.len() == max_bytes && announced == Some(max_bytes as u64) {
                // All of it, exactly at the limit: nothing more to wait for.
                break;
            }
        }
        Ok(Fetched {
            url,
            content_type,
            body,
            truncated,
        })
    }

    /// [`address::check_url`], with the port and address rules lifted for
    /// the test hosts only.
    fn check(&self, url: &url::Url) -> Result<(), Refused> {
        let is_test_host = match url.host() {
            Some(url::Host::Domain(name)) => self.test_hosts.iter().any(|h| h == name),
            _ => false,
        };
        match address::check_url(url) {
            Err(Refused::Port | Refused::Address(_)) if is_test_host => Ok(()),
            checked => checked,
        }
    }
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A `Content-Type`'s media type, lowercased, without parameters.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The resolver of every name the client connects to: test hosts go to
/// 127.0.0.1; every other answer must be non-empty and all public.
struct CheckingResolver {
    test_hosts: Arc<[String]>,
}

/// A refusal from the resolver, found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ResolverRefused(Refused);

impl Resolve for CheckingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let is_test_host = self.test_hosts.contains(&host);
        Box::pin(async move {
            if is_test_host {
                let loopback: Addrs =
                    Box::new(std::iter::once(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
                return Ok(loopback);
            }
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(Box::new(ResolverRefused(Refused::Host)) as _);
            }
            if let Some(refused) = addrs.iter().find(|a| !address::is_public(a.ip())) {
                return Err(Box::new(ResolverRefused(Refused::Address(refused.ip()))) as _);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// A reqwest error as ours: a refusal from [`CheckingResolver`] (wrapped
/// by hyper and reqwest) comes back as [`FetchError::Refused`].
fn from_reqwest(err: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(ResolverRefused(refused)) = e.downcast_ref::<ResolverRefused>() {
            return FetchError::Refused(refused.clone());
        }
        source = e.source();
    }
    if err.is_timeout() {
        return FetchError::Timeout;
    }
    FetchError::Network(error_chain(&err))
}

/// An error and its sources, for the log.
fn error_chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use axum::body::Body;
    use axum::extract::Path;
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use axum::Router;

    const PAGE: &str = "<!doctype html><title>Hello</title><p>Hi</p>";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really a png";

    struct Site {
        port: u16,
        secret_hits: Arc<AtomicUsize>,
    }

    impl Site {
        fn url(&self, path: &str) -> url::Url {
            url::Url::parse(&format!("http://site.test:{}{path}", self.port)).unwrap()
        }
    }

    fn redirect(code: u16, location: &str) -> axum::response::Response {
        (
            StatusCode::from_u16(code).unwrap(),
            [(header::LOCATION, location.to_owned())],
        )
            .into_response()
    }

    /// A loopback server for the tests: pages, images, redirects to
    /// everywhere, and a path that counts the requests that reach it.
    async fn serve() -> Site {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let secret_hits = Arc::new(AtomicUsize::new(0));
        let hits = Arc::clone(&secret_hits);
        let mut app = Router::new()
            .route(
                "/page",
                get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE) }),
            )
            .route(
                "/xhtml",
                get(|| async { ([(header::CONTENT_TYPE, "application/xhtml+xml")], PAGE) }),
            )
            .route(
                "/text",
                get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "plain") }),
            )
            .route(
                "/big",
                get(|| async { ([(header::CONTENT_TYPE, "text/html")], "a".repeat(100_000)) }),
            )
            .route(
                "/streamed",
                get(|| async {
                    let chunks = futures_util::stream::iter(
                        (0..50).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 1000])),
                    );
                    (
                        [(header::CONTENT_TYPE, "text/html")],
                        Body::from_stream(chunks),
                    )
                }),
            )
            .route(
                "/redirect/{n}",
                get(|Path(n): Path<u32>| async move {
                    let code = [301, 302, 303, 307, 308][n as usize % 5];
                    if n == 0 {
                        redirect(code, "/page")
                    } else {
                        // Relative to /redirect/{n}.
                        redirect(code, &(n - 1).to_string())
                    }
                }),
            )
            .route(
                "/secret",
                get(move || {
                    hits.fetch_add(1, Ordering::SeqCst);
                    async { ([(header::CONTENT_TYPE, "text/html")], "secret") }
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    ([(header::CONTENT_TYPE, "text/html")], PAGE)
                }),
            )
            .route(
                "/image.png",
                get(|| async { ([(header::CONTENT_TYPE, "image/png")], PNG) }),
            )
            .route(
                "/big.png",
                get(|| async { ([(header::CONTENT_TYPE, "image/png")], vec![0u8; 10_000]) }),
            )
            .route(
                "/streamed.png",
                get(|| async {
                    let chunks = futures_util::stream::iter(
                        (0..10).map(|_| Ok::<_, std::io::Error>(vec![0u8; 1000])),
                    );
                    (
                        [(header::CONTENT_TYPE, "image/png")],
                        Body::from_stream(chunks),
                    )
                }),
            );
        for (path, location) in [
            ("/to/loopback", format!("http://127.0.0.1:{port}/secret")),
            ("/to/loopback-80", "http://127.0.0.1/secret".to_owned()),
            ("/to/private", "http://10.0.0.1/".to_owned()),
            ("/to/mapped", "http://[::ffff:127.0.0.1]/secret".to_owned()),
            (
                "/to/localhost-port",
                format!("http://localhost:{port}/secret"),
            ),
            ("/to/localhost", "http://localhost/secret".to_owned()),
            (
                "/to/credentials",
                format!("http://u:p@site.test:{port}/secret"),
            ),
            ("/to/ftp", "ftp://site.test/secret".to_owned()),
        ] {
            app = app.route(
                path,
                get(move || {
                    let location = location.clone();
                    async move { redirect(302, &location) }
                }),
            );
        }
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Site { port, secret_hits }
    }

    fn limits() -> FetchLimits {
        FetchLimits {
            timeout: Duration::from_secs(5),
            max_bytes: 1000,
            max_redirects: 5,
        }
    }

    fn fetcher(limits: FetchLimits) -> Fetcher {
        Fetcher::new(limits, vec!["SITE.test".to_owned()]).unwrap()
    }

    fn refused_loopback(err: &FetchError) -> bool {
        match err {
            FetchError::Refused(Refused::Address(ip)) => {
                ip.is_loopback() || !address::is_public(*ip)
            }
            FetchError::Refused(Refused::Port) => true,
            _ => false,
        }
    }

    #[tokio::test]
    async fn html_page_is_fetched() {
        let site = serve().await;
        let fetched = fetcher(limits()).page(&site.url("/page")).await.unwrap();
        assert_eq!(fetched.url, site.url("/page"));
        assert_eq!(
            fetched.content_type.as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(fetched.body, PAGE.as_bytes());
        assert!(!fetched.truncated);
        let fetched = fetcher(limits()).page(&site.url("/xhtml")).await.unwrap();
        assert_eq!(fetched.body, PAGE.as_bytes());
    }

    #[tokio::test]
    async fn page_exactly_at_the_limit_is_not_truncated() {
        let site = serve().await;
        let fetcher = fetcher(FetchLimits {
            max_bytes: PAGE.len(),
            ..limits()
        });
        let fetched = fetcher.page(&site.url("/page")).await.unwrap();
        assert_eq!(fetched.body, PAGE.as_bytes());
        assert!(!fetched.truncated);
    }

    #[tokio::test]
    async fn non_html_page_is_refused() {
        let site = serve().await;
        let err = fetcher(limits())
            .page(&site.url("/text"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, FetchError::NotHtml(t) if t == "text/plain"),
            "{err:?}"
        );
        let err = fetcher(limits())
            .page(&site.url("/image.png"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, FetchError::NotHtml(t) if t == "image/png"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn large_page_is_truncated_at_the_limit() {
        let site = serve().await;
        for path in ["/big", "/streamed"] {
            let fetched = fetcher(limits()).page(&site.url(path)).await.unwrap();
            assert_eq!(fetched.body.len(), 1000, "{path}");
            assert!(fetched.body.iter().all(|&b| b == b'a'));
            assert!(fetched.truncated, "{path}");
        }
    }

    #[tokio::test]
    async fn relative_redirects_are_followed() {
        let site = serve().await;
        // Five redirects (the limit), with relative and absolute-path
        // locations and every redirect status.
        let fetched = fetcher(limits())
            .page(&site.url("/redirect/4"))
            .await
            .unwrap();
        assert_eq!(fetched.url, site.url("/page"));
        assert_eq!(fetched.body, PAGE.as_bytes());
    }

    #[tokio::test]
    async fn too_many_redirects() {
        let site = serve().await;
        let err = fetcher(limits())
            .page(&site.url("/redirect/5"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Redirects), "{err:?}");
        let none = fetcher(FetchLimits {
            max_redirects: 0,
            ..limits()
        });
        let err = none.page(&site.url("/redirect/0")).await.unwrap_err();
        assert!(matches!(err, FetchError::Redirects), "{err:?}");
    }

    #[tokio::test]
    async fn redirect_to_loopback_is_refused_unsent() {
        let site = serve().await;
        let fetcher = fetcher(limits());
        // The server is there: a request that got through would count.
        fetcher.page(&site.url("/secret")).await.unwrap();
        assert_eq!(site.secret_hits.load(Ordering::SeqCst), 1);
        for path in [
            "/to/loopback",
            "/to/loopback-80",
            "/to/mapped",
            "/to/localhost-port",
        ] {
            let err = fetcher.page(&site.url(path)).await.unwrap_err();
            assert!(refused_loopback(&err), "{path}: {err:?}");
        }
        assert_eq!(site.secret_hits.load(Ordering::SeqCst), 1);
        let err = fetcher.page(&site.url("/to/mapped")).await.unwrap_err();
        assert!(
            matches!(err, FetchError::Refused(Refused::Address(IpAddr::V6(_)))),
            "{err:?}"
        );
        let err = fetcher
            .page(&site.url("/to/localhost-port"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Refused(Refused::Port)), "{err:?}");
    }

    #[tokio::test]
    async fn redirect_to_private_address_is_refused() {
        let site = serve().await;
        let fetcher = fetcher(limits());
        let started = Instant::now();
        let err = fetcher.page(&site.url("/to/private")).await.unwrap_err();
        let ten: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(
            matches!(err, FetchError::Refused(Refused::Address(ip)) if ip == ten),
            "{err:?}"
        );
        // Refused before any connection, not after one timed out.
        assert!(started.elapsed() < Duration::from_secs(2));
        let err = fetcher
            .page(&url::Url::parse("http://10.0.0.1/").unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Refused(Refused::Address(ip)) if ip == ten),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_by_the_resolver() {
        let site = serve().await;
        let fetcher = fetcher(limits());
        // `localhost` passes the URL check (a name, port 80): the refusal
        // comes from the resolver, through reqwest's error.
        let err = fetcher.page(&site.url("/to/localhost")).await.unwrap_err();
        assert!(
            matches!(err, FetchError::Refused(Refused::Address(ip)) if ip.is_loopback()),
            "{err:?}"
        );
        let err = fetcher
            .image(&url::Url::parse("http://LocalHost/secret").unwrap(), 1000)
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Refused(Refused::Address(ip)) if ip.is_loopback()),
            "{err:?}"
        );
        assert_eq!(site.secret_hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn test_hosts_are_only_for_the_fetcher_that_names_them() {
        let site = serve().await;
        let production = Fetcher::new(limits(), Vec::new()).unwrap();
        let err = production.page(&site.url("/page")).await.unwrap_err();
        assert!(matches!(err, FetchError::Refused(Refused::Port)), "{err:?}");
        let err = production
            .page(&url::Url::parse("http://localhost/").unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Refused(Refused::Address(_))),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn credentials_and_other_schemes_are_refused() {
        let site = serve().await;
        let fetcher = fetcher(limits());
        let url =
            url::Url::parse(&format!("http://user:pw@site.test:{}/secret", site.port)).unwrap();
        let err = fetcher.page(&url).await.unwrap_err();
        assert!(
            matches!(err, FetchError::Refused(Refused::Credentials)),
            "{err:?}"
        );
        let err = fetcher
            .page(&site.url("/to/credentials"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Refused(Refused::Credentials)),
            "{err:?}"
        );
        let err = fetcher.page(&site.url("/to/ftp")).await.unwrap_err();
        assert!(
            matches!(err, FetchError::Refused(Refused::Scheme)),
            "{err:?}"
        );
        assert_eq!(site.secret_hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn slow_server_times_out() {
        let site = serve().await;
        let fetcher = fetcher(FetchLimits {
            timeout: Duration::from_millis(300),
            ..limits()
        });
        let started = Instant::now();
        let err = fetcher.page(&site.url("/slow")).await.unwrap_err();
        assert!(matches!(err, FetchError::Timeout), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn error_status_is_reported() {
        let site = serve().await;
        let err = fetcher(limits())
            .page(&site.url("/missing"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Status(404)), "{err:?}");
    }

    #[tokio::test]
    async fn image_is_fetched() {
        let site = serve().await;
        let fetched = fetcher(limits())
            .image(&site.url("/image.png"), 1000)
            .await
            .unwrap();
        assert_eq!(fetched.content_type.as_deref(), Some("image/png"));
        assert_eq!(fetched.body, PNG);
        assert!(!fetched.truncated);
    }

    #[tokio::test]
    async fn too_large_image_is_refused() {
        let site = serve().await;
        let fetcher = fetcher(limits());
        // Announced with Content-Length, and sent in chunks without one.
        for path in ["/big.png", "/streamed.png"] {
            let err = fetcher.image(&site.url(path), 5000).await.unwrap_err();
            assert!(matches!(err, FetchError::TooLarge), "{path}: {err:?}");
        }
        // The image limit is the image's, not the page's.
        let fetched = fetcher.image(&site.url("/big.png"), 10_000).await.unwrap();
        assert_eq!(fetched.body.len(), 10_000);
    }

    #[tokio::test]
    async fn html_is_not_an_image() {
        let site = serve().await;
        let err = fetcher(limits())
            .image(&site.url("/page"), 1000)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, FetchError::WrongType(t) if t == "text/html"),
            "{err:?}"
        );
    }
}
