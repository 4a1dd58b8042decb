//! Pieces more than one page uses: the bilingual layout, the admin navigation, the number-list
//! input with its table of left-out lines, and the refusal with its way to sign in.

mod admin_nav;
pub mod layout;
mod number_list;
mod refusal;

pub use admin_nav::AdminNav;
pub use number_list::{LeftOut, NumberListInput, pasted_count};
pub use refusal::Refusal;
