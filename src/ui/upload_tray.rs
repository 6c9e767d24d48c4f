//! The files chosen for the next message, above the composer: each one
//! uploads as soon as it is chosen (by the attach button, a drop or a
//! paste), with a progress bar and a cancel button; a picture shows a
//! preview from the viewer's own copy; a refused or failed upload says why
//! and offers a retry. The message goes out once every file is stored,
//! carrying their upload ids.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use leptos::prelude::*;
use leptos::web_sys::{File, FileList, Url};

use crate::client::upload::{start_upload, RunningUpload, UploadEnd};
use crate::protocol::files::human_size;
use crate::protocol::{Attachment, ChannelId};

/// Where one chosen file stands.
#[derive(Debug, Clone, PartialEq)]
pub enum TrayState {
    /// Being sent; the share sent so far (0.0 to 1.0).
    Uploading(f64),
    /// Stored: the message will carry it.
    Stored(Attachment),
    /// Refused or failed: why.
    Failed(String),
}

/// One chosen file.
#[derive(Debug, Clone, PartialEq)]
pub struct TrayItem {
    /// Its key in the tray.
    pub key: u64,
    /// The file's name.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// A picture's preview (an object URL of the viewer's own file).
    pub preview: Option<String>,
    /// Where it stands.
    pub state: TrayState,
}

/// The composer's chosen files (see the module doc). Copyable: every
/// handle shares one tray.
#[derive(Clone, Copy)]
pub struct UploadTray {
    channel: ChannelId,
    max_files: usize,
    max_bytes: u64,
    /// What the view draws.
    pub items: RwSignal<Vec<TrayItem>>,
    /// A note about files that could not be added (too many).
    pub note: RwSignal<Option<String>>,
}

thread_local! {
    /// The chosen files, by item key, and their running uploads: browser
    /// objects, which are not `Send` and so cannot live in the tray's
    /// signals (a page rendered on the server would drop them on another
    /// thread). Only the browser, on its one thread, ever fills these.
    static FILES: RefCell<HashMap<u64, File>> = RefCell::new(HashMap::new());
    static RUNNING: RefCell<HashMap<u64, RunningUpload>> = RefCell::new(HashMap::new());
}

/// Item keys, unique in the page (across trays).
static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

/// The running upload of `key`, taken out of [`RUNNING`].
fn take_running(key: u64) -> Option<RunningUpload> {
    RUNNING.with(|r| r.borrow_mut().remove(&key))
}

impl UploadTray {
    /// An empty tray for `channel`, holding at most `max_files` of at most
    /// `max_bytes` each (the server's limits).
    pub fn new(channel: ChannelId, max_files: usize, max_bytes: u64) -> Self {
        let tray = UploadTray {
            channel,
            max_files: max_files.max(1),
            max_bytes,
            items: RwSignal::new(Vec::new()),
            note: RwSignal::new(None),
        };
        on_cleanup(move || tray.clear());
        tray
    }

    /// Another empty tray for the same channel and limits (the thread
    /// panel's composer has its own files).
    pub fn another(&self) -> Self {
        UploadTray::new(self.channel, self.max_files, self.max_bytes)
    }

    /// Adds the files of a file picker, a drop or a paste, and starts
    /// uploading each.
    pub fn add_list(&self, list: &FileList) {
        let files: Vec<File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        self.add(files);
    }

    /// Adds files and starts uploading each; beyond the limit of files a
    /// message may carry, they are left out with a note.
    pub fn add(&self, files: Vec<File>) {
        let room = self
            .max_files
            .saturating_sub(self.items.with_untracked(Vec::len));
        if files.len() > room {
            self.note.set(Some(format!(
                "A message carries at most {} files.",
                self.max_files
            )));
        } else {
            self.note.set(None);
        }
        for file in files.into_iter().take(room) {
            let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
            let size = file.size().max(0.0) as u64;
            let preview = file
                .type_()
                .starts_with("image/")
                .then(|| Url::create_object_url_with_blob(&file).ok())
                .flatten();
            self.items.update(|items| {
                items.push(TrayItem {
                    key,
                    name: file.name(),
                    size,
                    preview,
                    state: TrayState::Uploading(0.0),
                })
            });
            FILES.with(|f| f.borrow_mut().insert(key, file));
            self.start(key);
        }
    }

    /// Starts (or restarts) the upload of the file under `key`.
    fn start(&self, key: u64) {
        let Some(file) = FILES.with(|f| f.borrow().get(&key).cloned()) else {
            return;
        };
        if self.max_bytes > 0 && file.size() > self.max_bytes as f64 {
            let limit = human_size(self.max_bytes);
            self.set_state(key, TrayState::Failed(format!("larger than {limit}")));
            return;
        }
        self.set_state(key, TrayState::Uploading(0.0));
        let tray = *self;
        let running = start_upload(
            self.channel,
            &file,
            move |share| tray.set_state(key, TrayState::Uploading(share)),
            move |end| {
                // Its callbacks are running now: dropped a moment later.
                let finished = take_running(key);
                request_animation_frame(move || drop(finished));
                match end {
                    UploadEnd::Stored(upload) => {
                        tray.set_state(key, TrayState::Stored(upload.file))
                    }
                    UploadEnd::Failed(why) => tray.set_state(key, TrayState::Failed(why)),
                    // The viewer removed it.
                    UploadEnd::Cancelled => tray.forget(key),
                }
            },
        );
        if let Some(running) = running {
            RUNNING.with(|r| r.borrow_mut().insert(key, running));
        }
    }

    fn set_state(&self, key: u64, state: TrayState) {
        self.items.update(|items| {
            if let Some(item) = items.iter_mut().find(|i| i.key == key) {
                item.state = state;
            }
        });
    }

    /// Retries a failed upload.
    pub fn retry(&self, key: u64) {
        self.start(key);
    }

    /// Removes a file: cancels its upload if it is still running (the
    /// server then keeps nothing; a stored one no message takes is removed
    /// by the server after a while).
    pub fn remove(&self, key: u64) {
        if let Some(upload) = take_running(key) {
            stop(upload);
        }
        self.forget(key);
    }

    fn forget(&self, key: u64) {
        self.items.update(|items| {
            if let Some(at) = items.iter().position(|i| i.key == key) {
                let item = items.remove(at);
                if let Some(url) = item.preview {
                    let _ = Url::revoke_object_url(&url);
                }
            }
        });
        FILES.with(|f| f.borrow_mut().remove(&key));
        self.note.set(None);
    }

    /// Whether any file is still uploading or failed (the message waits).
    /// (A view that outlives its room, while the page switches rooms,
    /// reads a disposed tray as empty.)
    pub fn blocks_sending(&self) -> bool {
        self.items
            .try_with(|items| {
                items
                    .iter()
                    .any(|i| !matches!(i.state, TrayState::Stored(_)))
            })
            .unwrap_or(false)
    }

    /// Whether the tray holds any file (a disposed tray holds none).
    pub fn has_files(&self) -> bool {
        self.items
            .try_with(|items| !items.is_empty())
            .unwrap_or(false)
    }

    /// The stored files, for the message being sent; the tray empties.
    pub fn take(&self) -> Vec<Attachment> {
        let stored = self.items.with_untracked(|items| {
            items
                .iter()
                .filter_map(|i| match &i.state {
                    TrayState::Stored(a) => Some(a.clone()),
                    _ => None,
                })
                .collect()
        });
        self.clear();
        stored
    }

    /// Empties the tray, cancelling what still uploads.
    pub fn clear(&self) {
        let keys: Vec<u64> = self
            .items
            .try_with_untracked(|items| items.iter().map(|i| i.key).collect())
            .unwrap_or_default();
        for key in keys {
            if let Some(upload) = take_running(key) {
                stop(upload);
            }
            let _ = self.items.try_update(|items| {
                if let Some(at) = items.iter().position(|i| i.key == key) {
                    if let Some(url) = items.remove(at).preview {
                        let _ = Url::revoke_object_url(&url);
                    }
                }
            });
            FILES.with(|f| f.borrow_mut().remove(&key));
        }
        let _ = self.note.try_set(None);
    }
}

/// Cancels an upload and drops it a moment later: the browser may call
/// its abort callback during `cancel` or soon after, and a callback must
/// not be dropped before it ran.
fn stop(upload: RunningUpload) {
    upload.cancel();
    request_animation_frame(move || drop(upload));
}

/// The tray above the composer's box.
#[component]
pub fn UploadTrayView(
    /// The composer's tray.
    tray: UploadTray,
) -> impl IntoView {
    let item = move |item: TrayItem| {
        let key = item.key;
        let thumb = match &item.preview {
            Some(url) => view! { <img class="tray-preview" src=url.clone() alt=""/> }.into_any(),
            None => view! { <span class="tray-icon" aria-hidden="true">"📎"</span> }.into_any(),
        };
        let (status, failed) = match &item.state {
            TrayState::Uploading(share) => {
                let percent = (share * 100.0).round();
                (
                    view! {
                        <progress
                            class="tray-progress"
                            max="100"
                            value=percent.to_string()
                            aria-label=format!("Uploading {}", item.name)
                        ></progress>
                    }
                    .into_any(),
                    false,
                )
            }
            TrayState::Stored(_) => (
                view! { <span class="tray-size">{human_size(item.size)}</span> }.into_any(),
                false,
            ),
            TrayState::Failed(why) => (
                view! {
                    <span class="tray-error" role="alert">{why.clone()}</span>
                    <button type="button" class="ghost" on:click=move |_| tray.retry(key)>"Retry"</button>
                }
                .into_any(),
                true,
            ),
        };
        let uploading = matches!(item.state, TrayState::Uploading(_));
        view! {
            <li class="tray-item" class:failed=failed data-testid="tray-item">
                {thumb}
                <span class="tray-name" title=item.name.clone()>{item.name.clone()}</span>
                {status}
                <button
                    type="button"
                    class="icon-button"
                    aria-label=format!("{} {}", if uploading { "Cancel" } else { "Remove" }, item.name)
                    on:click=move |_| tray.remove(key)
                >
                    "✕"
                </button>
            </li>
        }
    };
    view! {
        <Show when=move || tray.has_files() || tray.note.try_with(Option::is_some).unwrap_or(false)>
            <div class="upload-tray">
                <ul class="tray-items" aria-label="Files to send">
                    <For each=move || tray.items.try_get().unwrap_or_default() key=|i| (i.key, format!("{:?}", i.state)) children=item/>
                </ul>
                {move || tray.note.try_get().flatten().map(|n| view! { <p class="tray-note" role="status">{n}</p> })}
            </div>
        </Show>
    }
}

/// The attach button and the hidden file picker it opens: the chosen
/// files join `tray` (the channel's composer and the thread panel's each
/// have one).
#[component]
pub fn AttachButton(
    /// Where the chosen files go.
    tray: UploadTray,
    /// The button's accessible name.
    label: &'static str,
    /// The picker's test id (tests choose files through it).
    test_id: &'static str,
    /// Whether the button is off (while editing a message).
    #[prop(into)]
    disabled: Signal<bool>,
) -> impl IntoView {
    let file_input = NodeRef::<leptos::html::Input>::new();
    // One root element (`display: contents`, so the button still takes its
    // place in the composer's grid): two roots side by side in the middle
    // of the form did not hydrate.
    view! {
        <span class="attach">
        <input
            type="file"
            multiple
            class="visually-hidden"
            tabindex="-1"
            aria-hidden="true"
            data-testid=test_id
            node_ref=file_input
            on:change=move |_| {
                if let Some(input) = file_input.get_untracked() {
                    if let Some(files) = input.files() {
                        tray.add_list(&files);
                    }
                    // The same file may be chosen again later.
                    input.set_value("");
                }
            }
        />
        <button
            type="button"
            class="icon-button attach-button"
            aria-label=label
            title="Attach files"
            disabled=move || disabled.get()
            on:click=move |_| {
                if let Some(input) = file_input.get_untracked() {
                    input.click();
                }
            }
        >
            "📎"
        </button>
        </span>
    }
}
