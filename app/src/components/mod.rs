//! Pieces more than one page uses: the bilingual layout, the admin navigation and the number-list
//! input with its table of left-out lines.

mod admin_nav;
pub mod layout;
mod number_list;

pub use admin_nav::AdminNav;
pub use number_list::{LeftOut, NumberListInput, pasted_count};
