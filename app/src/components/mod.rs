//! Pieces more than one page uses: the bilingual layout, the admin navigation, the number-list
//! input with its table of left-out lines, the refusal with its way to sign in, polling, and which time zone a page's times are in.

mod admin_nav;
mod clinic_time;
pub mod csrf;
pub mod layout;
mod number_list;
pub mod poll;
mod refusal;

pub use admin_nav::AdminNav;
pub use clinic_time::ClinicTime;
pub use csrf::CsrfField;
pub use number_list::{LeftOut, NumberListInput, pasted_count};
pub use poll::use_poll;
pub use refusal::Refusal;
