//! The HTML shell and the routes; page bodies live in `ui`.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::ui::discussions::DiscussionsPage;
use crate::ui::login::LoginPage;

/// Applies a saved theme choice before the first paint (no flash of the
/// wrong theme); the toggle in `ui::theme_toggle` changes it later.
pub const THEME_BOOT: &str = "try{var t=localStorage.getItem('chat-theme');if(t==='light'||t==='dark')document.documentElement.setAttribute('data-theme',t)}catch(e){}";

/// The document around the app (server-rendered once per page load).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The server provides the files' versioned names; without them (a page
    // rendered outside the routes) the plain names work too.
    let bundle = use_context::<SiteBundle>()
        .unwrap_or_else(|| SiteBundle::new(&options, |p| format!("/{p}")));
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <script inner_html=THEME_BOOT></script>
                <link rel="icon" href=bundle.icon.clone() r#type="image/svg+xml"/>
                <link rel="stylesheet" href=bundle.css.clone()/>
                <AutoReload options/>
                <link rel="modulepreload" href=bundle.js.clone()/>
                <link
                    rel="preload"
                    href=bundle.wasm.clone()
                    r#as="fetch"
                    r#type="application/wasm"
                    crossorigin=""
                />
                <script type="module" inner_html=bundle.boot_script()></script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Where the page's icon, CSS, JS and Wasm are, as the page asks for them.
///
/// Leptos' own `HydrationScripts` names the Wasm `<name>_bg.wasm` unless
/// `LEPTOS_OUTPUT_NAME` was set when *leptos itself* was compiled, which only
/// cargo-leptos does; a server built by plain `cargo` (the release binary)
/// then asked for a file that does not exist. Here every name comes from the
/// runtime options, whose default is the package name that cargo-leptos
/// names the files after, and the server turns each into a versioned path
/// (`/pkg/chat.<hash>.wasm`, cached for good; see
/// `server::http::site_files`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteBundle {
    /// `/favicon.svg`
    pub icon: String,
    /// `/pkg/chat.css`
    pub css: String,
    /// `/pkg/chat.js`: wasm-bindgen's glue, an ES module.
    pub js: String,
    /// `/pkg/chat.wasm`
    pub wasm: String,
}

impl SiteBundle {
    /// The bundle's files (paths below the site root, such as
    /// `pkg/chat.wasm`), each turned into the path the page uses by `path`.
    pub fn new(options: &LeptosOptions, path: impl Fn(&str) -> String) -> Self {
        let base = format!("{}/{}", options.site_pkg_dir, options.output_name);
        SiteBundle {
            icon: path("favicon.svg"),
            css: path(&format!("{base}.css")),
            js: path(&format!("{base}.js")),
            wasm: path(&format!("{base}.wasm")),
        }
    }

    /// The module script that loads the Wasm and hydrates the page.
    pub fn boot_script(&self) -> String {
        // JSON strings are JS string literals.
        let js = serde_json::Value::from(self.js.as_str());
        let wasm = serde_json::Value::from(self.wasm.as_str());
        format!(
            "import init, {{ hydrate }} from {js};\ninit({{ module_or_path: {wasm} }}).then(() => hydrate());"
        )
    }
}

/// The application: routes only.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Chat"/>
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=path!("/") view=|| view! { <Redirect path="/chat"/> }/>
                <Route path=path!("/login") view=LoginPage/>
                // Async rendering: the login check finishes before headers are
                // sent, so a logged-out visit gets a real redirect.
                <Route path=path!("/chat") view=DiscussionsPage ssr=SsrMode::Async/>
                <Route path=path!("/chat/:channel_id") view=DiscussionsPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
