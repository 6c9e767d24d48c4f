//! Small display rules of the Discussions page, pure so they are tested
//! natively: relative times in the channel list, unread badge text,
//! initials for badges and avatars, month and weekday names.

use crate::protocol::{CivilDate, Timestamp};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The English name of the date's month, "March".
pub fn month_name(date: CivilDate) -> &'static str {
    MONTHS[usize::from(date.month() - 1)]
}

/// The English name of the date's weekday, "Wednesday".
pub fn weekday_name(date: CivilDate) -> &'static str {
    WEEKDAYS[usize::from(date.weekday_from_monday())]
}

/// Relative time for channel previews: "now" (under a minute), "5m", "3h",
/// "2d" (under a week), then a date ("Mar 4", or "Mar 4, 2025" in another
/// year). A time in the future (clock skew) reads "now".
pub fn relative_time(at: Timestamp, now: Timestamp) -> String {
    let secs = now.seconds_since(at);
    if secs < 60 {
        return "now".into();
    }
    let mins = secs / 60;
    if mins < 60 {
        return format!("{mins}m");
    }
    let hours = mins / 60;
    if hours < 24 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if days < 7 {
        return format!("{days}d");
    }
    let (date, today) = (at.utc_date(), now.utc_date());
    let month = &month_name(date)[..3];
    if date.year() == today.year() {
        format!("{month} {}", date.day())
    } else {
        format!("{month} {}, {}", date.day(), date.year())
    }
}

/// Unread badge text: nothing for 0, the count up to 99, then "99+".
pub fn unread_badge(count: i64) -> Option<String> {
    match count {
        i64::MIN..=0 => None,
        1..=99 => Some(count.to_string()),
        _ => Some("99+".into()),
    }
}

/// The page title with the unread count in front when there is any:
/// "(3) Chat".
pub fn title_with_unread(count: i64) -> String {
    match unread_badge(count) {
        Some(badge) => format!("({badge}) Chat"),
        None => "Chat".to_string(),
    }
}

/// The page icon with the unread count on a red badge, as a `data:` URL
/// of an SVG (the plain icon's speech bubble, drawn the same).
pub fn icon_with_unread(count: i64) -> Option<String> {
    let badge = unread_badge(count)?;
    let size = if badge.len() > 2 { 9 } else { 12 };
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>\
         <path fill='%234f46e5' d='M6 4h20a4 4 0 0 1 4 4v12a4 4 0 0 1-4 4H14l-7 6v-6H6a4 4 0 0 1-4-4V8a4 4 0 0 1 4-4z'/>\
         <circle cx='23' cy='9' r='9' fill='%23dc2626'/>\
         <text x='23' y='13' font-size='{size}' font-family='sans-serif' font-weight='700' \
         text-anchor='middle' fill='white'>{badge}</text></svg>"
    );
    Some(format!("data:image/svg+xml,{svg}"))
}

/// Up to two initials for a badge or avatar: "Product Team" -> "PT",
/// "alice" -> "A", "" -> "?".
pub fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() {
        "?".into()
    } else {
        letters
    }
}

/// The typing indicator's sentence: "Alice is typing…", "Alice and Bob
/// are typing…", "Alice, Bob and Carol are typing…", "4 people are
/// typing…"; empty when nobody types.
pub fn typing_text(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("{one} is typing…"),
        [a, b] => format!("{a} and {b} are typing…"),
        [a, b, c] => format!("{a}, {b} and {c} are typing…"),
        more => format!("{} people are typing…", more.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_and_icon_carry_the_unread_count() {
        assert_eq!(title_with_unread(0), "Chat");
        assert_eq!(title_with_unread(3), "(3) Chat");
        assert_eq!(title_with_unread(250), "(99+) Chat");
        assert_eq!(icon_with_unread(0), None);
        let icon = icon_with_unread(7).unwrap();
        assert!(icon.starts_with("data:image/svg+xml,<svg"), "{icon}");
        assert!(icon.contains(">7</text>") && !icon.contains('#'), "{icon}");
    }

    fn t(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Timestamp {
        Timestamp::at_utc(CivilDate::new(y, mo, d).unwrap(), h, mi, s)
    }

    #[test]
    fn relative_times_step_from_now_to_minutes_hours_days_then_dates() {
        let now = t(2026, 11, 25, 12, 0, 0);
        assert_eq!(relative_time(t(2026, 11, 25, 11, 59, 30), now), "now");
        assert_eq!(relative_time(t(2026, 11, 25, 12, 0, 30), now), "now");
        assert_eq!(relative_time(t(2026, 11, 25, 11, 55, 0), now), "5m");
        assert_eq!(relative_time(t(2026, 11, 25, 9, 0, 0), now), "3h");
        assert_eq!(relative_time(t(2026, 11, 23, 12, 0, 0), now), "2d");
        assert_eq!(relative_time(t(2026, 3, 4, 12, 0, 0), now), "Mar 4");
        assert_eq!(relative_time(t(2025, 3, 4, 12, 0, 0), now), "Mar 4, 2025");
        assert_eq!(relative_time(t(2026, 9, 14, 12, 0, 0), now), "Sep 14");
    }

    #[test]
    fn typing_text_names_one_two_or_three_people_then_counts() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(typing_text(&[]), "");
        assert_eq!(typing_text(&names(&["Alice"])), "Alice is typing…");
        assert_eq!(
            typing_text(&names(&["Alice", "Bob"])),
            "Alice and Bob are typing…"
        );
        assert_eq!(
            typing_text(&names(&["A", "B", "C"])),
            "A, B and C are typing…"
        );
        assert_eq!(
            typing_text(&names(&["A", "B", "C", "D"])),
            "4 people are typing…"
        );
    }

    #[test]
    fn unread_badges_are_capped_at_99_plus() {
        assert_eq!(unread_badge(0), None);
        assert_eq!(unread_badge(7).as_deref(), Some("7"));
        assert_eq!(unread_badge(99).as_deref(), Some("99"));
        assert_eq!(unread_badge(100).as_deref(), Some("99+"));
    }

    #[test]
    fn initials_take_the_first_letters_of_two_words() {
        assert_eq!(initials("Product Team"), "PT");
        assert_eq!(initials("general"), "G");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("élan vital extra"), "ÉV");
    }
}
