//! Who is calling: JWT verification (HS256 only), the session cookie of the
//! built-in login, password hashes, and the one function that turns a
//! request's headers into a [`CurrentUser`].

pub mod extract;
pub mod jwt;
pub mod password;
pub mod session;

pub use extract::{authenticate, AuthSource, CurrentUser};
pub use jwt::{Claims, JwtKeys};
