//! One file sent to the upload route from the browser, with its progress
//! and a way to cancel it: `XMLHttpRequest`, because `fetch` reports no
//! upload progress. The session cookie goes with it (same origin), as with
//! every other call of the page.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::wasm_bindgen::closure::Closure;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{File, FormData, ProgressEvent, XmlHttpRequest};

use crate::protocol::files::UploadAnswer;
use crate::protocol::{ChannelId, Upload};

/// How an upload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadEnd {
    /// Stored: what a message may now carry.
    Stored(Box<Upload>),
    /// Refused or failed, with the reason to show.
    Failed(String),
    /// Cancelled by the viewer.
    Cancelled,
}

/// A running upload; dropping it does not stop it, [`RunningUpload::cancel`]
/// does. It keeps the request's callbacks alive: drop it only after the
/// end was heard, and not from inside that callback (see
/// `ui::upload_tray`).
pub struct RunningUpload {
    request: XmlHttpRequest,
    _callbacks: Vec<Closure<dyn FnMut(ProgressEvent)>>,
}

impl RunningUpload {
    /// Stops the upload (its end is then [`UploadEnd::Cancelled`]).
    pub fn cancel(&self) {
        let _ = self.request.abort();
    }
}

/// Sends `file` to `channel`'s upload route. `progress` hears the share
/// sent so far (0.0 to 1.0); `done` hears the end, once. `None` when the
/// browser could not even start the request (then `done` was told why).
pub fn start_upload(
    channel: ChannelId,
    file: &File,
    progress: impl Fn(f64) + 'static,
    done: impl FnOnce(UploadEnd) + 'static,
) -> Option<RunningUpload> {
    let done = Rc::new(RefCell::new(Some(done)));
    let finish = {
        let done = done.clone();
        move |end: UploadEnd| {
            if let Some(done) = done.borrow_mut().take() {
                done(end);
            }
        }
    };
    let fail = |why: &str| {
        let finish = finish.clone();
        finish(UploadEnd::Failed(why.into()));
        None
    };
    let Ok(request) = XmlHttpRequest::new() else {
        return fail("this browser cannot upload files");
    };
    let Ok(form) = FormData::new() else {
        return fail("this browser cannot upload files");
    };
    if form
        .append_with_blob_and_filename("file", file, &file.name())
        .is_err()
        || request
            .open("POST", &format!("/chat/channels/{channel}/uploads"))
            .is_err()
    {
        return fail("the upload could not start");
    }
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        if e.length_computable() && e.total() > 0.0 {
            progress((e.loaded() / e.total()).clamp(0.0, 1.0));
        }
    });
    if let Ok(upload) = request.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let on_load = {
        let request = request.clone();
        let finish = finish.clone();
        Closure::<dyn FnMut(ProgressEvent)>::new(move |_| {
            let status = request.status().unwrap_or(0);
            let body = request.response_text().ok().flatten().unwrap_or_default();
            finish(answer(status, &body));
        })
    };
    let on_error = {
        let finish = finish.clone();
        Closure::<dyn FnMut(ProgressEvent)>::new(move |_| {
            finish(UploadEnd::Failed("the connection failed".into()));
        })
    };
    let on_abort = {
        let finish = finish.clone();
        Closure::<dyn FnMut(ProgressEvent)>::new(move |_| finish(UploadEnd::Cancelled))
    };
    request.set_onload(Some(on_load.as_ref().unchecked_ref()));
    request.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    request.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
    if request.send_with_opt_form_data(Some(&form)).is_err() {
        return fail("the upload could not start");
    }
    Some(RunningUpload {
        request,
        _callbacks: vec![on_progress, on_load, on_error, on_abort],
    })
}

/// The upload route's answer as the end of an upload: the stored upload
/// on 201, else the server's reason.
pub fn answer(status: u16, body: &str) -> UploadEnd {
    if status == 201 {
        return match serde_json::from_str::<UploadAnswer>(body) {
            Ok(answer) => UploadEnd::Stored(Box::new(answer.upload)),
            Err(_) => UploadEnd::Failed("the server's answer could not be read".into()),
        };
    }
    let reason = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
    UploadEnd::Failed(match (status, reason) {
        (_, Some(reason)) => reason,
        (0, None) => "the connection failed".into(),
        (413, None) => "the file is too large".into(),
        (status, None) => format!("the server answered {status}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_stored_or_the_servers_reason() {
        let refused = answer(
            413,
            r#"{"error":"a file may have at most 10 bytes","code":"FILE_TOO_LARGE"}"#,
        );
        assert_eq!(
            refused,
            UploadEnd::Failed("a file may have at most 10 bytes".into())
        );
        assert_eq!(
            answer(0, ""),
            UploadEnd::Failed("the connection failed".into())
        );
        assert_eq!(
            answer(502, "<html>"),
            UploadEnd::Failed("the server answered 502".into())
        );
        assert!(matches!(answer(201, "{}"), UploadEnd::Failed(_)));
    }
}
