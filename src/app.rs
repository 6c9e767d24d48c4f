//! The HTML shell and the routes; page bodies live in `ui`.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::ui::chat::ChatPage;
use crate::ui::login::LoginPage;

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
                <Route path=path!("/chat") view=ChatPage ssr=SsrMode::Async/>
                <Route path=path!("/chat/:channel_id") view=ChatPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
