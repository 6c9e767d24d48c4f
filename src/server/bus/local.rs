//! The bus of a single server (SQLite, or Postgres used by one process
//! only by choice): nothing to tell, nobody to hear.

use async_trait::async_trait;

use super::server_id::ServerId;
use super::{Bus, BusError, BusEvent, BusSubscription};

/// A bus with no other servers: publishing drops the event.
#[derive(Debug)]
pub struct LocalBus {
    id: ServerId,
}

impl LocalBus {
    /// A bus for this server alone.
    pub fn new(id: ServerId) -> Self {
        LocalBus { id }
    }
}

#[async_trait]
impl Bus for LocalBus {
    fn server_id(&self) -> ServerId {
        self.id
    }

    fn publish(&self, _event: BusEvent) {}

    async fn publish_now(&self, _event: BusEvent) {}

    async fn subscribe(&self) -> Result<Option<Box<dyn BusSubscription>>, BusError> {
        Ok(None)
    }
}
