//! `/admin/*`: the host app's sync API, authenticated by the service key
//! (`Authorization: Bearer <CHAT_ADMIN_KEY>`, compared in constant time).
//! Without a configured key the routes answer 404. Each route calls the
//! same `server::chat` service as everything else.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::extract::{AccessPath, JsonBody, MessagePath, TabloPath, UserPath};
use crate::protocol::AppError;
use crate::server::error::ApiError;
use crate::server::http::rest::ApiResult;
use crate::server::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::Query;

/// Proof that the request carries the service key.
pub struct AdminKey;

impl FromRequestParts<AppState> for AdminKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = state.settings.admin_key.as_ref().map(|k| k.expose_secret()) else {
            return Err(AppError::NotFound("the admin API is disabled".into()).into());
        };
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(AdminKey)
        } else {
            Err(AppError::Unauthorized("a valid service key is required".into()).into())
        }
    }
}

/// Body of `PUT /admin/tablos/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TabloBody {
    name: String,
    color: Option<String>,
    /// Whether members see each other's read cursors ("seen by"); left
    /// out: unchanged (on for a new tablo).
    #[serde(default)]
    read_receipts: Option<bool>,
}

/// Body of `PUT /admin/users/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    email: String,
    display_name: String,
}

/// `PUT /admin/tablos/{id}` with `{"name", "color"?}`: create or rename.
pub async fn put_tablo_route(
    _: AdminKey,
    State(state): State<AppState>,
    TabloPath(id): TabloPath,
    JsonBody(b): JsonBody<TabloBody>,
) -> ApiResult {
    state
        .chat
        .admin_put_channel(id, &b.name, b.color.as_deref())
        .await?;
    if let Some(on) = b.read_receipts {
        state.chat.admin_set_read_receipts(id, on).await?;
    }
    Ok(Json(json!({ "ok": true })))
}

/// `?hard=true` of the admin delete.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    #[serde(default)]
    hard: bool,
}

/// `DELETE /admin/tablos/{id}/messages/{m}[?hard=true]`: the tombstone;
/// `hard` also wipes the stored text and the edit history.
pub async fn delete_message_route(
    _: AdminKey,
    State(state): State<AppState>,
    path: MessagePath,
    params: Result<Query<DeleteParams>, QueryRejection>,
) -> ApiResult {
    let Query(params) = params.map_err(|e| AppError::BadRequest(format!("bad query: {e}")))?;
    let message = state
        .chat
        .admin_delete_message(path.channel, path.message, params.hard)
        .await?;
    Ok(Json(json!({ "message": message })))
}

/// `GET /admin/tablos/{id}/messages/{m}/edits`: the edit history.
pub async fn edits_route(
    _: AdminKey,
    State(state): State<AppState>,
    path: MessagePath,
) -> ApiResult {
    let edits = state.chat.admin_edits(path.channel, path.message).await?;
    Ok(Json(json!({ "edits": edits })))
}

/// `DELETE /admin/tablos/{id}`: delete with everything in it.
pub async fn delete_tablo_route(
    _: AdminKey,
    State(state): State<AppState>,
    TabloPath(id): TabloPath,
) -> ApiResult {
    state.chat.admin_delete_channel(id).await?;
    Ok(Json(json!({ "ok": true })))
}

/// `PUT /admin/users/{id}` with `{"email", "display_name"}`: create or update.
pub async fn put_user_route(
    _: AdminKey,
    State(state): State<AppState>,
    UserPath(id): UserPath,
    JsonBody(b): JsonBody<UserBody>,
) -> ApiResult {
    state
        .chat
        .admin_put_user(id, &b.email, &b.display_name)
        .await?;
    Ok(Json(json!({ "ok": true })))
}

/// `PUT /admin/tablos/{id}/members/{userId}`: grant access.
pub async fn grant_route(
    _: AdminKey,
    State(state): State<AppState>,
    path: AccessPath,
) -> ApiResult {
    access(&state, path, true).await
}

/// `DELETE /admin/tablos/{id}/members/{userId}`: revoke access; the user's
/// sockets on the channel close at once.
pub async fn revoke_route(
    _: AdminKey,
    State(state): State<AppState>,
    path: AccessPath,
) -> ApiResult {
    access(&state, path, false).await
}

async fn access(state: &AppState, path: AccessPath, active: bool) -> ApiResult {
    state
        .chat
        .admin_set_access(path.channel, path.user, active)
        .await?;
    Ok(Json(json!({ "ok": true })))
}
