//! History pages: parsing the seed's query parameters (`limit`, and at most
//! one of `before`, `before_seq`, `after_seq`, `around_seq`) and reading a
//! page with the channel's rev read before it.

use crate::protocol::Seq;
use crate::protocol::{ChannelId, UserId};
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{internal, Chat};
use crate::protocol::{AppError, HistoryPage};
use crate::server::store::{HistoryCursor, Timeline};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;

/// A page size given as a query parameter (history, search): a positive
/// integer; one too large for any page is taken as the largest (callers
/// lower it to their maximum).
///
/// # Errors
/// 400 for anything but a positive integer.
pub fn parse_limit(raw: &str) -> Result<u32, AppError> {
    match raw.trim().parse::<i64>() {
        Ok(n) if n >= 1 => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
        _ => Err(AppError::BadRequest(format!(
            "limit must be a positive integer, got {raw:?}"
        ))),
    }
}

/// A parsed history request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Where the page starts.
    pub cursor: HistoryCursor,
    /// Page size (clamped to the configured maximum).
    pub limit: u32,
}

impl HistoryQuery {
    /// Parses query parameters. Unknown parameters are ignored.
    ///
    /// # Errors
    /// 400 for a non-numeric or non-positive `limit`, a bad cursor value, or
    /// more than one cursor.
    pub fn parse(params: &HashMap<String, String>, max_limit: u32) -> Result<Self, AppError> {
        let limit = match params.get("limit") {
            None => DEFAULT_LIMIT.min(max_limit),
            Some(raw) => parse_limit(raw)?.min(max_limit),
        };
        let seq = |name: &str, raw: &String| {
            raw.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(Seq::new)
                .ok_or_else(|| {
                    AppError::BadRequest(format!("{name} must be a non-negative integer"))
                })
        };
        let mut cursors = Vec::new();
        if let Some(raw) = params.get("before") {
            let t = DateTime::parse_from_rfc3339(raw.trim())
                .map_err(|_| AppError::BadRequest("before must be an RFC 3339 timestamp".into()))?;
            cursors.push(HistoryCursor::BeforeTime(t.with_timezone(&Utc)));
        }
        if let Some(raw) = params.get("before_seq") {
            cursors.push(HistoryCursor::BeforeSeq(seq("before_seq", raw)?));
        }
        if let Some(raw) = params.get("after_seq") {
            cursors.push(HistoryCursor::AfterSeq(seq("after_seq", raw)?));
        }
        if let Some(raw) = params.get("around_seq") {
            cursors.push(HistoryCursor::AroundSeq(seq("around_seq", raw)?));
        }
        if cursors.len() > 1 {
            return Err(AppError::BadRequest(
                "use at most one of before, before_seq, after_seq, around_seq".into(),
            ));
        }
        Ok(HistoryQuery {
            cursor: cursors.pop().unwrap_or(HistoryCursor::Latest),
            limit,
        })
    }
}

impl HistoryCursor {
    /// The cursor of the server functions' optional `before_seq`,
    /// `after_seq` and `around_seq` (none: the newest page; more than one
    /// is refused).
    pub fn from_seqs(
        before_seq: Option<Seq>,
        after_seq: Option<Seq>,
        around_seq: Option<Seq>,
    ) -> Result<Self, AppError> {
        match (before_seq, after_seq, around_seq) {
            (None, None, None) => Ok(HistoryCursor::Latest),
            (Some(seq), None, None) => Ok(HistoryCursor::BeforeSeq(seq)),
            (None, Some(seq), None) => Ok(HistoryCursor::AfterSeq(seq)),
            (None, None, Some(seq)) => Ok(HistoryCursor::AroundSeq(seq)),
            _ => Err(AppError::BadRequest(
                "use at most one of before_seq, after_seq, around_seq".into(),
            )),
        }
    }
}

impl Chat {
    /// One page of a channel's history, oldest first.
    pub async fn history(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        query: HistoryQuery,
    ) -> Result<HistoryPage, AppError> {
        // The membership check reads both heads; the rev is read before
        // the rows, so a change the page misses has a later rev and a
        // client resuming changes from here gets it.
        let (head_seq, head_rev) = self.require_member_heads(channel_id, user_id).await?;
        if let HistoryCursor::AroundSeq(seq) = query.cursor {
            if seq < Seq::new(1) || seq > head_seq {
                return Err(AppError::BadRequest(format!(
                    "around_seq must be between 1 and the newest seq ({head_seq})"
                )));
            }
        }
        let limit = query.limit.clamp(1, self.limits.history_max_limit);
        let mut page = self
            .store
            .timeline_page(channel_id, Timeline::Main, query.cursor, limit)
            .await
            .map_err(|e| internal("history query failed", e))?;
        page.head_rev = head_rev;
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<HistoryQuery, AppError> {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HistoryQuery::parse(&map, 100)
    }

    #[test]
    fn limit_defaults_to_50_and_is_capped_at_the_maximum() {
        assert_eq!(q(&[]).unwrap().limit, 50);
        assert_eq!(q(&[("limit", "500")]).unwrap().limit, 100);
    }

    #[test]
    fn bad_limits_and_two_cursors_are_rejected() {
        assert!(q(&[("limit", "0")]).is_err());
        assert!(q(&[("limit", "ten")]).is_err());
        assert!(q(&[("before_seq", "3"), ("after_seq", "1")]).is_err());
        assert!(q(&[("before", "yesterday")]).is_err());
        assert!(q(&[("around_seq", "-1")]).is_err());
        assert!(q(&[("around_seq", "4"), ("before_seq", "9")]).is_err());
        assert_eq!(
            q(&[("around_seq", "4")]).unwrap().cursor,
            HistoryCursor::AroundSeq(Seq::new(4))
        );
    }
}
