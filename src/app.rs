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
    let css = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <script inner_html=THEME_BOOT></script>
                <link rel="stylesheet" href=css/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
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
