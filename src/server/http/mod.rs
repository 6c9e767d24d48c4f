//! The HTTP surface: the seed's JSON routes, login, the WebSocket upgrade,
//! and the router that puts them beside the Leptos pages.

pub mod admin;
pub mod byte_ranges;
pub mod connection_limit;
pub mod embedded;
pub mod extract;
pub mod file_routes;
pub mod json_body;
pub mod login;
pub mod message_routes;
pub mod paced_body;
pub mod rest;
pub mod router;
pub mod serve;
pub mod server_fn;
pub mod site_files;
pub mod thread_routes;
pub mod timing;
pub mod ws;
pub mod ws_session;
pub mod ws_socket;
pub mod ws_upgrade;
pub mod ws_wire;
