//! Mentions (PROTOCOL.md "Mentions"): the sender declares whom a message
//! mentions; the rule book keeps each id once, in the order given, only
//! the channel's active members, at most `limits.max_mentions`. Dropping
//! is not an error.

use super::{internal, Chat};
use crate::protocol::{AppError, ChannelId, UserId};

impl Chat {
    /// The mentions of a message of `channel_id` as they are stored: each
    /// active member once, in the order given, at most the limit. Reads the
    /// member list only when there is something to check.
    pub async fn keep_mentions(
        &self,
        channel_id: ChannelId,
        declared: Vec<UserId>,
    ) -> Result<Vec<UserId>, AppError> {
        if declared.is_empty() {
            return Ok(declared);
        }
        let members = self
            .store
            .member_ids(channel_id)
            .await
            .map_err(|e| internal("member list for mentions failed", e))?;
        Ok(keep(declared, &members, self.limits.max_mentions))
    }
}

/// Each of `declared` that is in `members`, once, in order, at most `max`.
fn keep(declared: Vec<UserId>, members: &[UserId], max: usize) -> Vec<UserId> {
    let mut kept: Vec<UserId> = Vec::new();
    for id in declared {
        if kept.len() == max {
            break;
        }
        if members.contains(&id) && !kept.contains(&id) {
            kept.push(id);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_kept_once_in_order_up_to_the_limit() {
        let members: Vec<UserId> = (0..30).map(|_| UserId::new_random()).collect();
        let stranger = UserId::new_random();
        let declared = vec![members[2], stranger, members[0], members[2], members[1]];
        assert_eq!(
            keep(declared, &members, 25),
            [members[2], members[0], members[1]]
        );
        assert_eq!(keep(members.clone(), &members, 25), members[..25]);
        assert!(keep(vec![stranger], &members, 25).is_empty());
    }
}
