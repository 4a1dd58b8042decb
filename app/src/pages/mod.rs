//! The pages, one module each. Each feature's page grows in its own module.

mod broadcast;
mod dashboard;
mod exclusions;
mod home;
mod marketing_report;
mod messages;
mod not_found;
mod sign_in;

pub use broadcast::{
    BroadcastPage, BroadcastsPage, LeftOut, NumberListInput, problem as broadcast_problem,
};
pub use dashboard::{DashboardPage, clock_in_offset, doctor_name};
pub use exclusions::{AdminNav, ExclusionsPage};
pub use home::HomePage;
pub use marketing_report::MarketingReportPage;
pub use messages::MessagesPage;
pub use not_found::NotFound;
pub use sign_in::SignInPage;
