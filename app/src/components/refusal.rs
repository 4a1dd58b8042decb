//! A refusal on an admin page, said in the page's language, with a link to the sign-in page
//! when signing in is the way out.

use crate::i18n::{t, use_i18n};
use leptos::prelude::*;
use leptos_i18n::Locale as _;

/// Shows `message` as an alert; `sign_in` adds the link to the sign-in page.
#[component]
pub fn Refusal(message: String, sign_in: bool) -> impl IntoView {
    let i18n = use_i18n();
    let href = format!("/{}/admin/sign-in", i18n.get_locale_untracked().as_str());
    view! {
        <p class="notice" role="alert">
            {message} " "
            {sign_in.then(|| view! { <a href=href>{t!(i18n, admin.go_sign_in)}</a> })}
        </p>
    }
}
