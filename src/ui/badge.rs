//! Small coloured squares and circles that stand for a channel or a person.

use crate::protocol::UserId;
use leptos::prelude::*;

use crate::client::format::initials;

/// Avatar colours, picked by user id so a person keeps theirs everywhere.
const AVATAR_COLORS: [&str; 8] = [
    "#6366f1", "#ec4899", "#10b981", "#f59e0b", "#0ea5e9", "#8b5cf6", "#ef4444", "#14b8a6",
];

/// A channel's coloured square with its initials.
#[component]
pub fn ChannelBadge(
    /// The channel's name, for its initials.
    name: String,
    /// Its colour (CSS), checked before use.
    color: String,
) -> impl IntoView {
    let style = format!("background:{}", sanitize_color(&color));
    view! { <span class="channel-badge" style=style aria-hidden="true">{initials(&name)}</span> }
}

/// A person's round avatar with their initials.
#[component]
pub fn Avatar(
    /// Whose avatar: picks the colour.
    user_id: UserId,
    /// What it shows.
    initials: String,
) -> impl IntoView {
    let color = AVATAR_COLORS[(user_id.uuid().as_u128() % AVATAR_COLORS.len() as u128) as usize];
    view! { <span class="avatar" style=format!("background:{color}") aria-hidden="true">{initials}</span> }
}

/// Keeps only colour syntax (`#hex`, or letters for named colours), so a
/// stored colour cannot inject other CSS.
fn sanitize_color(color: &str) -> String {
    let ok = color.len() <= 32
        && (color
            .strip_prefix('#')
            .is_some_and(|hex| hex.chars().all(|c| c.is_ascii_hexdigit()))
            || color.chars().all(|c| c.is_ascii_alphabetic()));
    if ok {
        color.to_string()
    } else {
        "#6366f1".into()
    }
}

#[cfg(test)]
mod tests {
    use super::sanitize_color;

    #[test]
    fn only_plain_colours_pass() {
        assert_eq!(sanitize_color("#10b981"), "#10b981");
        assert_eq!(sanitize_color("teal"), "teal");
        assert_eq!(sanitize_color("red;background:url(x)"), "#6366f1");
        assert_eq!(sanitize_color("#12g"), "#6366f1");
    }
}
