//! The login page: a plain form that posts to the `login` server function
//! (works without JavaScript too).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::server_fns::auth::Login;

/// `/login`
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    // Where to go after logging in (checked again by the server).
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || {
        login
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|e| e.to_string())
    };
    view! {
        <main class="login-page">
            <h1>"Sign in to Chat"</h1>
            <ActionForm action=login attr:class="login-form">
                <label for="login-email">"Email"</label>
                <input id="login-email" type="email" name="email" autocomplete="username" required/>
                <label for="login-password">"Password"</label>
                <input
                    id="login-password"
                    type="password"
                    name="password"
                    autocomplete="current-password"
                    required
                />
                <input type="hidden" name="next" prop:value=next/>
                <button type="submit">"Log in"</button>
            </ActionForm>
            {move || error().map(|e| view! { <p role="alert" class="login-error">{e}</p> })}
        </main>
    }
}
