//! Manual broadcasts (admins): `/{lang}/admin/broadcasts` writes one (numbers pasted or read
//! from a CSV file, the message with its character count and a preview) and lists recent ones;
//! `/{lang}/admin/broadcasts/{id}` shows the review (valid, invalid with the reason,
//! duplicates, excluded), confirms it, follows its progress live and cancels the rest.
//! Every form posts to a server function, so the pages work without JavaScript (the CSV file
//! picker, which reads the file in the browser, appears once the page is interactive).

use super::{
    BroadcastError, BroadcastSummary, BroadcastView, CancelBroadcast, MAX_MESSAGE_CHARS,
    ReviewBroadcast, SendBroadcast, list_broadcasts, load_broadcast, problem,
};
use crate::components::{AdminNav, CsrfField, LeftOut, NumberListInput, Refusal};
use crate::format;
use crate::i18n::{t, t_string, use_i18n};
use leptos::prelude::*;
use leptos_i18n::Locale as _;
use leptos_router::hooks::use_params_map;

/// The problem, with a link to the sign-in page when that is the way out.
#[component]
fn Problem(error: BroadcastError) -> impl IntoView {
    let sign_in = matches!(error, BroadcastError::Unauthenticated);
    view! { <Refusal message=problem(&error) sign_in /> }
}

#[component]
pub fn BroadcastsPage() -> impl IntoView {
    let i18n = use_i18n();
    let review = ServerAction::<ReviewBroadcast>::new();
    let recent = Resource::new(|| (), |_| list_broadcasts());
    let message = RwSignal::new(String::new());
    let chars = move || message.get().trim().chars().count();
    let lang = move || i18n.get_locale().as_str().to_owned();
    let error = move || {
        review
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <p class="form-error" role="alert">{problem(&error)}</p> })
    };

    view! {
        <section class="broadcasts" aria-labelledby="broadcasts-title">
            <AdminNav />
            <h1 id="broadcasts-title">{t!(i18n, broadcast.title)}</h1>
            <p>{t!(i18n, broadcast.intro)}</p>
            <ActionForm action=review attr:class="admin-form broadcast-form">
                <CsrfField />
                <input type="hidden" name="lang" value=lang />
                <NumberListInput />
                <label>
                    <span>{t!(i18n, broadcast.message)}</span>
                    <textarea
                        name="message"
                        rows="5"
                        required
                        dir="auto"
                        maxlength=MAX_MESSAGE_CHARS
                        on:input=move |event| message.set(event_target_value(&event))
                    ></textarea>
                </label>
                <p
                    class=move || hint_class(chars() > MAX_MESSAGE_CHARS)
                    aria-live="polite"
                >
                    {move || t_string!(i18n, broadcast.chars, count = format::count(i18n.get_locale(), chars() as i64), max = format::count(i18n.get_locale(), MAX_MESSAGE_CHARS as i64)).to_string()}
                </p>
                {move || (chars() > 0).then(|| view! {
                    <figure class="preview">
                        <figcaption>{t!(i18n, broadcast.preview)}</figcaption>
                        <p class="bubble" dir="auto">{message.get().trim().to_owned()}</p>
                    </figure>
                })}
                <button type="submit" disabled=move || review.pending().get()>
                    {move || if review.pending().get() {
                        t_string!(i18n, broadcast.reviewing)
                    } else {
                        t_string!(i18n, broadcast.review)
                    }}
                </button>
                {error}
            </ActionForm>
            <h2>{t!(i18n, broadcast.recent)}</h2>
            <Transition fallback=|| ()>
                {move || recent.get().map(|result| match result {
                    Ok(list) => view! { <RecentList list=list /> }.into_any(),
                    Err(error) => view! { <Problem error=error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

fn hint_class(over: bool) -> &'static str {
    if over { "form-note over" } else { "form-note" }
}

/// The state in the page's language.
fn state_label(state: &str) -> String {
    let i18n = use_i18n();
    match state {
        "draft" => t_string!(i18n, broadcast.states.draft),
        "sending" => t_string!(i18n, broadcast.states.sending),
        "done" => t_string!(i18n, broadcast.states.done),
        "cancelled" => t_string!(i18n, broadcast.states.cancelled),
        other => return other.to_owned(),
    }
    .to_owned()
}

fn short(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        short.push('…');
    }
    short
}

#[component]
fn RecentList(list: Vec<BroadcastSummary>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    if list.is_empty() {
        return view! { <p class="none">{t!(i18n, broadcast.none)}</p> }.into_any();
    }
    view! {
        <table class="returned broadcast-list">
            <thead>
                <tr>
                    <th scope="col">{t!(i18n, broadcast.col_created)}</th>
                    <th scope="col">{t!(i18n, broadcast.col_by)}</th>
                    <th scope="col">{t!(i18n, broadcast.message)}</th>
                    <th scope="col">{t!(i18n, broadcast.col_state)}</th>
                    <th scope="col">{t!(i18n, broadcast.col_numbers)}</th>
                    <th scope="col">{t!(i18n, broadcast.sent)}</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|item| {
                        let href = format!("/{}/admin/broadcasts/{}", locale.as_str(), item.id);
                        view! {
                            <tr>
                                <td><a href=href>{format::digits(locale, item.created_at.get(..16).unwrap_or_default().replace('T', " ").as_str())}</a></td>
                                <td>{item.created_by}</td>
                                <td dir="auto">{short(&item.body)}</td>
                                <td>{state_label(&item.state)}</td>
                                <td>{format::count(locale, item.valid)}</td>
                                <td>{format::count(locale, item.progress.sent)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// One broadcast: its review, the confirmation, its progress and cancelling.
#[component]
pub fn BroadcastPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    });
    let send = ServerAction::<SendBroadcast>::new();
    let cancel = ServerAction::<CancelBroadcast>::new();
    let tick = RwSignal::new(0_u32);
    let broadcast = Resource::new(
        move || {
            (
                id.get(),
                send.version().get(),
                cancel.version().get(),
                tick.get(),
            )
        },
        |(id, _, _, _)| load_broadcast(id),
    );
    // While messages are going out, look again every two seconds.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(Ok(view)) = broadcast.get()
            && view.state == "sending"
        {
            set_timeout(
                move || tick.update(|tick| *tick += 1),
                std::time::Duration::from_secs(2),
            );
        }
    });
    let action_error = move || {
        send.value()
            .get()
            .and_then(Result::err)
            .or_else(|| cancel.value().get().and_then(Result::err))
            .map(|error| view! { <p class="form-error" role="alert">{problem(&error)}</p> })
    };

    view! {
        <section class="broadcast" aria-labelledby="broadcast-title">
            <AdminNav />
            <h1 id="broadcast-title">{t!(i18n, broadcast.one_title)}</h1>
            <p>
                <a href=move || format!("/{}/admin/broadcasts", i18n.get_locale().as_str())>
                    {t!(i18n, broadcast.back)}
                </a>
            </p>
            {action_error}
            <Transition fallback=|| ()>
                {move || broadcast.get().map(|result| match result {
                    Ok(view) => view! { <Review view=view send=send cancel=cancel /> }.into_any(),
                    Err(error) => view! { <Problem error=error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Review(
    view: BroadcastView,
    send: ServerAction<SendBroadcast>,
    cancel: ServerAction<CancelBroadcast>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let id = view.id;
    let counts = view.counts.clone();
    let progress = view.progress.clone();
    let draft = view.state == "draft";
    let sending = view.state == "sending";
    let created = format::digits(
        locale,
        view.created_at
            .get(..16)
            .unwrap_or_default()
            .replace('T', " ")
            .as_str(),
    );

    view! {
        <p class="meta">
            {t!(i18n, broadcast.written_by, user = view.created_by.clone(), at = created)}
            " · "
            <strong class="state" data-state=view.state.clone()>{state_label(&view.state)}</strong>
        </p>
        <figure class="preview">
            <figcaption>{t!(i18n, broadcast.message)}</figcaption>
            <p class="bubble" dir="auto">{view.body.clone()}</p>
        </figure>
        <dl class="counts review-counts">
            <div data-count="valid">
                <dt>{t!(i18n, broadcast.valid)}</dt>
                <dd>{format::count(locale, counts.valid)}</dd>
            </div>
            <div data-count="invalid">
                <dt>{t!(i18n, broadcast.invalid)}</dt>
                <dd>{format::count(locale, counts.invalid)}</dd>
            </div>
            <div data-count="duplicates">
                <dt>{t!(i18n, broadcast.duplicates)}</dt>
                <dd>{format::count(locale, counts.duplicates)}</dd>
            </div>
            <div data-count="excluded">
                <dt>{t!(i18n, broadcast.excluded)}</dt>
                <dd>{format::count(locale, counts.excluded)}</dd>
            </div>
        </dl>
        {draft.then(|| view! {
            <div class="confirm">
                <ActionForm action=send attr:class="inline-form">
                    <CsrfField />
                    <input type="hidden" name="id" value=id />
                    <button type="submit" class="primary" disabled=move || send.pending().get() || counts.valid == 0>
                        {move || if send.pending().get() {
                            t_string!(i18n, broadcast.sending_now).to_owned()
                        } else {
                            t_string!(i18n, broadcast.send, count = format::count(locale, counts.valid)).to_string()
                        }}
                    </button>
                </ActionForm>
                <ActionForm action=cancel attr:class="inline-form">
                    <CsrfField />
                    <input type="hidden" name="id" value=id />
                    <button type="submit">{t!(i18n, broadcast.discard)}</button>
                </ActionForm>
            </div>
        })}
        {(!draft).then(|| view! {
            <section class="progress" aria-labelledby="progress-title">
                <h2 id="progress-title">{t!(i18n, broadcast.progress)}</h2>
                <dl class="counts" role="status" aria-live="polite">
                    <div data-progress="queued">
                        <dt>{t!(i18n, broadcast.queued)}</dt>
                        <dd>{format::count(locale, progress.queued)}</dd>
                    </div>
                    <div data-progress="sent">
                        <dt>{t!(i18n, broadcast.sent)}</dt>
                        <dd>{format::count(locale, progress.sent)}</dd>
                    </div>
                    <div data-progress="failed">
                        <dt>{t!(i18n, broadcast.failed)}</dt>
                        <dd>{format::count(locale, progress.failed)}</dd>
                    </div>
                    <div data-progress="skipped">
                        <dt>{t!(i18n, broadcast.skipped)}</dt>
                        <dd>{format::count(locale, progress.skipped)}</dd>
                    </div>
                    <div data-progress="cancelled">
                        <dt>{t!(i18n, broadcast.cancelled)}</dt>
                        <dd>{format::count(locale, progress.cancelled)}</dd>
                    </div>
                </dl>
                {(sending && progress.queued > 0).then(|| view! {
                    <ActionForm action=cancel attr:class="inline-form">
                        <CsrfField />
                        <input type="hidden" name="id" value=id />
                        <button type="submit">{t!(i18n, broadcast.cancel_rest)}</button>
                    </ActionForm>
                    <noscript><a href="">{t!(i18n, broadcast.refresh)}</a></noscript>
                })}
            </section>
        })}
        <LeftOut title=t_string!(i18n, broadcast.invalid_title).to_owned() rows=view.invalid total=counts.invalid kind="invalid" locale=locale />
        <LeftOut title=t_string!(i18n, broadcast.duplicates_title).to_owned() rows=view.duplicates total=counts.duplicates kind="duplicate" locale=locale />
        <LeftOut title=t_string!(i18n, broadcast.excluded_title).to_owned() rows=view.excluded total=counts.excluded kind="excluded" locale=locale />
    }
}
