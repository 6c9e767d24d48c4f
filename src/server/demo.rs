//! Demo data (PROTOCOL.md "Demo data"): alice, bob and carol (password
//! `password`), General, Design and Random with all three, Product with
//! alice and bob. Created once, only when asked for, with fixed ids so
//! links and tests are stable.

use crate::protocol::{ChannelId, UserId};
use uuid::Uuid;

use crate::server::auth::password::hash_password;
use crate::server::store::{Store, StoreResult, UserRecord};

/// Marker in the `meta` table once the demo data exists.
const SEEDED_KEY: &str = "demo_data_seeded";

/// Demo users: id, e-mail, display name.
pub const DEMO_USERS: [(UserId, &str, &str); 3] = [
    (
        UserId::from_uuid(Uuid::from_u128(0x0000a11c_0000_4000_8000_000000000001)),
        "alice@example.com",
        "Alice",
    ),
    (
        UserId::from_uuid(Uuid::from_u128(0x00000b0b_0000_4000_8000_000000000002)),
        "bob@example.com",
        "Bob",
    ),
    (
        UserId::from_uuid(Uuid::from_u128(0x0000ca01_0000_4000_8000_000000000003)),
        "carol@example.com",
        "Carol",
    ),
];

/// Demo channels: id, name, colour, members (indexes into [`DEMO_USERS`]).
pub const DEMO_CHANNELS: [(ChannelId, &str, &str, &[usize]); 4] = [
    (
        ChannelId::from_uuid(Uuid::from_u128(0x6e0e7a10_0000_4000_8000_000000000001)),
        "General",
        "#6366f1",
        &[0, 1, 2],
    ),
    (
        ChannelId::from_uuid(Uuid::from_u128(0xde516e00_0000_4000_8000_000000000002)),
        "Design",
        "#ec4899",
        &[0, 1, 2],
    ),
    (
        ChannelId::from_uuid(Uuid::from_u128(0x7a9d0300_0000_4000_8000_000000000003)),
        "Random",
        "#f59e0b",
        &[0, 1, 2],
    ),
    (
        ChannelId::from_uuid(Uuid::from_u128(0x9d0d0c70_0000_4000_8000_000000000004)),
        "Product",
        "#10b981",
        &[0, 1],
    ),
];

/// Seeds the demo data unless it was seeded before. Returns whether it
/// created anything.
pub async fn seed_once(store: &dyn Store) -> StoreResult<bool> {
    if store.get_meta(SEEDED_KEY).await?.is_some() {
        return Ok(false);
    }
    let hashes = tokio::task::spawn_blocking(|| {
        DEMO_USERS
            .iter()
            .map(|_| hash_password("password"))
            .collect::<Vec<_>>()
    })
    .await
    .expect("hashing does not panic");
    for ((id, email, name), hash) in DEMO_USERS.iter().zip(hashes) {
        store
            .upsert_user(&UserRecord {
                id: *id,
                email: (*email).into(),
                display_name: (*name).into(),
                password_hash: Some(hash),
            })
            .await?;
    }
    for (id, name, color, members) in DEMO_CHANNELS {
        store.upsert_channel(id, name, color).await?;
        for &m in members {
            store.set_access(id, DEMO_USERS[m].0, true).await?;
        }
    }
    store
        .set_meta(SEEDED_KEY, &chrono::Utc::now().to_rfc3339())
        .await?;
    Ok(true)
}
