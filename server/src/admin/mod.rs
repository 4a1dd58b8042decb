//! The admin area's rules, with no HTTP in them: users with argon2id password hashes and a role
//! ([`users`], [`roles`]: who may do what), sessions kept in the app database ([`sessions`]),
//! sign-in attempts limited per IP and per username ([`limiter`]), and the audit log
//! ([`audit`]).

pub mod audit;
pub mod limiter;
pub mod roles;
pub mod sessions;
pub mod users;

pub use audit::audit;
pub use limiter::AttemptLimiter;
pub use roles::{Permission, Role};
pub use sessions::{
    Activity, Lifetime, NewSession, SessionUser, SignInError, session, sign_in, sign_out,
};
pub use users::{UserError, create_user, hash_password, set_password, verify_password};
