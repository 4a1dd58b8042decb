//! The line under a list of times saying which time zone they are in.

use crate::format;
use crate::i18n::{t, use_i18n};
use leptos::prelude::*;

/// Says that the times shown are the clinic's, naming the offset of `sample` (one of them, as
/// the server wrote it); nothing when there is no time to go by.
#[component]
pub fn ClinicTime(sample: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    sample.as_deref().and_then(format::utc_offset).map(|zone| {
        let zone = format::digits(locale, &zone);
        view! { <p class="clinic-time">{t!(i18n, admin.clinic_time, zone = zone)}</p> }
    })
}
