//! The page's state in signals, apart from the components that draw it:
//! the channel list ([`channels`]), the open conversation ([`room`]) and
//! its open thread ([`thread`]).
//! Each is a `Copy` handle provided as context; components read its
//! signals and call its methods. The rules behind the methods are the pure
//! ones of `crate::client`; these modules only keep their data in signals,
//! talk to the server, and perform what the rules ask for. They import no
//! component, so components and state never import each other.

pub mod channels;
pub mod room;
pub mod thread;
