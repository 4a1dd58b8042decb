//! The message log (`/{lang}/admin/messages`, admins): every outbox message with filters in the
//! URL (`?kind=&state=&to=`), its state and delivery status, and the decision on an
//! `uncertain` one (it was sent, or send it again).

use super::{LogEntry, LogError, LogFilter, MessageState, ResolveMessage, list_messages};
use crate::components::{AdminNav, ClinicTime, CsrfField, Refusal};
use crate::format;
use crate::i18n::{Locale, t, t_string, use_i18n};
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

const KINDS: [&str; 6] = [
    "reminder",
    "feedback",
    "campaign",
    "broadcast",
    "manual",
    "reply",
];

/// A message kind in the page's language (the log's and the inbox's).
pub(crate) fn kind_label(locale: Locale, kind: &str) -> String {
    let i18n = use_i18n();
    let _ = locale;
    match kind {
        "reminder" => t_string!(i18n, messages.kinds.reminder),
        "feedback" => t_string!(i18n, messages.kinds.feedback),
        "campaign" => t_string!(i18n, messages.kinds.campaign),
        "broadcast" => t_string!(i18n, messages.kinds.broadcast),
        "manual" => t_string!(i18n, messages.kinds.manual),
        "reply" => t_string!(i18n, messages.kinds.reply),
        other => return other.to_owned(),
    }
    .to_owned()
}

/// The kind in the page's language, with the touch for a reminder ("Reminder, day before").
fn kind_and_touch(locale: Locale, kind: &str, touch: Option<&str>) -> String {
    let i18n = use_i18n();
    let touch = match touch {
        Some("day_before") => Some(t_string!(i18n, messages.touches.day_before)),
        Some("same_day") => Some(t_string!(i18n, messages.touches.same_day)),
        _ => None,
    };
    match touch {
        Some(touch) => t_string!(
            i18n,
            messages.kind_with_touch,
            kind = kind_label(locale, kind),
            touch = touch
        )
        .to_string(),
        None => kind_label(locale, kind),
    }
}

/// Why a message was not sent, in the page's language; other notes as they are.
fn note(error: &str) -> String {
    let i18n = use_i18n();
    match error {
        "appointment_changed" => t_string!(i18n, messages.reasons.appointment_changed),
        "do_not_contact" => t_string!(i18n, messages.reasons.do_not_contact),
        "expired" => t_string!(i18n, messages.reasons.expired),
        "expired: outside sending hours" => t_string!(i18n, messages.reasons.closed_until_expiry),
        other => return other.to_owned(),
    }
    .to_owned()
}

fn state_label(state: &str) -> String {
    let i18n = use_i18n();
    match state {
        "queued" => t_string!(i18n, messages.states.queued),
        "sending" => t_string!(i18n, messages.states.sending),
        "sent" => t_string!(i18n, messages.states.sent),
        "failed" => t_string!(i18n, messages.states.failed),
        "uncertain" => t_string!(i18n, messages.states.uncertain),
        "skipped" => t_string!(i18n, messages.states.skipped),
        "cancelled" => t_string!(i18n, messages.states.cancelled),
        other => return other.to_owned(),
    }
    .to_owned()
}

/// Lists the outbox.
#[component]
pub fn MessagesPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let read = query.read();
        let text = |key: &str| read.get(key).filter(|v| !v.trim().is_empty());
        LogFilter {
            kind: text("kind"),
            state: text("state"),
            to: text("to"),
        }
    });
    let resolve = ServerAction::<ResolveMessage>::new();
    let log = Resource::new(
        move || (filter.get(), resolve.version().get()),
        |(filter, _)| list_messages(filter.kind, filter.state, filter.to),
    );
    let selected = move |key: &'static str, value: &'static str| {
        move || match key {
            "kind" => filter.get().kind.as_deref() == Some(value),
            _ => filter.get().state.as_deref() == Some(value),
        }
    };
    let locale = i18n.get_locale_untracked();

    view! {
        <section class="messages" aria-labelledby="messages-title">
            <AdminNav />
            <h1 id="messages-title">{t!(i18n, messages.title)}</h1>
            <p>{t!(i18n, messages.intro)}</p>
            <Form method="GET" action="" attr:class="report-filter">
                <label>
                    <span>{t!(i18n, messages.kind)}</span>
                    <select name="kind">
                        <option value="">{t!(i18n, messages.any)}</option>
                        {KINDS
                            .into_iter()
                            .map(|kind| view! {
                                <option value=kind selected=selected("kind", kind)>{kind_label(locale, kind)}</option>
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    <span>{t!(i18n, messages.state)}</span>
                    <select name="state">
                        <option value="">{t!(i18n, messages.any)}</option>
                        {MessageState::ALL
                            .into_iter()
                            .map(MessageState::as_str)
                            .map(|state| view! {
                                <option value=state selected=selected("state", state)>{state_label(state)}</option>
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    <span>{t!(i18n, messages.number)}</span>
                    <input type="tel" name="to" dir="ltr" value=move || filter.get().to.unwrap_or_default() />
                </label>
                <button type="submit">{t!(i18n, messages.apply)}</button>
            </Form>
            {move || resolve.value().get().and_then(Result::err).map(|error| view! {
                <p class="form-error" role="alert">{problem(error)}</p>
            })}
            <Transition fallback=|| ()>
                {move || log.get().map(|result| match result {
                    Ok(entries) => view! { <LogTable entries=entries resolve=resolve /> }.into_any(),
                    Err(error) => {
                        let sign_in = matches!(error, LogError::Unauthenticated);
                        view! { <Refusal message=problem(error) sign_in /> }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

fn problem(error: LogError) -> String {
    let i18n = use_i18n();
    match error {
        LogError::Unauthenticated => t_string!(i18n, admin.signed_out_needed).to_owned(),
        LogError::Forbidden => t_string!(i18n, exclusions.forbidden).to_owned(),
        LogError::BadFilter => t_string!(i18n, messages.bad_filter).to_owned(),
        LogError::NotUncertain => t_string!(i18n, messages.not_uncertain).to_owned(),
        LogError::Unexpected(_) => t_string!(i18n, messages.unexpected).to_owned(),
    }
}

#[component]
fn LogTable(entries: Vec<LogEntry>, resolve: ServerAction<ResolveMessage>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    if entries.is_empty() {
        return view! { <p class="none">{t!(i18n, messages.none)}</p> }.into_any();
    }
    let when =
        move |text: &str| format::digits(locale, &text.get(..16).unwrap_or(text).replace('T', " "));
    let sample = entries.first().map(|entry| entry.scheduled_at.clone());
    view! {
        <ClinicTime sample />
        <table class="returned message-log">
            <thead>
                <tr>
                    <th scope="col">{t!(i18n, messages.col_id)}</th>
                    <th scope="col">{t!(i18n, messages.col_kind)}</th>
                    <th scope="col">{t!(i18n, messages.col_to)}</th>
                    <th scope="col">{t!(i18n, messages.col_state)}</th>
                    <th scope="col">{t!(i18n, messages.col_attempts)}</th>
                    <th scope="col">{t!(i18n, messages.col_scheduled)}</th>
                    <th scope="col">{t!(i18n, messages.col_sent)}</th>
                    <th scope="col">{t!(i18n, messages.col_delivery)}</th>
                    <th scope="col">{t!(i18n, messages.col_error)}</th>
                    <th scope="col"></th>
                </tr>
            </thead>
            <tbody>
                {entries
                    .into_iter()
                    .map(|entry| {
                        let uncertain = entry.state == "uncertain";
                        let id = entry.id;
                        view! {
                            <tr title=entry.body.clone()>
                                <td>{format::count(locale, entry.id)}</td>
                                <td>{kind_and_touch(locale, &entry.kind, entry.touch.as_deref())}</td>
                                <td dir="ltr">{entry.to}</td>
                                <td class=format!("state state-{}", entry.state)>{state_label(&entry.state)}</td>
                                <td>{format::count(locale, entry.attempts)}</td>
                                <td>{when(&entry.scheduled_at)}</td>
                                <td>{entry.sent_at.as_deref().map(when).unwrap_or_default()}</td>
                                <td>{entry.delivery_status.unwrap_or_default()}</td>
                                <td>{entry.error.as_deref().map(note).unwrap_or_default()}</td>
                                <td>
                                    {uncertain.then(|| view! {
                                        <ActionForm action=resolve attr:class="inline-form">
                                            <CsrfField />
                                            <input type="hidden" name="id" value=id />
                                            <input type="hidden" name="action" value="sent" />
                                            <button type="submit">{t!(i18n, messages.mark_sent)}</button>
                                        </ActionForm>
                                        <ActionForm action=resolve attr:class="inline-form">
                                            <CsrfField />
                                            <input type="hidden" name="id" value=id />
                                            <input type="hidden" name="action" value="requeue" />
                                            <button type="submit">{t!(i18n, messages.requeue)}</button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
