//! Files and images (PROTOCOL.md "Files and images"): what an upload's
//! bytes go through between the request and storage.
