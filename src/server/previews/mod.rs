//! Link previews (PROTOCOL.md "Link previews"; off by default): what a
//! server that fetches the pages people link to must refuse
//! ([`address`]), how it fetches them with those checks on every DNS
//! answer and redirect hop ([`fetch`]), what it reads from a page
//! ([`page`]), and the background task that caches the results and adds
//! them to their messages as a change ([`task`]).

pub mod address;
pub mod fetch;
pub mod page;
pub mod queue;
pub mod task;
