//! The inbox (`/{lang}/admin/inbox`, admins): conversations by number, newest first, filtered
//! (`?filter=needs_action|confirmations|all`) and searched (`?q=`), and the open conversation
//! (`?m=<number>`): its thread, "mark handled" and the reply box with the time left in the
//! reply window. New replies appear without a reload.

use super::{
    Conversation, ConversationSummary, InboxError, MarkHandled, ReplyTo, list_conversations,
    open_conversation,
};
use crate::admin::messages::page::kind_label;
use crate::components::{AdminNav, ClinicTime, CsrfField, Refusal, use_poll};
use crate::format;
use crate::i18n::{Locale, t, t_string, use_i18n};
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

/// How often the list and the open thread are read again while the page is visible.
const EVERY: std::time::Duration = std::time::Duration::from_secs(4);

const FILTERS: [&str; 3] = ["needs_action", "confirmations", "all"];

/// An intent in the page's language.
pub(crate) fn intent_label(intent: &str) -> String {
    let i18n = use_i18n();
    match intent {
        "confirm" => t_string!(i18n, inbox.intents.confirm),
        "cancel" => t_string!(i18n, inbox.intents.cancel),
        "reschedule" => t_string!(i18n, inbox.intents.reschedule),
        "book" => t_string!(i18n, inbox.intents.book),
        "stop" => t_string!(i18n, inbox.intents.stop),
        "question" => t_string!(i18n, inbox.intents.question),
        _ => t_string!(i18n, inbox.intents.other),
    }
    .to_owned()
}

fn filter_label(filter: &str) -> String {
    let i18n = use_i18n();
    match filter {
        "confirmations" => t_string!(i18n, inbox.filters.confirmations),
        "all" => t_string!(i18n, inbox.filters.all),
        _ => t_string!(i18n, inbox.filters.needs_action),
    }
    .to_owned()
}

pub(crate) fn problem(error: &InboxError) -> String {
    let i18n = use_i18n();
    match error {
        InboxError::Unauthenticated => t_string!(i18n, admin.signed_out_needed),
        InboxError::Forbidden => t_string!(i18n, exclusions.forbidden),
        InboxError::BadFilter => t_string!(i18n, inbox.errors.bad_filter),
        InboxError::BadNumber => t_string!(i18n, inbox.errors.bad_number),
        InboxError::BadDate => t_string!(i18n, inbox.errors.bad_date),
        InboxError::NotFound => t_string!(i18n, inbox.errors.not_found),
        InboxError::EmptyReply => t_string!(i18n, inbox.errors.empty_reply),
        InboxError::TooLong => t_string!(i18n, inbox.errors.too_long),
        InboxError::WindowClosed => t_string!(i18n, inbox.errors.window_closed),
        InboxError::Unexpected(_) => t_string!(i18n, messages.unexpected),
    }
    .to_owned()
}

/// A stored instant (`2026-01-05T09:00:00.000Z`) as the page shows it.
pub(crate) fn when(locale: Locale, text: &str) -> String {
    format::digits(locale, &text.get(..16).unwrap_or(text).replace('T', " "))
}

fn link(filter: &str, q: &str, mobile: Option<&str>) -> String {
    let mut params = vec![format!("filter={filter}")];
    if !q.is_empty() {
        params.push(format!("q={}", format::query_value(q)));
    }
    if let Some(mobile) = mobile {
        params.push(format!("m={}", format::query_value(mobile)));
    }
    format!("?{}", params.join("&"))
}

/// The inbox.
#[component]
pub fn InboxPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        query
            .read()
            .get("filter")
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "needs_action".to_owned())
    });
    let search = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let open = Memo::new(move |_| query.read().get("m").filter(|m| !m.is_empty()));
    let tick = use_poll(EVERY);
    let handled = ServerAction::<MarkHandled>::new();
    let reply = ServerAction::<ReplyTo>::new();
    let list = Resource::new(
        move || {
            (
                filter.get(),
                search.get(),
                tick.get(),
                handled.version().get(),
                reply.version().get(),
            )
        },
        |(filter, q, tick, _, _)| {
            list_conversations(Some(filter), Some(q).filter(|q| !q.is_empty()), tick > 0)
        },
    );
    let thread = Resource::new(
        move || {
            (
                open.get(),
                tick.get(),
                handled.version().get(),
                reply.version().get(),
            )
        },
        |(mobile, tick, _, _)| async move {
            match mobile {
                Some(mobile) => open_conversation(mobile, tick > 0).await.map(Some),
                None => Ok(None),
            }
        },
    );

    view! {
        <section class="inbox" aria-labelledby="inbox-title">
            <AdminNav />
            <h1 id="inbox-title">{t!(i18n, inbox.title)}</h1>
            <p>{t!(i18n, inbox.intro)}</p>
            <nav class="inbox-filters" aria-label=move || t_string!(i18n, inbox.filter_label)>
                {FILTERS
                    .into_iter()
                    .map(|name| {
                        view! {
                            <a
                                href=move || link(name, &search.get(), None)
                                aria-current=move || (filter.get() == name).then_some("page")
                            >
                                {filter_label(name)}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
            <Form method="GET" action="" attr:class="report-filter inbox-search">
                <input type="hidden" name="filter" value=move || filter.get() />
                <label>
                    <span>{t!(i18n, inbox.search)}</span>
                    <input type="search" name="q" value=move || search.get() />
                </label>
                <button type="submit">{t!(i18n, inbox.search_button)}</button>
            </Form>
            <div class="inbox-panes">
                <Transition fallback=|| ()>
                    {move || list.get().map(|result| match result {
                        Ok(rows) => view! {
                            <ConversationList rows filter=filter.get() q=search.get() open=open.get() />
                        }.into_any(),
                        Err(error) => {
                            let sign_in = matches!(error, InboxError::Unauthenticated);
                            view! { <Refusal message=problem(&error) sign_in /> }.into_any()
                        }
                    })}
                </Transition>
                <Transition fallback=|| ()>
                    {move || thread.get().map(|result| match result {
                        Ok(Some(conversation)) => view! {
                            <Thread conversation handled reply />
                        }.into_any(),
                        Ok(None) => view! {
                            <p class="none thread-empty">{t!(i18n, inbox.pick)}</p>
                        }.into_any(),
                        Err(error) => view! {
                            <p class="form-error" role="alert">{problem(&error)}</p>
                        }.into_any(),
                    })}
                </Transition>
            </div>
        </section>
    }
}

#[component]
fn ConversationList(
    rows: Vec<ConversationSummary>,
    filter: String,
    q: String,
    open: Option<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    if rows.is_empty() {
        return view! { <p class="none">{t!(i18n, inbox.none)}</p> }.into_any();
    }
    let sample = rows.first().map(|row| row.last_at.clone());
    view! {
        <ClinicTime sample />
        <ul class="conversations">
            {rows
                .into_iter()
                .map(|row| {
                    let href = link(&filter, &q, Some(&row.mobile));
                    let current = open.as_deref() == Some(row.mobile.as_str());
                    let name = row.patient_name.clone().unwrap_or_else(|| row.mobile.clone());
                    let unread = (row.unread > 0).then(|| {
                        let label = t_string!(i18n, inbox.unread, count = row.unread).to_string();
                        view! { <span class="unread" aria-label=label>{format::count(locale, row.unread)}</span> }
                    });
                    view! {
                        <li class:current=current class:handled=row.handled data-mobile=row.mobile.clone()>
                            <a href=href aria-current=current.then_some("true")>
                                <strong class="who">{name}</strong>
                                " "
                                <span class="number" dir="ltr">{row.mobile.clone()}</span>
                                " "
                                {row.intent.as_deref().map(|intent| view! {
                                    <span class=format!("intent intent-{intent}")>{intent_label(intent)}</span>
                                })}
                                {unread}
                                <span class="last-text">{row.last_text.clone()}</span>
                                <time>{when(locale, &row.last_at)}</time>
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn Thread(
    conversation: Conversation,
    handled: ServerAction<MarkHandled>,
    reply: ServerAction<ReplyTo>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let summary = conversation.summary.clone();
    let mobile = summary.mobile.clone();
    let name = summary
        .patient_name
        .clone()
        .unwrap_or_else(|| t_string!(i18n, inbox.unknown_patient).to_owned());
    let window = conversation.window.clone();
    let can_reply = !window.applies || window.closes_at.is_some() || window.template_fallback;
    let window_note = match (
        window.applies,
        window.minutes_left,
        window.template_fallback,
    ) {
        (false, _, _) => None,
        (true, Some(minutes), _) => Some(
            t_string!(
                i18n,
                inbox.window_open,
                hours = format::count(locale, minutes / 60),
                minutes = format::count(locale, minutes % 60)
            )
            .to_string(),
        ),
        (true, None, true) => Some(t_string!(i18n, inbox.window_template).to_owned()),
        (true, None, false) => Some(t_string!(i18n, inbox.window_closed).to_owned()),
    };
    let action_error = move || {
        reply
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| handled.value().get().and_then(Result::err))
            .map(|error| view! { <p class="form-error" role="alert">{problem(&error)}</p> })
    };
    let sent = move || {
        matches!(reply.value().get(), Some(Ok(())))
            .then(|| view! { <p class="notice" role="status">{t!(i18n, inbox.reply_sent)}</p> })
    };
    let mobile_for_handled = mobile.clone();
    let mobile_for_reply = mobile.clone();
    view! {
        <article class="thread" aria-labelledby="thread-title" data-mobile=mobile.clone()>
            <header>
                <h2 id="thread-title">{name}</h2>
                <p class="number" dir="ltr">{mobile.clone()}</p>
                {summary.handled.then(|| view! {
                    <p class="handled-note">{t!(i18n, inbox.handled)}</p>
                })}
                {(!summary.handled).then(|| view! {
                    <ActionForm action=handled attr:class="inline-form">
                        <CsrfField />
                        <input type="hidden" name="mobile" value=mobile_for_handled.clone() />
                        <button type="submit">{t!(i18n, inbox.mark_handled)}</button>
                    </ActionForm>
                })}
            </header>
            <ol class="messages-thread">
                {conversation
                    .thread
                    .into_iter()
                    .map(|entry| {
                        let inbound = entry.direction == "in";
                        let about = entry.kind.as_deref().map(|kind| kind_label(locale, kind));
                        let appointment = entry.appointment_id.map(|id| {
                            t_string!(i18n, inbox.appointment, id = format::count(locale, id)).to_string()
                        });
                        view! {
                            <li class=if inbound { "in" } else { "out" } data-type=entry.message_type.clone()>
                                <p class="body">{entry.body}</p>
                                <p class="meta">
                                    <time>{when(locale, &entry.at)}</time>
                                    " · "
                                    {if inbound {
                                        t_string!(i18n, inbox.from_patient).to_owned()
                                    } else {
                                        t_string!(i18n, inbox.from_clinic).to_owned()
                                    }}
                                    {about.map(|about| view! { " · " {about} })}
                                    {appointment.map(|a| view! { " · " {a} })}
                                    {entry.intent.filter(|_| inbound).map(|intent| view! {
                                        " · "
                                        <span class=format!("intent intent-{intent}")>{intent_label(&intent)}</span>
                                    })}
                                </p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            {window_note.map(|note| view! { <p class="window-note">{note}</p> })}
            {action_error}
            {sent}
            {can_reply.then(|| view! {
                <ActionForm action=reply attr:class="reply-form">
                    <CsrfField />
                    <input type="hidden" name="mobile" value=mobile_for_reply.clone() />
                    <label>
                        <span>{t!(i18n, inbox.reply_label)}</span>
                        <textarea name="body" rows="3" maxlength="4096" required></textarea>
                    </label>
                    <button type="submit">{t!(i18n, inbox.reply_button)}</button>
                </ActionForm>
            })}
        </article>
    }
}
