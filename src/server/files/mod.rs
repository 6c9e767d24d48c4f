//! Files and images (PROTOCOL.md "Files and images"): what an upload's
//! bytes go through between the request and storage.
//!
//! # Layout
//!
//! - [`spool`]: the body streamed to a temporary file, measured (size,
//!   SHA-256, first bytes, text or not) and cut off at the size limit.
//! - [`sniff`]: the type from the first bytes, and the list of allowed
//!   types (`CHAT_UPLOAD_TYPES`).
//! - [`images`]: a picture's size as shown and its thumbnail, decoded
//!   under limits (blocking).
//! - [`storage`]: local disk or an S3-compatible bucket behind one
//!   interface, with presigned download URLs.

pub mod images;
pub mod sniff;
pub mod spool;
pub mod storage;

pub use images::{inspect, ImageInfo, ImageLimits, ImageRefusal, Thumb};
pub use sniff::{served_inline, sniff, AllowedTypes, AllowedTypesError, FileKind, Sniffed};
pub use spool::{spool, sweep_stale, SpoolError, Spooled};
pub use storage::{FileStorage, ObjectBody, ObjectInfo, StorageError};
