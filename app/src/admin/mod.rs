//! The admin area's features, each its DTOs, ssr port, server functions and page: signing in,
//! the do-not-contact list, the message log and broadcasts.

pub mod broadcasts;
pub mod exclusions;
pub mod inbox;
pub mod messages;
pub mod sign_in;
