//! `ApiError`: how an [`AppError`] becomes an HTTP response on the JSON
//! routes (`{"error": "..."}` with the status from one place, and
//! `Retry-After` when rate limited or storage is unavailable).

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderValue, StatusCode};

use crate::protocol::AppError;

/// Wrapper that renders an [`AppError`] as a JSON error response.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = match self.0.code() {
            Some(code) if self.0.status_code() != 500 && self.0.status_code() != 503 => {
                Json(serde_json::json!({ "error": self.0.to_string(), "code": code }))
            }
            _ => Json(serde_json::json!({ "error": self.0.to_string() })),
        };
        let mut response = (status, body).into_response();
        let retry_after_secs = match self.0 {
            AppError::RateLimited { retry_after_ms } => Some(retry_after_ms.div_ceil(1000).max(1)),
            AppError::Unavailable(_) => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after_secs {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
        }
        response
    }
}
