//! The wire contract in types (PROTOCOL.md): compiled for both the server and
//! the Wasm UI, with no I/O, so both sides share one definition of every frame,
//! DTO and validation rule.

pub mod dto;
pub mod emoji;
pub mod error;
pub mod files;
pub mod ids;
pub mod previews;
pub mod text;
pub mod timestamp;
pub mod ws;

pub use dto::{
    ChangeRequest, ChannelSummary, ClientSettings, HistoryPage, HistoryPageWithCompat, MemberRead,
    Message, MessageEdit, Pin, Quote, Reaction, RepliesPage, SearchHit, SearchPage, SendRequest,
    SnippetPart, ThreadInfo, ThreadList, ThreadSummary, UnreadEntry, User,
};
pub use error::AppError;
pub use files::{Attachment, AttachmentKind, Upload, WireAttachment};
pub use ids::{ChannelId, ClientId, MessageId, PreviewImageId, Rev, Seq, UploadId, UserId};
pub use previews::{LinkPreview, PreviewImage, WireLinkPreview};
pub use text::{MessageText, TextError};
pub use timestamp::{CivilDate, LocalTime, Timestamp};
pub use ws::{ClientFrame, ErrorCode, PresenceStatus, ServerFrame};
