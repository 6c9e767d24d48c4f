//! Wall-clock milliseconds for the browser-side rules (typing throttle,
//! relative times): `Date.now()` in the browser, the system clock on the
//! server, so callers carry no `cfg`.

/// Milliseconds since the Unix epoch.
#[cfg(feature = "hydrate")]
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Milliseconds since the Unix epoch.
#[cfg(not(feature = "hydrate"))]
pub fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}
