//! `AppError`: the error every JSON route and server function returns, so the
//! UI can tell "not allowed" from "network blip" and REST gets the right
//! status code from one place.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use super::ws::ErrorCode;

/// An error a client may see. Internal causes are logged on the server and
/// never sent (the `Internal` message is generic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "message")]
pub enum AppError {
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed, e.g. not a member (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such channel (404).
    #[error("{0}")]
    NotFound(String),
    /// A bad parameter (400).
    #[error("{0}")]
    BadRequest(String),
    /// A message text that is empty after trimming (400; an edit's, as a
    /// send's `EMPTY_MESSAGE`).
    #[error("{0}")]
    EmptyMessage(String),
    /// Input over a size limit (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many requests; retry later (429).
    #[error("rate limited; retry in {retry_after_ms} ms")]
    RateLimited {
        /// When a retry will be accepted.
        retry_after_ms: u64,
    },
    /// The target changed first: a deleted message, a stale `ifRev` (409).
    #[error("{0}")]
    Conflict(String),
    /// A count limit was reached: distinct reactions on a message, pins in
    /// a channel (409).
    #[error("{0}")]
    LimitReached(String),
    /// A reaction that is not one emoji or known `:short_code:` (400).
    #[error("{0}")]
    InvalidReaction(String),
    /// A search query without words or over the length limit (400).
    #[error("{0}")]
    InvalidQuery(String),
    /// A send's upload ids that the sender may not attach (400).
    #[error("{0}")]
    InvalidAttachment(String),
    /// An upload over the largest file size (413), stopped while it
    /// streamed.
    #[error("{0}")]
    FileTooLarge(String),
    /// An upload whose bytes are of no allowed type (415).
    #[error("{0}")]
    UnsupportedFileType(String),
    /// An image whose dimensions pass the pixel limit (422).
    #[error("{0}")]
    ImageTooLarge(String),
    /// Our fault; details are in the server log (500).
    #[error("{0}")]
    Internal(String),
    /// The database cannot be reached or written right now (disk full,
    /// read-only, server down); retrying shortly may work (503).
    #[error("{0}")]
    Unavailable(String),
    /// The server function transport failed (network, encoding).
    #[error("{0}")]
    Transport(String),
}

impl AppError {
    /// HTTP status for this error.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::BadRequest(_)
            | AppError::InvalidReaction(_)
            | AppError::EmptyMessage(_)
            | AppError::InvalidQuery(_)
            | AppError::InvalidAttachment(_) => 400,
            AppError::Conflict(_) | AppError::LimitReached(_) => 409,
            AppError::PayloadTooLarge(_) | AppError::FileTooLarge(_) => 413,
            AppError::UnsupportedFileType(_) => 415,
            AppError::ImageTooLarge(_) => 422,
            AppError::RateLimited { .. } => 429,
            AppError::Internal(_) | AppError::Transport(_) => 500,
            AppError::Unavailable(_) => 503,
        }
    }

    /// The protocol's code for this refusal, as the `error` frame and the
    /// JSON routes' `"code"` carry it (`None` for errors frames never
    /// carry: authentication, transport, internal).
    pub fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::BadRequest(_) => ErrorCode::ParseError,
            AppError::EmptyMessage(_) => ErrorCode::EmptyMessage,
            AppError::PayloadTooLarge(_) => ErrorCode::MessageTooLong,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::LimitReached(_) => ErrorCode::LimitReached,
            AppError::InvalidReaction(_) => ErrorCode::InvalidReaction,
            AppError::InvalidQuery(_) => ErrorCode::InvalidQuery,
            AppError::InvalidAttachment(_) => ErrorCode::InvalidAttachment,
            AppError::FileTooLarge(_) => ErrorCode::FileTooLarge,
            AppError::UnsupportedFileType(_) => ErrorCode::UnsupportedFileType,
            AppError::ImageTooLarge(_) => ErrorCode::ImageTooLarge,
            AppError::Internal(_) | AppError::Unavailable(_) => ErrorCode::PersistFailed,
            AppError::Unauthorized(_) | AppError::Transport(_) => return None,
        })
    }

    /// The generic internal error (the cause goes to the log, not the client).
    pub fn internal() -> Self {
        AppError::Internal("internal error".into())
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The caller sent arguments that do not decode: its mistake.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::BadRequest(value.to_string())
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}
