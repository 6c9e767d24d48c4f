//! Link previews (PROTOCOL.md "Link previews"; off by default): what a
//! server that fetches the pages people link to must refuse.
//!
//! Built so far: the address checks ([`address`]). The fetcher, the page
//! reader, the cache and the change that adds a preview to its message
//! come next (issue 19).

pub mod address;
