//! Search (PROTOCOL.md "Search"): the rules around the store's index (who
//! may search where, page sizes, the opaque cursor) and the snippets.
//! The JSON route and the server function both call [`Chat::search`].

use std::collections::HashMap;

use super::history::parse_limit;
use super::{internal, Chat};
use crate::protocol::{AppError, ChannelId, MessageId, SearchHit, SearchPage, UserId};
use crate::server::search_text::SearchQuery;

/// Results per page when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 20;

/// A search as a client asks for it, before checking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchRequest {
    /// The words to find, as typed.
    pub q: String,
    /// Only this channel; all of the caller's channels when `None`.
    pub channel_id: Option<ChannelId>,
    /// Page size (default [`DEFAULT_LIMIT`], at most `search_max_limit`).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl SearchRequest {
    /// Reads the route's query parameters (`q`, `channel_id`, `limit`,
    /// `cursor`); unknown ones are ignored.
    ///
    /// # Errors
    /// 400 for a `channel_id` that is not a UUID or a `limit` that is not a
    /// positive integer. The words are checked by [`Chat::search`].
    pub fn from_params(params: &HashMap<String, String>) -> Result<Self, AppError> {
        let channel_id = params
            .get("channel_id")
            .map(|raw| {
                raw.trim()
                    .parse::<ChannelId>()
                    .map_err(|_| AppError::BadRequest("channel_id must be a UUID".into()))
            })
            .transpose()?;
        let limit = params
            .get("limit")
            .map(|raw| parse_limit(raw))
            .transpose()?;
        Ok(SearchRequest {
            q: params.get("q").cloned().unwrap_or_default(),
            channel_id,
            limit,
            cursor: params.get("cursor").cloned(),
        })
    }
}

/// The cursor a page hands out: the id of its last hit (opaque to
/// clients).
fn parse_cursor(raw: &str) -> Result<MessageId, AppError> {
    raw.trim()
        .parse::<MessageId>()
        .map_err(|_| AppError::BadRequest("cursor is not one this server gave out".into()))
}

impl Chat {
    /// One page of the messages that hold every word of the query, newest
    /// first, each with its snippet.
    ///
    /// # Errors
    /// 404 when search is turned off; `INVALID_QUERY` (400) for a query
    /// without words or over 200 characters; 400 for a bad cursor; 403/404 for a `channel_id` the
    /// caller may not use.
    pub async fn search(
        &self,
        user_id: UserId,
        request: SearchRequest,
    ) -> Result<SearchPage, AppError> {
        if !self.search_on {
            return Err(AppError::NotFound(
                "search is turned off on this server".into(),
            ));
        }
        let query =
            SearchQuery::parse(&request.q).map_err(|e| AppError::InvalidQuery(e.to_string()))?;
        let after = request.cursor.as_deref().map(parse_cursor).transpose()?;
        if let Some(channel_id) = request.channel_id {
            self.require_member(channel_id, user_id).await?;
        }
        let limit = request
            .limit
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, self.limits.search_max_limit);
        // One more than asked tells whether another page exists.
        let mut found = self
            .store
            .search(user_id, request.channel_id, &query, after, limit + 1)
            .await
            .map_err(|e| internal("search failed", e))?;
        let more = found.len() > limit as usize;
        found.truncate(limit as usize);
        let next_cursor = more
            .then(|| found.last().map(|m| m.id.uuid().to_string()))
            .flatten();
        let results = found
            .into_iter()
            .map(|message| SearchHit {
                snippet: query.snippet(&message.text),
                message,
            })
            .collect();
        Ok(SearchPage {
            results,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parameters_are_read_and_bad_ones_refused() {
        let r = SearchRequest::from_params(&params(&[("q", "deploy"), ("limit", "5")])).unwrap();
        assert_eq!(r.q, "deploy");
        assert_eq!(r.limit, Some(5));
        assert!(SearchRequest::from_params(&params(&[("limit", "0")])).is_err());
        assert!(SearchRequest::from_params(&params(&[("limit", "x")])).is_err());
        assert!(SearchRequest::from_params(&params(&[("channel_id", "nope")])).is_err());
        assert!(parse_cursor("garbage").is_err());
    }
}
