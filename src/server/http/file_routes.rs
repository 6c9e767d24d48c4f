//! The file routes (PROTOCOL.md "Files and images"): the upload, streamed
//! from its multipart body into the rule book's upload, and the downloads,
//! which the rule book checks on every request and this module serves
//! with the headers that keep a file from ever running as a page.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};

use super::byte_ranges::{parse_range, RangeAnswer};
use super::extract::ChannelPath;
use super::paced_body::{PacedBody, PacedPart, READ_AHEAD};
use crate::protocol::files::UploadAnswer;
use crate::protocol::{AppError, PreviewImageId, UploadId};
use crate::server::auth::CurrentUser;
use crate::server::chat::uploads::{disposition, Download};
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// The policy of every file answer: nothing in it may run or load
/// anything, even if a browser were to render it as a page.
const FILE_CSP: &str = "default-src 'none'; sandbox";

/// `POST /chat/channels/{channelId}/uploads`: exactly one file part,
/// streamed to the rule book; other, non-file fields are read past. The
/// parser reads at most [`READ_AHEAD`] bytes ahead of the file's writing
/// (`paced_body`), and the whole body at most the largest file and 1 MiB
/// of framing.
pub async fn upload_route(
    State(state): State<AppState>,
    user: CurrentUser,
    ChannelPath(channel_id): ChannelPath,
    request: Request,
) -> Result<Response, ApiError> {
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| AppError::BadRequest("the body must be multipart/form-data".into()))?;
    let whole = state
        .chat
        .limits
        .upload_max_bytes
        .saturating_add(1024 * 1024);
    let (body, pace) = PacedBody::new(request.into_body().into_data_stream(), READ_AHEAD);
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(whole));
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);
    let mut stored = None;
    loop {
        pace.next_part();
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                if let Some(upload) = stored.take() {
                    state.chat.discard_upload(upload).await;
                }
                return Err(multipart_error(e).into());
            }
        };
        if field.file_name().is_none() {
            // A plain form field: read past it, keep nothing.
            let mut field = PacedPart::new(field, pace.clone());
            while let Some(Ok(_)) = futures_util::StreamExt::next(&mut field).await {}
            continue;
        }
        if let Some(upload) = stored.take() {
            state.chat.discard_upload(upload).await;
            return Err(AppError::BadRequest("send one file per upload".into()).into());
        }
        let name = field.file_name().map(str::to_owned);
        let data = PacedPart::new(field, pace.clone());
        stored = Some(
            state
                .chat
                .upload(user.id, channel_id, name.as_deref(), data)
                .await?,
        );
    }
    let upload = stored.ok_or_else(|| AppError::BadRequest("the body has no file part".into()))?;
    Ok((StatusCode::CREATED, Json(UploadAnswer { upload })).into_response())
}

/// A multipart body that broke off or passed the body limit.
fn multipart_error(e: multer::Error) -> AppError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            AppError::FileTooLarge("the upload is over the size limit".into())
        }
        other => AppError::BadRequest(format!("the multipart body is malformed: {other}")),
    }
}

/// `GET /chat/files/{uploadId}`.
pub async fn file_route(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(state, user, &id, false, &headers).await
}

/// `GET /chat/files/{uploadId}/thumb`.
pub async fn thumb_route(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(state, user, &id, true, &headers).await
}

/// `GET /chat/previews/{imageId}/image`: a link preview's picture, as the
/// server stored it (any signed-in user; see `Chat::preview_picture`).
pub async fn preview_image_route(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let id: PreviewImageId = id
            .parse()
            .map_err(|_| AppError::BadRequest("the picture id must be a UUID".into()))?;
        let picture = state.chat.preview_picture(id).await?;
        if let Some(redirect) = presigned_redirect(&state, &picture.key).await? {
            return Ok(redirect);
        }
        let storage = &state.chat.files.storage;
        let etag = format!("\"{}\"", picture.etag);
        let mut response = if names_etag(&headers, header::IF_NONE_MATCH, &etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let body = storage.get(&picture.key, None).await.map_err(missing)?;
            let size = body.size;
            let mut r = Response::new(Body::from_stream(body));
            set(&mut r, header::CONTENT_LENGTH, &size.to_string());
            set(&mut r, header::CONTENT_TYPE, &picture.content_type);
            set(&mut r, header::CONTENT_DISPOSITION, "inline");
            r
        };
        set(&mut response, header::ETAG, &etag);
        set(
            &mut response,
            header::CACHE_CONTROL,
            "private, max-age=3600",
        );
        Ok::<_, AppError>(response)
    }
    .await;
    secured(answer)
}

/// Checks and serves one download: streamed from local disk (ETag,
/// ranges), or a redirect to a presigned URL of object storage.
async fn serve(
    state: AppState,
    user: CurrentUser,
    raw_id: &str,
    thumb: bool,
    headers: &HeaderMap,
) -> Response {
    let answer = async {
        let id: UploadId = raw_id
            .parse()
            .map_err(|_| AppError::BadRequest("the file id must be a UUID".into()))?;
        let download = state.chat.download(user.id, id, thumb).await?;
        if let Some(redirect) = presigned_redirect(&state, &download.key).await? {
            return Ok(redirect);
        }
        serve_local(&state, &download, headers).await
    }
    .await;
    secured(answer)
}

/// With object storage, the redirect to a short-lived presigned URL of
/// `key` (the bucket serves the bytes); `None` with local disk.
async fn presigned_redirect(state: &AppState, key: &str) -> Result<Option<Response>, AppError> {
    let url = state
        .chat
        .files
        .storage
        .presigned_get(key, state.chat.limits.files_url_ttl)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "presigning a download failed");
            AppError::internal()
        })?;
    Ok(url.map(|url| {
        let mut response = StatusCode::FOUND.into_response();
        set(&mut response, header::LOCATION, &url);
        set(&mut response, header::CACHE_CONTROL, "no-store");
        response
    }))
}

/// Streams a file from local disk, answering `If-None-Match` and one
/// `Range`.
async fn serve_local(
    state: &AppState,
    download: &Download,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let etag = format!("\"{}\"", download.etag);
    let storage = &state.chat.files.storage;
    let matches_etag = |name| names_etag(headers, name, &etag);
    let mut response = if matches_etag(header::IF_NONE_MATCH) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let size = storage.size(&download.key).await.map_err(|e| {
            tracing::error!(error = %e, key = %download.key, "a stored file is missing");
            AppError::NotFound("no such file".into())
        })?;
        // `If-Range` with another tag: the file changed, send it whole.
        let if_range_ok = headers
            .get(header::IF_RANGE)
            .is_none_or(|_| matches_etag(header::IF_RANGE));
        let range = headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .filter(|_| if_range_ok);
        match parse_range(range, size) {
            RangeAnswer::Unsatisfiable => {
                let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                set(&mut r, header::CONTENT_RANGE, &format!("bytes */{size}"));
                return Ok(r);
            }
            RangeAnswer::Whole => {
                let body = storage.get(&download.key, None).await.map_err(missing)?;
                let mut r = Response::new(Body::from_stream(body));
                set(&mut r, header::CONTENT_LENGTH, &size.to_string());
                r
            }
            RangeAnswer::Part(part) => {
                let body = storage
                    .get(&download.key, Some(part.clone()))
                    .await
                    .map_err(missing)?;
                let mut r = Response::new(Body::from_stream(body));
                *r.status_mut() = StatusCode::PARTIAL_CONTENT;
                set(
                    &mut r,
                    header::CONTENT_LENGTH,
                    &(part.end - part.start).to_string(),
                );
                set(
                    &mut r,
                    header::CONTENT_RANGE,
                    &format!("bytes {}-{}/{size}", part.start, part.end - 1),
                );
                r
            }
        }
    };
    set(&mut response, header::ETAG, &etag);
    set(&mut response, header::ACCEPT_RANGES, "bytes");
    set(
        &mut response,
        header::CACHE_CONTROL,
        "private, max-age=3600",
    );
    set(
        &mut response,
        header::LAST_MODIFIED,
        &http_date(download.upload.created_at.into()),
    );
    if response.status() != StatusCode::NOT_MODIFIED {
        set(&mut response, header::CONTENT_TYPE, &download.content_type);
        set(
            &mut response,
            header::CONTENT_DISPOSITION,
            &disposition(&download.upload, !download.inline),
        );
    }
    Ok(response)
}

/// A stored file that cannot be read.
fn missing(e: crate::server::files::storage::StorageError) -> AppError {
    tracing::error!(error = %e, "reading a stored file failed");
    AppError::NotFound("no such file".into())
}

/// Whether the header `name` (`If-None-Match`, `If-Range`) lists `etag`
/// (quoted) or `*`.
fn names_etag(headers: &HeaderMap, name: header::HeaderName, etag: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// A file route's answer, or its error as JSON, with the headers every
/// file answer carries.
fn secured(answer: Result<Response, AppError>) -> Response {
    let mut response = match answer {
        Ok(response) => response,
        Err(e) => ApiError(e).into_response(),
    };
    secure(&mut response);
    response
}

/// The headers every file answer carries, errors included.
fn secure(response: &mut Response) {
    set(response, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(response, header::CONTENT_SECURITY_POLICY, FILE_CSP);
    set(
        response,
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
}

/// Sets one header (a value that is not a valid header is left out).
fn set(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
}

/// An instant as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
