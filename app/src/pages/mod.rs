//! The pages that belong to no feature: the language chooser and the 404. Each feature's page
//! lives in its own folder (`dashboard/page.rs`, `admin/*/page.rs`, ...).

mod home;
mod not_found;

pub use home::HomePage;
pub use not_found::NotFound;
