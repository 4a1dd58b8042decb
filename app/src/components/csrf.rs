//! The session's CSRF token in every admin form: a page that has forms calls [`provide_csrf`]
//! once, and each form holds a [`CsrfField`], a hidden `csrf` input that the server checks on
//! every server function that changes something (with or without JavaScript).

use crate::admin::sign_in::{AdminError, csrf_token};
use leptos::prelude::*;

/// The page's token, read once per page.
#[derive(Clone, Copy)]
pub struct CsrfToken(Resource<Result<Option<String>, AdminError>>);

/// Reads the session's token for this page's forms.
pub fn provide_csrf() {
    provide_context(CsrfToken(Resource::new(|| (), |_| csrf_token())));
}

/// The hidden `csrf` input of a form.
#[component]
pub fn CsrfField() -> impl IntoView {
    let token = use_context::<CsrfToken>();
    view! {
        <Suspense fallback=|| ()>
            {move || token.and_then(|CsrfToken(token)| token.get()).map(|token| {
                let value = token.ok().flatten().unwrap_or_default();
                view! { <input type="hidden" name="csrf" value=value /> }
            })}
        </Suspense>
    }
}
