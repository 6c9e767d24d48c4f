//! Every route in one list: the JSON API, login, the WebSocket, health, and
//! the Leptos pages and server functions, with CORS, body limits and
//! request tracing (which logs the path only, never a `?token=`), and
//! `Server-Timing` on the API's responses.

use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use http::{header, HeaderValue, Method};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::admin;
use super::file_routes;
use super::login::{login_route, logout_route};
use super::message_routes;
use super::rest::{
    health_route, history_route, list_channels_route, mark_read_route, members_route,
    metrics_route, ready_route, search_route, unread_route,
};
use super::server_fn::error_status;
use super::thread_routes;
use super::timing::server_timing;
use super::ws::ws_route;
use crate::app::{shell, App, SiteBundle};
use crate::server::state::AppState;

/// Builds the application's router.
pub fn build(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(login_route))
        .route("/auth/logout", post(logout_route))
        .route("/chat/channels", get(list_channels_route))
        .route(
            "/chat/channels/{channel_id}/messages",
            get(history_route).post(message_routes::send_route),
        )
        .route("/chat/channels/{channel_id}/read", post(mark_read_route))
        .route("/chat/channels/{channel_id}/members", get(members_route))
        .route(
            "/chat/channels/{channel_id}/messages/{message_id}",
            patch(message_routes::edit_route).delete(message_routes::delete_route),
        )
        .route(
            "/chat/channels/{channel_id}/messages/{message_id}/edits",
            get(message_routes::edits_route),
        )
        .route(
            "/chat/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
            put(message_routes::add_reaction_route)
                .delete(message_routes::remove_reaction_route)
                .get(message_routes::reactors_route),
        )
        .route(
            "/chat/channels/{channel_id}/pins",
            get(message_routes::pins_route),
        )
        .route(
            "/chat/channels/{channel_id}/pins/{message_id}",
            put(message_routes::pin_route).delete(message_routes::unpin_route),
        )
        .route(
            "/chat/channels/{channel_id}/reads",
            get(message_routes::reads_route),
        )
        .route(
            "/chat/channels/{channel_id}/messages/{message_id}/replies",
            get(thread_routes::replies_route),
        )
        .route(
            "/chat/channels/{channel_id}/messages/{message_id}/thread/read",
            post(thread_routes::thread_read_route),
        )
        .route("/chat/threads", get(thread_routes::threads_route))
        .route("/chat/unread", get(unread_route))
        .route("/chat/search", get(search_route))
        .route("/chat/ws/{channel_id}", get(ws_route))
        .route("/healthz", get(health_route))
        .route("/readyz", get(ready_route))
        .route(
            "/admin/tablos/{id}",
            put(admin::put_tablo_route).delete(admin::delete_tablo_route),
        )
        .route(
            "/admin/tablos/{id}/messages/{message_id}",
            delete(admin::delete_message_route),
        )
        .route(
            "/admin/tablos/{id}/messages/{message_id}/edits",
            get(admin::edits_route),
        )
        .route("/admin/users/{id}", put(admin::put_user_route))
        .route(
            "/admin/tablos/{id}/members/{user_id}",
            put(admin::grant_route).delete(admin::revoke_route),
        )
        .route("/metrics", get(metrics_route))
        .layer(axum::middleware::from_fn(server_timing));

    let origins: Vec<HeaderValue> = state
        .settings
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .allow_credentials(true);
    // Every request's log lines carry its id (the proxy's `x-request-id`
    // when it is a plain token, else a new UUID, echoed in the response)
    // and, once authenticated, the user id. Never the query string: it may
    // hold a token.
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request| {
        tracing::info_span!(
            "http",
            method = %req.method(),
            path = %req.uri().path(),
            request_id = %request_id(req),
            user_id = tracing::field::Empty,
        )
    });

    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(App);
    let context_state = state.clone();
    Router::new()
        .merge(api)
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(site_bundle(&context_state));
                provide_context(context_state.clone());
            },
            move || shell(leptos_options.clone()),
        )
        // Pages and JSON, not the site's files (precompressed, see
        // `site_files`) nor uploaded files (served as stored, with
        // ranges) added below.
        .layer(compression())
        .merge(files())
        .fallback(site_or_page)
        .layer(axum::middleware::from_fn(error_status))
        .layer(DefaultBodyLimit::max(state.settings.limits.max_body_bytes))
        .layer(cors)
        .layer(trace)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The file routes (PROTOCOL.md "Files and images"). The upload's body
/// may be as large as the largest file (and its multipart framing); the
/// rule book stops it at the file limit while it streams.
fn files() -> Router<AppState> {
    Router::new()
        // The route bounds its body itself (the largest file and its
        // framing) while it streams.
        .route(
            "/chat/channels/{channel_id}/uploads",
            post(file_routes::upload_route).layer(DefaultBodyLimit::disable()),
        )
        .route("/chat/files/{id}", get(file_routes::file_route))
        .route("/chat/files/{id}/thumb", get(file_routes::thumb_route))
        .route(
            "/chat/previews/{id}/image",
            get(file_routes::preview_image_route),
        )
}

/// The site's files (compiled in, or from `site_root`); anything else
/// renders the app (its not-found page).
async fn site_or_page(
    uri: axum::http::Uri,
    state: axum::extract::State<AppState>,
    req: Request,
) -> axum::response::Response {
    if let Some(res) = state
        .site
        .response(req.method(), uri.path(), req.headers())
        .await
    {
        return res;
    }
    let bundle = site_bundle(&state);
    leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        move || provide_context(bundle.clone()),
        shell,
    )(uri, state, req)
    .await
}

/// The page's files under their versioned names.
fn site_bundle(state: &AppState) -> SiteBundle {
    SiteBundle::new(&state.leptos_options, |p| state.site.versioned_path(p))
}

/// Compression of pages and JSON for clients that accept it (brotli or
/// gzip): not for bodies known to be under 1 KiB, where it saves nothing,
/// nor for a WebSocket upgrade (no body; its headers must stay plain).
fn compression() -> CompressionLayer<impl Predicate> {
    let predicate = SizeAbove::new(1024)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(
            |status: http::StatusCode,
             _: http::Version,
             _: &http::HeaderMap,
             _: &http::Extensions| { status != http::StatusCode::SWITCHING_PROTOCOLS },
        );
    CompressionLayer::new().compress_when(predicate)
}

/// The request id for logs: a plain token of at most 64 characters, or
/// `invalid` (a client must not be able to write arbitrary text into logs).
fn request_id(req: &Request) -> &str {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .unwrap_or("invalid")
}
