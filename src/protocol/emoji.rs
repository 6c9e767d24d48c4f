//! Emoji reactions: the one table and the one rule for what a reaction may be.
//!
//! A reaction is validated on the server (`parse_reaction` decides what may be
//! stored, and in which canonical form) and picked in the browser (`search`,
//! `COMMON`, `code_of` for labels) from the same table, so the picker never
//! offers what the server would refuse and both sides agree on the stored
//! string. The table is plain data compiled into the app, on both the server
//! and the Wasm UI: nothing is fetched, read from disk or loaded at run time.
//!
//! Beyond the table, any single emoji built from emoji pieces is accepted
//! (skin tones, ZWJ sequences, flags, keycaps, subdivision flags), so a
//! reaction pasted from the OS emoji keyboard works even if it is not listed.

use std::fmt;

use unicode_segmentation::UnicodeSegmentation;

/// One emoji the picker offers, with the names it can be found and typed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmojiInfo {
    /// The emoji, fully qualified (with U+FE0F where Unicode asks for it):
    /// exactly the string stored for a reaction.
    pub emoji: &'static str,
    /// Short code without colons, in the Slack/GitHub style (`thumbsup`), for
    /// typing `:thumbsup:` and for accessible labels.
    pub code: &'static str,
    /// Space-separated lowercase words the picker's search also matches.
    pub keywords: &'static str,
}

/// Keeps the table below one short line per entry.
const fn e(emoji: &'static str, code: &'static str, keywords: &'static str) -> EmojiInfo {
    EmojiInfo {
        emoji,
        code,
        keywords,
    }
}

/// The emoji the picker offers and `:short_codes:` resolve to: the ones most
/// used in chat, in picker order (smileys first). Every entry is one grapheme
/// cluster that `parse_reaction` accepts unchanged.
#[rustfmt::skip]
pub static EMOJI: &[EmojiInfo] = &[
    // Smileys & emotion
    e("😀", "grinning", "smile happy grin"),
    e("😄", "smile", "happy laugh pleased"),
    e("😁", "grin", "happy smile teeth"),
    e("😆", "laughing", "happy haha lol laugh satisfied"),
    e("😅", "sweat_smile", "nervous relief laugh phew"),
    e("🤣", "rofl", "rolling floor laugh lol lmao"),
    e("😂", "joy", "tears laugh lol haha funny"),
    e("🙂", "slightly_smiling_face", "smile"),
    e("🙃", "upside_down_face", "silly sarcasm irony"),
    e("🫠", "melting_face", "melt hot embarrassed dissolve"),
    e("😉", "wink", "flirt"),
    e("😊", "blush", "smile proud happy"),
    e("😇", "innocent", "angel halo"),
    e("🥰", "smiling_face_with_three_hearts", "love crush adore hearts"),
    e("😍", "heart_eyes", "love crush"),
    e("🤩", "star_struck", "eyes wow amazing starstruck"),
    e("😘", "kissing_heart", "kiss flirt love"),
    e("☺\u{fe0f}", "relaxed", "smile happy blush"),
    e("🥲", "smiling_face_with_tear", "grateful relieved proud touched"),
    e("😋", "yum", "tasty delicious tongue"),
    e("😛", "stuck_out_tongue", "tongue playful"),
    e("🤪", "zany_face", "goofy crazy wild"),
    e("🤗", "hugs", "hug hugging thanks"),
    e("🫂", "people_hugging", "hug hugs support comfort"),
    e("🤭", "hand_over_mouth", "oops giggle"),
    e("🫣", "face_with_peeking_eye", "peek shy scared"),
    e("🤫", "shushing_face", "quiet silence shh"),
    e("🤔", "thinking", "think hmm ponder"),
    e("🫡", "saluting_face", "salute respect yes sir"),
    e("🤨", "raised_eyebrow", "suspicious skeptical doubt"),
    e("😐", "neutral_face", "meh"),
    e("😑", "expressionless", "blank deadpan"),
    e("😶", "no_mouth", "mute silence speechless"),
    e("😏", "smirk", "smug"),
    e("😒", "unamused", "meh bored annoyed"),
    e("🙄", "roll_eyes", "eyeroll whatever"),
    e("😬", "grimacing", "awkward oops"),
    e("😮\u{200d}💨", "face_exhaling", "sigh relief phew"),
    e("🫨", "shaking_face", "shake earthquake shock"),
    e("😌", "relieved", "relief calm"),
    e("😔", "pensive", "sad thoughtful"),
    e("😪", "sleepy", "tired"),
    e("😴", "sleeping", "sleep zzz tired"),
    e("😷", "mask", "sick ill"),
    e("🤢", "nauseated_face", "sick gross disgust"),
    e("🤮", "vomiting_face", "sick puke barf"),
    e("🥵", "hot_face", "heat sweat"),
    e("🥶", "cold_face", "freezing ice"),
    e("🥴", "woozy_face", "dizzy drunk tipsy"),
    e("😵", "dizzy_face", "dead"),
    e("🤯", "exploding_head", "mind blown shocked"),
    e("🤠", "cowboy_hat_face", "cowboy yeehaw"),
    e("🥳", "partying_face", "party celebrate birthday hooray"),
    e("😎", "sunglasses", "cool"),
    e("🤓", "nerd_face", "nerd geek"),
    e("🧐", "monocle_face", "inspect curious"),
    e("😕", "confused", "puzzled"),
    e("😟", "worried", "nervous"),
    e("🙁", "slightly_frowning_face", "sad frown"),
    e("☹\u{fe0f}", "frowning_face", "sad"),
    e("😮", "open_mouth", "surprise wow impressed oh"),
    e("😲", "astonished", "amazed shocked gasp"),
    e("😳", "flushed", "embarrassed blush shy"),
    e("🥺", "pleading_face", "puppy eyes please"),
    e("🥹", "face_holding_back_tears", "touched grateful moved"),
    e("😰", "cold_sweat", "nervous anxious"),
    e("😢", "cry", "sad tear"),
    e("😭", "sob", "cry sad bawling tears"),
    e("😱", "scream", "horror shocked scared"),
    e("😞", "disappointed", "sad"),
    e("😩", "weary", "tired"),
    e("🥱", "yawning_face", "tired bored sleepy yawn"),
    e("😤", "triumph", "smug proud huff"),
    e("😡", "rage", "angry mad furious pout"),
    e("😠", "angry", "mad annoyed"),
    e("🤬", "cursing_face", "swearing symbols"),
    e("😈", "smiling_imp", "devil evil horns"),
    e("💀", "skull", "dead dying lol death"),
    e("💩", "poop", "hankey shit poo"),
    e("🤡", "clown_face", "clown"),
    e("👻", "ghost", "halloween boo"),
    e("👽", "alien", "ufo extraterrestrial"),
    e("👾", "space_invader", "game retro alien"),
    e("🤖", "robot", "bot machine"),
    e("😹", "joy_cat", "cat laugh tears"),
    e("🙈", "see_no_evil", "monkey blind ignore"),
    e("🙊", "speak_no_evil", "monkey mute oops"),
    // Hearts & marks
    e("💘", "cupid", "love heart arrow"),
    e("💖", "sparkling_heart", "love"),
    e("💕", "two_hearts", "love"),
    e("💔", "broken_heart", "sad sorry heartbreak"),
    e("❤\u{fe0f}\u{200d}🔥", "heart_on_fire", "passion love burning"),
    e("❤\u{fe0f}\u{200d}🩹", "mending_heart", "healing recovery"),
    e("❤\u{fe0f}", "heart", "love like red"),
    e("🩷", "pink_heart", "love"),
    e("🧡", "orange_heart", "love"),
    e("💛", "yellow_heart", "love"),
    e("💚", "green_heart", "love"),
    e("💙", "blue_heart", "love"),
    e("🩵", "light_blue_heart", "love cyan"),
    e("💜", "purple_heart", "love"),
    e("🤎", "brown_heart", "love"),
    e("🖤", "black_heart", "love dark"),
    e("🩶", "grey_heart", "love gray"),
    e("🤍", "white_heart", "love"),
    e("💋", "kiss", "lips"),
    e("💯", "100", "hundred score perfect agree"),
    e("💥", "boom", "collision explode bang"),
    e("💫", "dizzy", "star"),
    e("💨", "dash", "wind run fast"),
    e("💬", "speech_balloon", "comment chat talk"),
    e("💭", "thought_balloon", "thinking"),
    e("🧵", "thread", "reply discussion"),
    e("💤", "zzz", "sleep"),
    // Hands
    e("👋", "wave", "hello hi bye goodbye"),
    e("🖐\u{fe0f}", "raised_hand_with_fingers_splayed", "hand palm"),
    e("✋", "hand", "raised_hand high five stop"),
    e("🖖", "vulcan_salute", "spock prosper"),
    e("👌", "ok_hand", "okay perfect fine"),
    e("🤌", "pinched_fingers", "italian what"),
    e("🤏", "pinching_hand", "small tiny little"),
    e("✌\u{fe0f}", "v", "victory peace"),
    e("🤞", "crossed_fingers", "luck hope"),
    e("🤟", "love_you_gesture", "ily"),
    e("🤘", "metal", "rock horns"),
    e("🤙", "call_me_hand", "shaka hang loose"),
    e("👈", "point_left", "left"),
    e("👉", "point_right", "right"),
    e("👇", "point_down", "down"),
    e("☝\u{fe0f}", "point_up", "up this"),
    e("🫵", "point_at_viewer", "you"),
    e("👍", "thumbsup", "+1 yes like agree approve ok"),
    e("👎", "thumbsdown", "-1 no dislike disagree"),
    e("✊", "fist_raised", "fist power solidarity"),
    e("👊", "fist_oncoming", "punch bump facepunch"),
    e("👏", "clap", "applause praise bravo"),
    e("🙌", "raised_hands", "hooray yay celebrate praise"),
    e("🫶", "heart_hands", "love"),
    e("👐", "open_hands", "hug"),
    e("🤲", "palms_up_together", "prayer"),
    e("🤝", "handshake", "deal agreement"),
    e("🙏", "pray", "please thanks hope namaste"),
    e("✍\u{fe0f}", "writing_hand", "write"),
    e("💅", "nail_care", "manicure beauty"),
    e("🤳", "selfie", "camera phone"),
    e("💪", "muscle", "strong flex strength"),
    e("👂", "ear", "hear listen"),
    e("👃", "nose", "smell"),
    e("🧠", "brain", "smart think"),
    e("👀", "eyes", "look see watch"),
    e("👁\u{fe0f}", "eye", "look see"),
    e("👅", "tongue", "taste"),
    e("👄", "lips", "mouth"),
    e("🫦", "biting_lip", "nervous flirt"),
    // People
    e("👶", "baby", "child newborn"),
    e("🙋", "raising_hand", "question me pick"),
    e("💁", "tipping_hand_person", "information sassy"),
    e("🙅", "no_good", "no stop nope"),
    e("🙆", "ok_person", "ok yes"),
    e("🤷", "shrug", "idk dunno whatever"),
    e("🤦", "facepalm", "ugh doh"),
    e("🙇", "bow", "sorry respect thanks"),
    e("💃", "dancer", "dance party"),
    e("🕺", "man_dancing", "dance disco"),
    e("🏃", "runner", "running run"),
    e("🧘", "lotus_position", "yoga meditate calm"),
    e("👨\u{200d}👩\u{200d}👧", "family_man_woman_girl", "family"),
    e("🗣\u{fe0f}", "speaking_head", "speak talk announce"),
    e("👥", "busts_in_silhouette", "users group team"),
    e("🥷", "ninja", "stealth"),
    e("🧑\u{200d}💻", "technologist", "developer coder programmer"),
    e("🕵\u{fe0f}", "detective", "sleuth spy"),
    e("👷", "construction_worker", "wip helmet"),
    e("🧑\u{200d}🚀", "astronaut", "space"),
    // Animals & nature
    e("🐶", "dog", "puppy pet"),
    e("🐱", "cat", "kitten pet"),
    e("🐰", "rabbit", "bunny"),
    e("🦊", "fox_face", "fox"),
    e("🐼", "panda_face", "panda"),
    e("🐷", "pig", "oink"),
    e("🐸", "frog", "toad"),
    e("🐵", "monkey_face", "monkey"),
    e("🐧", "penguin", "linux bird"),
    e("🐦", "bird", "tweet"),
    e("🦆", "duck", "bird rubber"),
    e("🦉", "owl", "bird wise"),
    e("🦄", "unicorn", "magic"),
    e("🐛", "bug", "insect caterpillar"),
    e("🦋", "butterfly", "insect"),
    e("🐢", "turtle", "slow"),
    e("🐍", "snake", "python"),
    e("🐐", "goat", "greatest legend"),
    e("🦖", "t-rex", "dinosaur"),
    e("🦀", "crab", "rust rustacean ferris"),
    e("💐", "bouquet", "flowers"),
    e("🌸", "cherry_blossom", "flower spring"),
    e("🌹", "rose", "flower"),
    e("🥀", "wilted_flower", "flower"),
    e("🍀", "four_leaf_clover", "luck"),
    e("🌎", "earth_americas", "globe world"),
    e("🌐", "globe_with_meridians", "world internet web"),
    e("☀\u{fe0f}", "sunny", "sun weather"),
    e("⭐", "star", "favorite"),
    e("🌟", "star2", "glow"),
    e("☁\u{fe0f}", "cloud", "weather"),
    e("🌈", "rainbow", "pride"),
    e("⚡", "zap", "lightning thunder fast"),
    e("❄\u{fe0f}", "snowflake", "winter cold"),
    e("🔥", "fire", "flame hot lit burn"),
    e("🌊", "ocean", "wave sea"),
    // Food & drink
    e("🍌", "banana", "fruit"),
    e("🍑", "peach", "fruit"),
    e("🥑", "avocado", "fruit"),
    e("🍆", "eggplant", "aubergine vegetable"),
    e("🌶\u{fe0f}", "hot_pepper", "spicy chili"),
    e("🥐", "croissant", "bread"),
    e("🥓", "bacon", "breakfast"),
    e("🍔", "hamburger", "burger"),
    e("🍟", "fries", "chips"),
    e("🍕", "pizza", "food"),
    e("🌮", "taco", "mexican"),
    e("🥗", "green_salad", "salad healthy"),
    e("🍜", "ramen", "noodles"),
    e("🍣", "sushi", "japanese"),
    e("🍩", "doughnut", "donut dessert"),
    e("🍪", "cookie", "dessert"),
    e("🎂", "birthday", "cake party"),
    e("🍰", "cake", "dessert"),
    e("🍿", "popcorn", "movie"),
    e("🧂", "salt", "salty"),
    e("☕", "coffee", "cafe espresso morning"),
    e("🍵", "tea", "green"),
    e("🍺", "beer", "drink pint"),
    e("🍻", "beers", "drinks cheers"),
    e("🥂", "clinking_glasses", "cheers toast"),
    e("🍷", "wine_glass", "drink"),
    e("🍸", "cocktail", "drink"),
    e("🍾", "champagne", "celebrate bottle"),
    // Activities & celebrations
    e("🎃", "jack_o_lantern", "halloween pumpkin"),
    e("🎄", "christmas_tree", "holiday"),
    e("🎆", "fireworks", "celebrate"),
    e("✨", "sparkles", "shiny new magic"),
    e("🎈", "balloon", "party birthday"),
    e("🎉", "tada", "party celebrate congrats hooray popper"),
    e("🎊", "confetti_ball", "party celebrate"),
    e("🎁", "gift", "present birthday"),
    e("🏆", "trophy", "win award champion"),
    e("🏅", "medal_sports", "award"),
    e("🥇", "1st_place_medal", "gold first winner"),
    e("⚽", "soccer", "football sports"),
    e("🏀", "basketball", "sports"),
    e("🏈", "football", "american sports"),
    e("🎯", "dart", "target bullseye goal"),
    e("🎱", "8ball", "pool billiards"),
    e("🔮", "crystal_ball", "fortune future"),
    e("🪄", "magic_wand", "wizard magic"),
    e("🎮", "video_game", "gaming controller"),
    e("🎲", "game_die", "dice random"),
    e("🧩", "jigsaw", "puzzle piece"),
    e("🪩", "mirror_ball", "disco party"),
    e("♥\u{fe0f}", "hearts", "cards"),
    e("🎨", "art", "palette paint design"),
    // Travel & places
    e("🚗", "car", "automobile"),
    e("✈\u{fe0f}", "airplane", "flight travel plane"),
    e("🚀", "rocket", "ship launch deploy fast"),
    e("🛸", "flying_saucer", "ufo"),
    e("🚢", "ship", "cruise"),
    e("🚧", "construction", "wip barrier"),
    e("🚨", "rotating_light", "alert siren emergency"),
    e("🏠", "house", "home"),
    e("🏢", "office", "work building"),
    e("🏗\u{fe0f}", "building_construction", "wip"),
    e("🏖\u{fe0f}", "beach_umbrella", "beach vacation"),
    e("🏝\u{fe0f}", "desert_island", "vacation"),
    e("⌛", "hourglass", "time wait"),
    e("⏳", "hourglass_flowing_sand", "time wait loading"),
    e("⏰", "alarm_clock", "time morning"),
    e("⏱\u{fe0f}", "stopwatch", "time"),
    // Objects
    e("👑", "crown", "king queen royal"),
    e("💎", "gem", "diamond jewel"),
    e("📢", "loudspeaker", "announcement"),
    e("📣", "mega", "megaphone announcement"),
    e("🔔", "bell", "notification"),
    e("🎵", "musical_note", "music"),
    e("🎤", "microphone", "sing karaoke"),
    e("🎧", "headphones", "music listen"),
    e("🎸", "guitar", "music rock"),
    e("☎\u{fe0f}", "phone", "telephone call"),
    e("💻", "computer", "laptop"),
    e("💾", "floppy_disk", "save"),
    e("🔍", "mag", "search zoom find"),
    e("💡", "bulb", "idea light"),
    e("📚", "books", "library read"),
    e("💰", "moneybag", "dollar cash rich"),
    e("📈", "chart_with_upwards_trend", "graph growth up stonks"),
    e("📉", "chart_with_downwards_trend", "graph down"),
    e("📊", "bar_chart", "graph stats"),
    e("✉\u{fe0f}", "email", "envelope letter mail"),
    e("📦", "package", "box shipping parcel"),
    e("✏\u{fe0f}", "pencil2", "write edit"),
    e("📝", "memo", "pencil notes write"),
    e("📁", "file_folder", "directory"),
    e("📆", "calendar", "schedule"),
    e("📌", "pushpin", "pin location"),
    e("📎", "paperclip", "attachment"),
    e("🗑\u{fe0f}", "wastebasket", "trash bin delete"),
    e("🔒", "lock", "security private"),
    e("🔑", "key", "password"),
    e("🛠\u{fe0f}", "hammer_and_wrench", "tool fix"),
    e("💣", "bomb", "explode boom"),
    e("🔧", "wrench", "tool fix"),
    e("⚙\u{fe0f}", "gear", "settings cog config"),
    e("🔗", "link", "url chain"),
    e("🧪", "test_tube", "science experiment"),
    e("🩹", "adhesive_bandage", "bandaid"),
    e("🚪", "door", "exit"),
    e("🧹", "broom", "clean sweep"),
    e("🗿", "moyai", "moai stone"),
    // Symbols
    e("⚠\u{fe0f}", "warning", "caution alert"),
    e("⛔", "no_entry", "forbidden"),
    e("🚫", "no_entry_sign", "forbidden block"),
    e("⬆\u{fe0f}", "arrow_up", "up"),
    e("➡\u{fe0f}", "arrow_right", "right next"),
    e("⬇\u{fe0f}", "arrow_down", "down"),
    e("⬅\u{fe0f}", "arrow_left", "left back"),
    e("🔃", "arrows_clockwise", "refresh reload sync"),
    e("♀\u{fe0f}", "female_sign", "woman"),
    e("♂\u{fe0f}", "male_sign", "man"),
    e("✖\u{fe0f}", "heavy_multiplication_x", "times multiply"),
    e("➕", "heavy_plus_sign", "plus add"),
    e("➖", "heavy_minus_sign", "minus subtract"),
    e("‼\u{fe0f}", "bangbang", "exclamation"),
    e("❓", "question", "what huh"),
    e("❗", "exclamation", "important bang"),
    e("♻\u{fe0f}", "recycle", "environment green"),
    e("⭕", "o", "circle yes"),
    e("✅", "white_check_mark", "check done yes ok complete"),
    e("✔\u{fe0f}", "heavy_check_mark", "check done yes"),
    e("❌", "x", "no wrong cross delete"),
    e("©\u{fe0f}", "copyright", "c"),
    e("™\u{fe0f}", "tm", "trademark"),
    e("#\u{fe0f}\u{20e3}", "hash", "number keycap"),
    e("*\u{fe0f}\u{20e3}", "asterisk", "star keycap"),
    e("0\u{fe0f}\u{20e3}", "zero", "number keycap 0"),
    e("1\u{fe0f}\u{20e3}", "one", "number keycap 1"),
    e("2\u{fe0f}\u{20e3}", "two", "number keycap 2"),
    e("3\u{fe0f}\u{20e3}", "three", "number keycap 3"),
    e("4\u{fe0f}\u{20e3}", "four", "number keycap 4"),
    e("5\u{fe0f}\u{20e3}", "five", "number keycap 5"),
    e("6\u{fe0f}\u{20e3}", "six", "number keycap 6"),
    e("7\u{fe0f}\u{20e3}", "seven", "number keycap 7"),
    e("8\u{fe0f}\u{20e3}", "eight", "number keycap 8"),
    e("9\u{fe0f}\u{20e3}", "nine", "number keycap 9"),
    e("🔟", "keycap_ten", "number 10"),
    e("ℹ\u{fe0f}", "information_source", "info"),
    e("🆕", "new", "button fresh"),
    e("🆗", "ok", "button okay"),
    e("🆘", "sos", "help emergency"),
    e("🔴", "red_circle", "red dot"),
    e("🟠", "orange_circle", "dot"),
    e("🟡", "yellow_circle", "dot"),
    e("🟢", "green_circle", "dot online"),
    e("🔵", "large_blue_circle", "blue dot"),
    e("🟣", "purple_circle", "dot"),
    e("⚫", "black_circle", "dot"),
    e("⚪", "white_circle", "dot"),
    e("🟥", "red_square", "square"),
    e("🟩", "green_square", "square"),
    // Flags
    e("🏁", "checkered_flag", "finish race"),
    e("🚩", "triangular_flag_on_post", "flag"),
    e("🏳\u{fe0f}", "white_flag", "surrender"),
    e("🏳\u{fe0f}\u{200d}🌈", "rainbow_flag", "pride lgbt"),
    e("🏳\u{fe0f}\u{200d}⚧\u{fe0f}", "transgender_flag", "pride trans"),
    e("🏴\u{200d}☠\u{fe0f}", "pirate_flag", "jolly roger"),
    e("🇺🇸", "us", "flag usa america"),
    e("🇬🇧", "gb", "flag uk britain"),
    e("🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}", "england", "flag"),
    e("🇫🇷", "fr", "flag france"),
    e("🇩🇪", "de", "flag germany"),
    e("🇪🇸", "es", "flag spain"),
    e("🇮🇹", "it", "flag italy"),
    e("🇯🇵", "jp", "flag japan"),
    e("🇮🇳", "india", "flag"),
    e("🇨🇦", "canada", "flag"),
    e("🇺🇦", "ukraine", "flag"),
    e("🇪🇺", "eu", "flag european_union europe"),
];

/// Other names people type for some entries, as (alias, canonical code):
/// `:+1:` is `:thumbsup:`. Aliases never clash with a code in `EMOJI`.
pub static ALIASES: &[(&str, &str)] = &[
    ("+1", "thumbsup"),
    ("-1", "thumbsdown"),
    ("thumbs_up", "thumbsup"),
    ("thumbs_down", "thumbsdown"),
    ("red_heart", "heart"),
    ("satisfied", "laughing"),
    ("hugging_face", "hugs"),
    ("thinking_face", "thinking"),
    ("face_with_rolling_eyes", "roll_eyes"),
    ("rolling_on_the_floor_laughing", "rofl"),
    ("face_palm", "facepalm"),
    ("pout", "rage"),
    ("hankey", "poop"),
    ("shit", "poop"),
    ("party_popper", "tada"),
    ("raised_hand", "hand"),
    ("fist", "fist_raised"),
    ("punch", "fist_oncoming"),
    ("facepunch", "fist_oncoming"),
    ("the_horns", "metal"),
    ("sign_of_the_horns", "metal"),
    (
        "hand_with_index_and_middle_fingers_crossed",
        "crossed_fingers",
    ),
    ("information_desk_person", "tipping_hand_person"),
    ("running", "runner"),
    ("collision", "boom"),
    ("heavy_exclamation_mark", "exclamation"),
    ("envelope", "email"),
    ("telephone", "phone"),
    ("pencil", "memo"),
    ("uk", "gb"),
    ("flag-us", "us"),
    ("flag-gb", "gb"),
    ("flag-england", "england"),
];

/// The default picker row, shown before the user searches: 👍 ❤ 😂 🎉 😮 😢
/// (the heart with U+FE0F, as in the table). All are in `EMOJI`.
pub const COMMON: [&str; 6] = ["👍", "❤\u{fe0f}", "😂", "🎉", "😮", "😢"];

/// Longest reaction accepted, in UTF-8 bytes: room for any single emoji in
/// common use (a family of four is 25 bytes) while keeping a reaction from
/// smuggling text. A few long sequences, such as a kiss with two skin tones
/// (35 bytes), are over it and refused.
pub const MAX_REACTION_BYTES: usize = 32;

/// Why a reaction was refused; `Display` gives a sentence to show the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReactionError {
    /// Nothing was given.
    Empty,
    /// Longer than `MAX_REACTION_BYTES` (and not a known `:code:`).
    TooLong {
        /// The length given, in UTF-8 bytes.
        bytes: usize,
    },
    /// Looked like `:code:` but no emoji or alias has that code (the code as
    /// typed, without colons; at most `MAX_REACTION_BYTES` long).
    UnknownCode(String),
    /// Not exactly one emoji: text, several emoji, whitespace, a lone
    /// modifier or joiner, and so on.
    NotAnEmoji,
}

impl fmt::Display for ReactionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("a reaction cannot be empty: pick an emoji"),
            Self::TooLong { bytes } => write!(
                f,
                "a reaction is at most {MAX_REACTION_BYTES} bytes; this one is {bytes}"
            ),
            Self::UnknownCode(code) => write!(f, ":{code}: is not a known emoji short code"),
            Self::NotAnEmoji => f.write_str("a reaction must be one emoji or a known :short_code:"),
        }
    }
}

impl std::error::Error for ReactionError {}

/// The server's rule for what a reaction may be; returns the string to store.
///
/// Accepts `:code:` (a code or alias from the table, any ASCII case, whatever
/// its length) or exactly one emoji: one extended grapheme cluster of at most
/// `MAX_REACTION_BYTES` bytes that is an emoji sequence (a pictographic base
/// with an optional presentation selector or skin tone, ZWJ-joined further such
/// elements, an optional tag sequence; a regional-indicator pair; or a keycap).
/// Nothing is trimmed. An emoji that is in the table up to variation selectors
/// (U+FE0E, U+FE0F) is returned in the table's form ("❤" gives "❤\u{FE0F}");
/// any other emoji is returned as given.
///
/// # Errors
///
/// `Empty` for "", `TooLong` past `MAX_REACTION_BYTES` (unless a known
/// `:code:`), `UnknownCode` for a well-formed `:code:` that names nothing, and
/// `NotAnEmoji` for anything else that is not exactly one emoji.
pub fn parse_reaction(input: &str) -> Result<String, ReactionError> {
    if input.is_empty() {
        return Err(ReactionError::Empty);
    }
    let too_long = input.len() > MAX_REACTION_BYTES;
    if let Some(code) = short_code_body(input) {
        // A known code is fine however long its name; an unknown one is
        // echoed back, so only when short.
        return match lookup_code(code) {
            Some(info) => Ok(info.emoji.to_owned()),
            None if too_long => Err(ReactionError::TooLong { bytes: input.len() }),
            None => Err(ReactionError::UnknownCode(code.to_owned())),
        };
    }
    if too_long {
        return Err(ReactionError::TooLong { bytes: input.len() });
    }
    let mut clusters = input.graphemes(true);
    if clusters.next().is_none() || clusters.next().is_some() {
        return Err(ReactionError::NotAnEmoji);
    }
    if !is_emoji_sequence(input) {
        return Err(ReactionError::NotAnEmoji);
    }
    Ok(match find_emoji(input) {
        Some(info) => info.emoji.to_owned(),
        None => input.to_owned(),
    })
}

/// Entries for the picker's search box, best first, at most `limit`.
///
/// Case-insensitive; surrounding whitespace and colons are ignored, and spaces
/// match underscores in codes ("thumbs up"). An empty query gives the first
/// `limit` entries of `EMOJI`. Otherwise, in `EMOJI` order within each rank:
/// the entry that is the query itself (its emoji, code or alias); then entries
/// with a code, alias, word of the code or keyword starting with the query;
/// then entries whose code, alias or keywords contain it.
#[must_use]
pub fn search(query: &str, limit: usize) -> Vec<&'static EmojiInfo> {
    if limit == 0 {
        return Vec::new();
    }
    let trimmed = query.trim();
    let needle = trimmed.trim_matches(':').to_lowercase();
    if needle.is_empty() {
        return EMOJI.iter().take(limit).collect();
    }
    let code_needle = needle.split_whitespace().collect::<Vec<_>>().join("_");
    let alias_targets = |matches: &dyn Fn(&str) -> bool| -> Vec<&'static str> {
        ALIASES
            .iter()
            .filter(|(alias, _)| matches(alias))
            .map(|&(_, code)| code)
            .collect()
    };
    let alias_exact = alias_targets(&|alias| alias == code_needle);
    let alias_prefix = alias_targets(&|alias| alias.starts_with(&code_needle));
    let alias_inside = alias_targets(&|alias| alias.contains(&code_needle));

    let mut exact = Vec::new();
    let mut prefix = Vec::new();
    let mut inside = Vec::new();
    for info in EMOJI {
        if info.code == code_needle
            || alias_exact.contains(&info.code)
            || same_emoji(info.emoji, trimmed)
        {
            exact.push(info);
        } else if info.code.starts_with(&code_needle)
            || info.code.split('_').any(|w| w.starts_with(&code_needle))
            || info.keywords.split(' ').any(|w| w.starts_with(&needle))
            || alias_prefix.contains(&info.code)
        {
            prefix.push(info);
        } else if info.code.contains(&code_needle)
            || info.keywords.contains(&needle)
            || alias_inside.contains(&info.code)
        {
            inside.push(info);
        }
    }
    exact
        .into_iter()
        .chain(prefix)
        .chain(inside)
        .take(limit)
        .collect()
}

/// The short code of a stored reaction, for accessible labels ("thumbsup
/// reaction"); `None` for an emoji not in the table. Variation selectors are
/// ignored, so "❤" is `heart` too.
#[must_use]
pub fn code_of(emoji: &str) -> Option<&'static str> {
    find_emoji(emoji).map(|info| info.code)
}

/// U+FE0E, asking for text presentation.
const VS15: char = '\u{FE0E}';
/// U+FE0F, asking for emoji presentation.
const VS16: char = '\u{FE0F}';
/// U+200D ZERO WIDTH JOINER, gluing emoji into one (man, woman, girl: a family).
const ZWJ: char = '\u{200D}';
/// U+20E3 COMBINING ENCLOSING KEYCAP, after `[0-9#*]` and U+FE0F (keycap 1).
const KEYCAP: char = '\u{20E3}';
/// U+E007F CANCEL TAG, ending a tag sequence (black flag + "gbeng" tags: England).
const TAG_END: char = '\u{E007F}';

/// `Extended_Pictographic` code points (UTS #51, as of Unicode 13–15): the bases
/// an emoji sequence may be built on. Includes code points reserved for future
/// emoji, so new emoji are accepted before this table knows them. Sorted,
/// inclusive, non-overlapping.
const PICTOGRAPHIC: &[(u32, u32)] = &[
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x2199),
    (0x21A9, 0x21AA),
    (0x231A, 0x231B),
    (0x2328, 0x2328),
    (0x2388, 0x2388),
    (0x23CF, 0x23CF),
    (0x23E9, 0x23F3),
    (0x23F8, 0x23FA),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25AB),
    (0x25B6, 0x25B6),
    (0x25C0, 0x25C0),
    (0x25FB, 0x25FE),
    (0x2600, 0x2605),
    (0x2607, 0x2612),
    (0x2614, 0x2685),
    (0x2690, 0x2705),
    (0x2708, 0x2712),
    (0x2714, 0x2714),
    (0x2716, 0x2716),
    (0x271D, 0x271D),
    (0x2721, 0x2721),
    (0x2728, 0x2728),
    (0x2733, 0x2734),
    (0x2744, 0x2744),
    (0x2747, 0x2747),
    (0x274C, 0x274C),
    (0x274E, 0x274E),
    (0x2753, 0x2755),
    (0x2757, 0x2757),
    (0x2763, 0x2767),
    (0x2795, 0x2797),
    (0x27A1, 0x27A1),
    (0x27B0, 0x27B0),
    (0x27BF, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
    (0x1F000, 0x1F0FF),
    (0x1F10D, 0x1F10F),
    (0x1F12F, 0x1F12F),
    (0x1F16C, 0x1F171),
    (0x1F17E, 0x1F17F),
    (0x1F18E, 0x1F18E),
    (0x1F191, 0x1F19A),
    (0x1F1AD, 0x1F1E5),
    (0x1F201, 0x1F20F),
    (0x1F21A, 0x1F21A),
    (0x1F22F, 0x1F22F),
    (0x1F232, 0x1F23A),
    (0x1F23C, 0x1F23F),
    (0x1F249, 0x1F3FA),
    (0x1F400, 0x1F53D),
    (0x1F546, 0x1F64F),
    (0x1F680, 0x1F6FF),
    (0x1F774, 0x1F77F),
    (0x1F7D5, 0x1F7FF),
    (0x1F80C, 0x1F80F),
    (0x1F848, 0x1F84F),
    (0x1F85A, 0x1F85F),
    (0x1F888, 0x1F88F),
    (0x1F8AE, 0x1F8FF),
    (0x1F90C, 0x1F93A),
    (0x1F93C, 0x1F945),
    (0x1F947, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
];

fn is_pictographic(c: char) -> bool {
    let cp = u32::from(c);
    PICTOGRAPHIC
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

fn is_skin_tone(c: char) -> bool {
    ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

fn is_tag_spec(c: char) -> bool {
    ('\u{E0020}'..='\u{E007E}').contains(&c)
}

fn is_variation_selector(c: char) -> bool {
    c == VS15 || c == VS16
}

/// Whether `s` is one emoji sequence: a flag (two regional indicators), a
/// keycap (`[0-9#*]` U+FE0F? U+20E3), or ZWJ-joined elements (a pictographic
/// base, then at most one of U+FE0E, U+FE0F or a skin tone), the last of which
/// may carry a tag sequence (tags ended by U+E007F, as in subdivision flags).
fn is_emoji_sequence(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if is_regional_indicator(first) {
        return matches!(
            (chars.next(), chars.next()),
            (Some(second), None) if is_regional_indicator(second)
        );
    }
    if first.is_ascii_digit() || first == '#' || first == '*' {
        let mut next = chars.next();
        if next == Some(VS16) {
            next = chars.next();
        }
        return next == Some(KEYCAP) && chars.next().is_none();
    }
    let mut base = first;
    loop {
        if !is_pictographic(base) {
            return false;
        }
        let mut next = chars.next();
        if next.is_some_and(|c| is_variation_selector(c) || is_skin_tone(c)) {
            next = chars.next();
        }
        match next {
            None => return true,
            Some(ZWJ) => match chars.next() {
                Some(c) => base = c,
                None => return false,
            },
            Some(c) if is_tag_spec(c) => {
                for c in chars.by_ref() {
                    if c == TAG_END {
                        return chars.next().is_none();
                    }
                    if !is_tag_spec(c) {
                        return false;
                    }
                }
                return false;
            }
            Some(_) => return false,
        }
    }
}

/// Whether two strings are the same emoji up to variation selectors.
fn same_emoji(a: &str, b: &str) -> bool {
    a.chars()
        .filter(|&c| !is_variation_selector(c))
        .eq(b.chars().filter(|&c| !is_variation_selector(c)))
}

/// The table entry for `emoji`: the exact string, else the same emoji up to
/// variation selectors (never an empty match: no entry is only selectors).
fn find_emoji(emoji: &str) -> Option<&'static EmojiInfo> {
    EMOJI
        .iter()
        .find(|info| info.emoji == emoji)
        .or_else(|| EMOJI.iter().find(|info| same_emoji(info.emoji, emoji)))
}

/// The text between the colons of `:code:`, if `input` has that shape: at
/// least one character, all ASCII letters, digits, `_`, `+` or `-`.
fn short_code_body(input: &str) -> Option<&str> {
    let body = input.strip_prefix(':')?.strip_suffix(':')?;
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'));
    valid.then_some(body)
}

/// The entry a code or alias names, ignoring ASCII case.
fn lookup_code(code: &str) -> Option<&'static EmojiInfo> {
    let canonical = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(code))
        .map_or(code, |&(_, target)| target);
    EMOJI
        .iter()
        .find(|info| info.code.eq_ignore_ascii_case(canonical))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_one_cluster(s: &str) -> bool {
        s.graphemes(true).count() == 1
    }

    fn info(code: &str) -> &'static EmojiInfo {
        EMOJI
            .iter()
            .find(|i| i.code == code)
            .unwrap_or_else(|| panic!("no entry {code}"))
    }

    #[test]
    fn table_size_is_a_few_hundred() {
        assert!((300..=400).contains(&EMOJI.len()), "{}", EMOJI.len());
    }

    #[test]
    fn every_entry_is_one_cluster_and_parses_to_itself() {
        for i in EMOJI {
            assert!(is_one_cluster(i.emoji), "{} is not one cluster", i.code);
            assert!(i.emoji.len() <= MAX_REACTION_BYTES, "{} too long", i.code);
            assert_eq!(
                parse_reaction(i.emoji).as_deref(),
                Ok(i.emoji),
                "{}",
                i.code
            );
        }
    }

    #[test]
    fn every_code_parses_to_its_emoji_in_any_case() {
        for i in EMOJI {
            assert_eq!(
                parse_reaction(&format!(":{}:", i.code)).as_deref(),
                Ok(i.emoji)
            );
            let upper = format!(":{}:", i.code.to_ascii_uppercase());
            assert_eq!(parse_reaction(&upper).as_deref(), Ok(i.emoji), "{upper}");
        }
    }

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for i in EMOJI {
            assert!(seen.insert(i.code), "duplicate code {}", i.code);
            assert!(
                !i.code.is_empty()
                    && i.code.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || matches!(b, b'_' | b'+' | b'-')),
                "bad code {:?}",
                i.code
            );
        }
    }

    #[test]
    fn emoji_are_unique_even_ignoring_selectors() {
        for (n, a) in EMOJI.iter().enumerate() {
            for b in &EMOJI[n + 1..] {
                assert!(!same_emoji(a.emoji, b.emoji), "{} and {}", a.code, b.code);
            }
            assert_eq!(code_of(a.emoji), Some(a.code));
        }
    }

    #[test]
    fn keywords_are_lowercase_single_spaced_words() {
        for i in EMOJI {
            assert!(!i.keywords.is_empty(), "{} has no keywords", i.code);
            for word in i.keywords.split(' ') {
                assert!(
                    !word.is_empty()
                        && word.bytes().all(|b| b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'_' | b'+' | b'-')),
                    "bad keyword {word:?} in {}",
                    i.code
                );
            }
        }
    }

    #[test]
    fn common_row_is_in_the_table() {
        for c in COMMON {
            assert!(EMOJI.iter().any(|i| i.emoji == c), "{c} missing");
            assert_eq!(parse_reaction(c).as_deref(), Ok(c));
        }
    }

    #[test]
    fn aliases_resolve_and_do_not_shadow_codes() {
        let mut seen = std::collections::HashSet::new();
        for &(alias, code) in ALIASES {
            assert!(seen.insert(alias), "duplicate alias {alias}");
            assert!(EMOJI.iter().all(|i| i.code != alias), "{alias} is a code");
            assert!(short_code_body(&format!(":{alias}:")).is_some(), "{alias}");
            assert_eq!(
                parse_reaction(&format!(":{alias}:")).as_deref(),
                Ok(info(code).emoji)
            );
        }
        assert_eq!(parse_reaction(":+1:").as_deref(), Ok("👍"));
        assert_eq!(parse_reaction(":-1:").as_deref(), Ok("👎"));
        assert_eq!(parse_reaction(":thumbsup:").as_deref(), Ok("👍"));
        assert_eq!(parse_reaction(":ThumbsUp:").as_deref(), Ok("👍"));
    }

    #[test]
    fn pictographic_table_is_sorted_and_disjoint() {
        for pair in PICTOGRAPHIC.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:x?}");
        }
    }

    #[test]
    fn emoji_outside_the_table_are_kept_as_given() {
        for ok in [
            // Skin tones.
            "👍🏽",
            "👋🏿",
            // ZWJ sequences: families (four people is 25 bytes), a skin tone
            // inside a sequence, a flag sequence.
            "👨\u{200d}👩\u{200d}👦",
            "👨\u{200d}👩\u{200d}👧\u{200d}👦",
            "🧑🏽\u{200d}💻",
            "🏳\u{fe0f}\u{200d}⚧\u{fe0f}",
            // Flags: any pair of regional indicators, and a subdivision flag.
            "🇳🇱",
            "🇿🇿",
            "🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}",
            // Pictographs the table lacks, including a newer emoji.
            "🦩",
            "🫎",
        ] {
            assert_eq!(parse_reaction(ok).as_deref(), Ok(ok), "{ok:?}");
        }
    }

    #[test]
    fn table_emoji_are_normalised_to_the_table_form() {
        assert_eq!(parse_reaction("❤").as_deref(), Ok("❤\u{fe0f}"));
        assert_eq!(parse_reaction("❤\u{fe0e}").as_deref(), Ok("❤\u{fe0f}"));
        assert_eq!(parse_reaction("👍\u{fe0f}").as_deref(), Ok("👍"));
        assert_eq!(
            parse_reaction("1\u{20e3}").as_deref(),
            Ok("1\u{fe0f}\u{20e3}")
        );
        assert_eq!(
            parse_reaction("1\u{fe0f}\u{20e3}").as_deref(),
            Ok("1\u{fe0f}\u{20e3}")
        );
        assert_eq!(
            parse_reaction("#\u{20e3}").as_deref(),
            Ok("#\u{fe0f}\u{20e3}")
        );
        assert_eq!(parse_reaction("☺").as_deref(), Ok("☺\u{fe0f}"));
        assert_eq!(
            parse_reaction("❤\u{200d}🔥").as_deref(),
            Ok("❤\u{fe0f}\u{200d}🔥")
        );
        assert_eq!(parse_reaction("🇫🇷").as_deref(), Ok("🇫🇷"));
        assert_eq!(
            parse_reaction("👨\u{200d}👩\u{200d}👧").as_deref(),
            Ok("👨\u{200d}👩\u{200d}👧")
        );
        // Text-style form of an emoji the table lacks: kept as given.
        assert_eq!(parse_reaction("↕\u{fe0e}").as_deref(), Ok("↕\u{fe0e}"));
    }

    #[test]
    fn non_emoji_are_refused_with_the_right_error() {
        use ReactionError::*;
        assert_eq!(parse_reaction(""), Err(Empty));
        for bad in [
            " 👍",
            "👍 ",
            " ",
            "👍👍",
            "👍❤\u{fe0f}",
            "a",
            "1",
            "#",
            "#\u{fe0f}",
            "*\u{fe0f}\u{20e3}\u{20e3}",
            "hello",
            "::",
            ":",
            ": :",
            ":thumbs up:",
            ":<b>:",
            "thumbsup",
            "<script>",
            "\u{200d}",
            "\u{fe0f}",
            "\u{fe0e}",
            "\u{20e3}",
            "🏽",
            "🇫",
            "🇫🇷🇫",
            "👍\u{200d}",
            "\u{200d}👍",
            "👍🏽\u{fe0f}",
            "👍\u{fe0f}🏽",
            "❤\u{fe0f}\u{fe0f}",
            "🏴\u{e0067}\u{e0062}",
            "🏴\u{e007f}",
            "\u{e0067}\u{e007f}",
            "é",
            "e\u{301}",
            "\u{0}",
            "\u{7}",
            "\n",
            "\r\n",
            "\t",
            "\u{7f}",
            "\u{85}",
            "\u{200b}",
            "\u{202e}",
            "\u{feff}",
            "👍\u{0}",
            "\u{1b}[31m",
            "©\u{20e3}",
            "中",
            "™a",
        ] {
            assert_eq!(parse_reaction(bad), Err(NotAnEmoji), "{bad:?}");
        }
        assert_eq!(parse_reaction(":nope:"), Err(UnknownCode("nope".into())));
        assert_eq!(parse_reaction(":Nope:"), Err(UnknownCode("Nope".into())));
        assert_eq!(
            parse_reaction(":thumbs-up:"),
            Err(UnknownCode("thumbs-up".into()))
        );
    }

    #[test]
    fn over_long_input_is_refused_as_too_long() {
        let chain = ["👨", "👩", "👧", "👦", "👨", "👩"].join("\u{200d}");
        assert!(is_one_cluster(&chain));
        assert_eq!(
            parse_reaction(&chain),
            Err(ReactionError::TooLong { bytes: 39 })
        );
        // Kiss with two skin tones: a real emoji, 35 bytes, over the limit.
        let kiss = "🧑🏻\u{200d}❤\u{fe0f}\u{200d}💋\u{200d}🧑🏼";
        assert_eq!(
            parse_reaction(kiss),
            Err(ReactionError::TooLong { bytes: 35 })
        );
        // A known code may be longer than the limit; an unknown one may not.
        let splayed = ":raised_hand_with_fingers_splayed:";
        assert!(splayed.len() > MAX_REACTION_BYTES);
        assert_eq!(parse_reaction(splayed).as_deref(), Ok("🖐\u{fe0f}"));
        let long_code = format!(":{}:", "a".repeat(40));
        assert_eq!(
            parse_reaction(&long_code),
            Err(ReactionError::TooLong { bytes: 42 })
        );
        let big = "👍".repeat(1 << 18);
        assert_eq!(
            parse_reaction(&big),
            Err(ReactionError::TooLong { bytes: 1 << 20 })
        );
        let at_limit = "🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}";
        assert!(at_limit.len() <= MAX_REACTION_BYTES);
        assert!(parse_reaction(at_limit).is_ok());
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            ReactionError::NotAnEmoji.to_string(),
            "a reaction must be one emoji or a known :short_code:"
        );
        assert_eq!(
            ReactionError::UnknownCode("nope".into()).to_string(),
            ":nope: is not a known emoji short code"
        );
        assert_eq!(
            ReactionError::TooLong { bytes: 40 }.to_string(),
            "a reaction is at most 32 bytes; this one is 40"
        );
        assert!(ReactionError::Empty.to_string().contains("empty"));
        let boxed: Box<dyn std::error::Error> = Box::new(ReactionError::Empty);
        assert!(!boxed.to_string().is_empty());
    }

    #[test]
    fn search_ranks_prefix_matches_first() {
        let found = search("thu", 5);
        assert_eq!(found.first().map(|i| i.code), Some("thumbsup"));
        assert!(found.iter().any(|i| i.code == "thumbsdown"));
        assert_eq!(search("THU", 5), found);
        assert_eq!(search(":thu", 5), found);
    }

    #[test]
    fn search_finds_by_code_keyword_alias_and_emoji() {
        assert_eq!(
            search("heart", 10).first().map(|i| i.emoji),
            Some("❤\u{fe0f}")
        );
        assert!(search("heart", 50).iter().any(|i| i.code == "broken_heart"));
        assert_eq!(search("+1", 3).first().map(|i| i.code), Some("thumbsup"));
        assert_eq!(
            search("thumbs up", 3).first().map(|i| i.code),
            Some("thumbsup")
        );
        assert_eq!(search(":tada:", 3).first().map(|i| i.code), Some("tada"));
        assert_eq!(search("👍", 3).first().map(|i| i.code), Some("thumbsup"));
        assert_eq!(search("❤", 3).first().map(|i| i.code), Some("heart"));
        assert!(search("celebrate", 20).iter().any(|i| i.code == "tada"));
        // Substring matches come after word-prefix matches.
        let ranked = search("fire", 20);
        assert_eq!(ranked.first().map(|i| i.code), Some("fire"));
        assert!(ranked.iter().any(|i| i.code == "heart_on_fire"));
        assert!(search("zzzzqqq", 10).is_empty());
    }

    #[test]
    fn search_respects_the_limit() {
        assert_eq!(search("", 8).len(), 8);
        assert_eq!(search("   ", 8).len(), 8);
        let first: Vec<_> = EMOJI.iter().take(8).collect();
        assert_eq!(search("", 8), first);
        assert_eq!(search("", EMOJI.len() + 10).len(), EMOJI.len());
        assert!(search("a", 0).is_empty());
        assert!(search("", 0).is_empty());
        assert_eq!(search("a", 3).len(), 3);
        assert!(search("face", 4).len() <= 4);
    }

    #[test]
    fn code_of_names_stored_reactions() {
        assert_eq!(code_of("👍"), Some("thumbsup"));
        assert_eq!(code_of("❤\u{fe0f}"), Some("heart"));
        assert_eq!(code_of("❤"), Some("heart"));
        assert_eq!(code_of("👍🏽"), None);
        assert_eq!(code_of(""), None);
        assert_eq!(code_of("\u{fe0f}"), None);
    }

    /// A tiny xorshift generator, so the fuzz loop needs no extra crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    #[test]
    fn odd_input_never_panics_and_accepted_output_is_stable() {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "1",
            "#",
            "*",
            ":",
            " ",
            "_",
            "+",
            "\n",
            "\u{0}",
            "\u{7f}",
            "\u{fe0e}",
            "\u{fe0f}",
            "\u{200d}",
            "\u{20e3}",
            "\u{301}",
            "\u{1f3fb}",
            "\u{1f3ff}",
            "\u{1f1eb}",
            "\u{1f1f7}",
            "\u{e0067}",
            "\u{e007f}",
            "👍",
            "❤",
            "👨",
            "🏴",
            "©",
            "↕",
            "中",
            "é",
            "\u{d7ff}",
            "\u{10ffff}",
            ":+1:",
            ":heart",
            "thumbsup",
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..4_000 {
            let mut s = String::new();
            for _ in 0..rng.below(8) {
                if rng.below(4) == 0 {
                    let cp = u32::try_from(rng.next() % 0x11_0000).unwrap_or(0);
                    s.push(char::from_u32(cp).unwrap_or('?'));
                } else {
                    s.push_str(PIECES[rng.below(PIECES.len())]);
                }
            }
            match parse_reaction(&s) {
                Ok(stored) => {
                    assert!(is_one_cluster(&stored), "{s:?} -> {stored:?}");
                    assert!(stored.len() <= MAX_REACTION_BYTES);
                    assert_eq!(parse_reaction(&stored).as_deref(), Ok(&*stored));
                }
                Err(ReactionError::UnknownCode(code)) => {
                    assert!(code.len() <= MAX_REACTION_BYTES);
                }
                Err(_) => {}
            }
            let limit = rng.below(12);
            assert!(search(&s, limit).len() <= limit);
            let _ = code_of(&s);
        }
    }
}
