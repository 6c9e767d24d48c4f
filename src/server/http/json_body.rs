//! JSON bodies serialized straight from typed values.
//!
//! A handler that answers `Json(json!({ "channels": channels }))` first
//! builds a `serde_json::Value` tree (a map and an owned key per field of
//! every message) and then serializes that tree: the history route spent
//! more time there than reading its rows. [`named`] writes the same
//! `{"<name>": value}` body in one pass from the typed value.

use axum::Json;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A JSON object with one member, `{"<name>": value}`.
#[derive(Debug)]
pub struct Named<T> {
    name: &'static str,
    value: T,
}

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.name, &self.value)?;
        map.end()
    }
}

/// The body `{"<name>": value}`, serialized when the response is built.
pub fn named<T: Serialize>(name: &'static str, value: T) -> Json<Named<T>> {
    Json(Named { name, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_named_member() {
        let Json(body) = named("ids", vec![1, 2]);
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"ids":[1,2]}"#);
    }
}
