//! The chat's word cutter (`search_text`) as an SQLite FTS5 tokenizer,
//! `chat_words`, so the search index file cuts a message's text itself,
//! inside SQLite, exactly as the Postgres index and the queries do.
//!
//! Why: handing every message's words from Rust to SQLite (read the text
//! out, cut it, encode the words, parse them again in SQL, tokenize them
//! once more) was half of what indexing cost a durable send
//! (BENCHMARKS.md "Search"). With the tokenizer registered, one
//! `INSERT ... SELECT` moves texts from the chat file into the index and
//! nothing crosses into Rust but the words themselves, by reference.
//!
//! The tokenizer is registered on each connection that opens the index
//! (SQLite keeps tokenizers per connection): the index file's writer and
//! the read connections. Tools that open the index file need it too, so it
//! is public (the API tests read the index's vocabulary with it).
//!
//! The one module of the store with `unsafe`: FTS5 tokenizers exist only
//! in SQLite's C API. The C side keeps no pointer into Rust memory past a
//! call, and no panic crosses into it.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use libsqlite3_sys::{
    fts5_api, fts5_tokenizer, sqlite3, sqlite3_bind_pointer, sqlite3_finalize, sqlite3_prepare_v2,
    sqlite3_step, sqlite3_stmt, Fts5Tokenizer, SQLITE_ERROR, SQLITE_OK,
};
use sqlx::sqlite::SqliteConnection;

use crate::server::search_text::each_index_word;

/// The tokenizer's name, as the index's schema gives it.
pub const TOKENIZER: &str = "chat_words";

/// Registers [`TOKENIZER`] on `conn`.
///
/// # Errors
/// The connection is busy or closed, or its SQLite has no FTS5.
pub async fn register(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the live handle of this connection, held locked
    // (no other use of it) for the duration of the calls.
    let rc = unsafe { register_on(db) };
    if rc == SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(
            format!("registering the {TOKENIZER} FTS5 tokenizer failed (SQLite code {rc})").into(),
        ))
    }
}

/// The FTS5 entry points of the tokenizer (FTS5 copies them).
static TOKENIZER_CALLS: fts5_tokenizer = fts5_tokenizer {
    xCreate: Some(create),
    xDelete: Some(delete),
    xTokenize: Some(tokenize),
};

/// The instance FTS5 holds: the tokenizer keeps no state, so every table
/// shares this address.
static INSTANCE: u8 = 0;

/// Looks up the connection's FTS5 API (`SELECT fts5(?1)` with a pointer
/// bound, as the FTS5 documentation prescribes) and registers the
/// tokenizer with it.
///
/// # Safety
/// `db` must be a valid, open connection handle not used elsewhere during
/// the call.
unsafe fn register_on(db: *mut sqlite3) -> c_int {
    let mut stmt: *mut sqlite3_stmt = ptr::null_mut();
    let rc = sqlite3_prepare_v2(
        db,
        c"SELECT fts5(?1)".as_ptr(),
        -1,
        &mut stmt,
        ptr::null_mut(),
    );
    if rc != SQLITE_OK {
        return rc;
    }
    let mut api: *mut fts5_api = ptr::null_mut();
    sqlite3_bind_pointer(
        stmt,
        1,
        (&mut api as *mut *mut fts5_api).cast::<c_void>(),
        c"fts5_api_ptr".as_ptr(),
        None,
    );
    sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if api.is_null() || (*api).iVersion < 2 {
        return SQLITE_ERROR;
    }
    let Some(create_tokenizer) = (*api).xCreateTokenizer else {
        return SQLITE_ERROR;
    };
    let mut calls = TOKENIZER_CALLS;
    create_tokenizer(
        api,
        c"chat_words".as_ptr(),
        ptr::null_mut(),
        &mut calls,
        None,
    )
}

/// FTS5 `xCreate`: no arguments taken, no state kept.
unsafe extern "C" fn create(
    _user_data: *mut c_void,
    _args: *mut *const c_char,
    _arg_count: c_int,
    out: *mut *mut Fts5Tokenizer,
) -> c_int {
    if out.is_null() {
        return SQLITE_ERROR;
    }
    *out = ptr::addr_of!(INSTANCE).cast_mut().cast::<Fts5Tokenizer>();
    SQLITE_OK
}

/// FTS5 `xDelete`: nothing was allocated.
unsafe extern "C" fn delete(_tokenizer: *mut Fts5Tokenizer) {}

/// The callback FTS5 gives `xTokenize` for each token.
type TokenCallback = unsafe extern "C" fn(
    ctx: *mut c_void,
    flags: c_int,
    token: *const c_char,
    token_len: c_int,
    start: c_int,
    end: c_int,
) -> c_int;

/// FTS5 `xTokenize`: the words of the text (a document or a query's
/// phrase) as `search_text::each_index_word` cuts them. Text that is not
/// UTF-8 (SQLite does not check) is read with its bad bytes replaced.
unsafe extern "C" fn tokenize(
    _tokenizer: *mut Fts5Tokenizer,
    ctx: *mut c_void,
    _flags: c_int,
    text: *const c_char,
    text_len: c_int,
    token: Option<TokenCallback>,
) -> c_int {
    let Some(token) = token else {
        return SQLITE_ERROR;
    };
    if text.is_null() || text_len <= 0 {
        return SQLITE_OK;
    }
    let bytes = std::slice::from_raw_parts(text.cast::<u8>(), text_len as usize);
    // No panic may cross into C; a panic fails the statement instead.
    catch_unwind(AssertUnwindSafe(|| {
        let text = String::from_utf8_lossy(bytes);
        let limit = bytes.len();
        let mut rc = SQLITE_OK;
        each_index_word(&text, |word, start, end| {
            let Ok(word_len) = c_int::try_from(word.len()) else {
                return true;
            };
            // Offsets past the bytes given (only after a replaced bad
            // byte) are clamped; the index keeps no positions anyway.
            let start = start.min(limit) as c_int;
            let end = end.min(limit) as c_int;
            rc = token(ctx, 0, word.as_ptr().cast::<c_char>(), word_len, start, end);
            rc == SQLITE_OK
        });
        rc
    }))
    .unwrap_or(SQLITE_ERROR)
}
