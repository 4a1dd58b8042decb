//! The admin sign-in page (`/{lang}/admin/sign-in`): a form that posts to the `sign_in` server
//! function, reactive with JavaScript (pending state, the error in the page's language) and a
//! plain form post without it.

use super::{AdminError, SignIn};
use crate::i18n::{t, t_string, use_i18n};
use leptos::prelude::*;
use leptos_i18n::Locale as _;

/// Asks for a username and a password.
#[component]
pub fn SignInPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SignIn>::new();
    let pending = action.pending();
    let lang = move || i18n.get_locale().as_str().to_owned();
    let error = move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| match error {
                AdminError::InvalidCredentials => t_string!(i18n, admin.sign_in.invalid).to_owned(),
                AdminError::Missing => t_string!(i18n, admin.sign_in.missing).to_owned(),
                AdminError::TooMany(minutes) => {
                    t_string!(i18n, admin.sign_in.too_many, minutes = minutes).to_string()
                }
                AdminError::Unexpected(_) => t_string!(i18n, admin.sign_in.unexpected).to_owned(),
            })
    };

    view! {
        <section class="sign-in" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">{t!(i18n, admin.sign_in.title)}</h1>
            <p>{t!(i18n, admin.sign_in.intro)}</p>
            <ActionForm action=action attr:class="admin-form">
                <input type="hidden" name="lang" value=lang />
                <label>
                    <span>{t!(i18n, admin.sign_in.username)}</span>
                    <input
                        type="text"
                        name="username"
                        autocomplete="username"
                        required
                        dir="ltr"
                    />
                </label>
                <label>
                    <span>{t!(i18n, admin.sign_in.password)}</span>
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <button type="submit" disabled=move || pending.get()>
                    {move || {
                        if pending.get() {
                            t_string!(i18n, admin.sign_in.pending)
                        } else {
                            t_string!(i18n, admin.sign_in.submit)
                        }
                    }}
                </button>
                {move || error().map(|message| view! { <p class="form-error" role="alert">{message}</p> })}
            </ActionForm>
        </section>
    }
}
