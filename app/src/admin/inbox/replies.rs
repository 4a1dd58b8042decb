//! The reception's list (`/{lang}/admin/replies?date=YYYY-MM-DD`, admins): the day's
//! appointments whose patients answered, by start time, with the doctor, the patient, what
//! they asked and their words, so that the front desk can update the PMS (Nabd never writes to
//! it). Printable, and as CSV.

use super::page::{intent_label, problem, when};
use super::{DayReplies, InboxError, list_day_replies};
use crate::components::{AdminNav, ClinicTime, Refusal};
use crate::format;
use crate::i18n::{t, use_i18n};
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

/// The reception's list.
#[component]
pub fn RepliesPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let date = Memo::new(move |_| query.read().get("date").filter(|d| !d.is_empty()));
    let day = Resource::new(move || date.get(), list_day_replies);
    view! {
        <section class="replies" aria-labelledby="replies-title">
            <AdminNav />
            <h1 id="replies-title">{t!(i18n, replies.title)}</h1>
            <p class="no-print">{t!(i18n, replies.intro)}</p>
            <Transition fallback=|| ()>
                {move || day.get().map(|result| match result {
                    Ok(day) => view! { <Day day /> }.into_any(),
                    Err(error) => {
                        let sign_in = matches!(error, InboxError::Unauthenticated);
                        view! { <Refusal message=problem(&error) sign_in /> }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// Opens the browser's print dialogue (no inline handler: the page's policy allows none).
fn print(_: leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    if let Err(error) = window().print() {
        leptos::logging::warn!("cannot print: {error:?}");
    }
}

#[component]
fn Day(day: DayReplies) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let tomorrow = day.tomorrow.clone();
    let csv = format!(
        "/api/v1/admin/appointment-replies.csv?date={}",
        format::query_value(&day.date)
    );
    let heading = format::day(locale, &day.date);
    view! {
        <div class="replies-day">
            <nav class="inbox-filters no-print" aria-label="days">
                <a href=format!("?date={}", day.today) aria-current=(day.date == day.today).then_some("page")>
                    {t!(i18n, replies.today)}
                </a>
                <a href=format!("?date={tomorrow}") aria-current=(day.date == tomorrow).then_some("page")>
                    {t!(i18n, replies.tomorrow)}
                </a>
            </nav>
            <Form method="GET" action="" attr:class="report-filter no-print">
                <label>
                    <span>{t!(i18n, replies.date)}</span>
                    <input type="date" name="date" value=day.date.clone() />
                </label>
                <button type="submit">{t!(i18n, replies.show)}</button>
                <a class="button" href=csv download="">{t!(i18n, replies.csv)}</a>
                <button type="button" class="print" on:click=print>{t!(i18n, replies.print)}</button>
            </Form>
            <h2>{heading}</h2>
            {if day.replies.is_empty() {
                view! { <p class="none">{t!(i18n, replies.none)}</p> }.into_any()
            } else {
                let sample = day.replies.first().map(|reply| reply.replied_at.clone());
                view! {
                    <ClinicTime sample />
                    <table class="returned reception">
                        <thead>
                            <tr>
                                <th scope="col">{t!(i18n, replies.col_time)}</th>
                                <th scope="col">{t!(i18n, replies.col_doctor)}</th>
                                <th scope="col">{t!(i18n, replies.col_patient)}</th>
                                <th scope="col">{t!(i18n, replies.col_intent)}</th>
                                <th scope="col">{t!(i18n, replies.col_text)}</th>
                                <th scope="col">{t!(i18n, replies.col_at)}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {day
                                .replies
                                .into_iter()
                                .map(|reply| view! {
                                    <tr data-appointment=reply.appointment_id>
                                        <td>{format::digits(locale, &reply.starts_at)}</td>
                                        <td>{reply.doctor}</td>
                                        <td>
                                            {reply.patient_name}
                                            " "
                                            <span class="number" dir="ltr">{reply.mobile}</span>
                                        </td>
                                        <td class=format!("intent intent-{}", reply.intent)>{intent_label(&reply.intent)}</td>
                                        <td>{reply.text}</td>
                                        <td>{when(locale, &reply.replied_at)}</td>
                                    </tr>
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </div>
    }
}
