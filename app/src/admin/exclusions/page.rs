//! The do-not-contact list (`/{lang}/admin/exclusions`, admins): add a number (checked as you
//! type, normalised by the server), search, page through and restore. Forms post to server
//! functions, so the page also works without JavaScript.

use super::{AddExclusion, ExclusionError, ExclusionPage, RestoreExclusion, list_exclusions};
use crate::admin::broadcasts::{ImportExclusions, problem as import_problem};
use crate::components::{AdminNav, CsrfField, LeftOut, NumberListInput, Refusal};
use crate::format;
use crate::i18n::{t, t_string, use_i18n};
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

/// Lists and edits the numbers Nabd never messages.
#[component]
pub fn ExclusionsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let search = Memo::new(move |_| query.read().get("search").filter(|s| !s.trim().is_empty()));
    let page = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1)
    });
    let add = ServerAction::<AddExclusion>::new();
    let restore = ServerAction::<RestoreExclusion>::new();
    let import = ServerAction::<ImportExclusions>::new();
    let list = Resource::new(
        move || {
            (
                search.get(),
                page.get(),
                add.version().get(),
                restore.version().get(),
                import.version().get(),
            )
        },
        |(search, page, _, _, _)| list_exclusions(search, page),
    );
    let typed = RwSignal::new(String::new());
    let too_short = move || {
        let digits = typed.get().chars().filter(char::is_ascii_digit).count();
        digits > 0 && digits < 9
    };
    let outcome = move || {
        add.value().get().map(|result| match result {
            Ok(mobile) => view! {
                <p class="form-ok" role="status">
                    {t_string!(i18n, exclusions.added, mobile = mobile).to_string()}
                </p>
            }
            .into_any(),
            Err(error) => {
                view! { <p class="form-error" role="alert">{problem(error)}</p> }.into_any()
            }
        })
    };

    view! {
        <section class="exclusions" aria-labelledby="exclusions-title">
            <AdminNav />
            <h1 id="exclusions-title">{t!(i18n, exclusions.title)}</h1>
            <p>{t!(i18n, exclusions.intro)}</p>
            <ActionForm action=add attr:class="admin-form">
                <CsrfField />
                <label>
                    <span>{t!(i18n, exclusions.mobile)}</span>
                    <input
                        type="tel"
                        name="mobile"
                        required
                        dir="ltr"
                        autocomplete="off"
                        on:input=move |event| typed.set(event_target_value(&event))
                        aria-invalid=move || too_short().to_string()
                    />
                </label>
                {move || too_short().then(|| view! {
                    <p class="form-hint" role="status">{t!(i18n, exclusions.too_short)}</p>
                })}
                <label>
                    <span>{t!(i18n, exclusions.reason)}</span>
                    <input type="text" name="reason" />
                </label>
                <button type="submit" disabled=move || add.pending().get()>
                    {move || if add.pending().get() {
                        t_string!(i18n, exclusions.adding)
                    } else {
                        t_string!(i18n, exclusions.add)
                    }}
                </button>
                {outcome}
            </ActionForm>
            <details class="import">
                <summary>{t!(i18n, exclusions.import_title)}</summary>
                <p>{t!(i18n, exclusions.import_intro)}</p>
                <ActionForm action=import attr:class="admin-form">
                    <CsrfField />
                    <NumberListInput />
                    <label>
                        <span>{t!(i18n, exclusions.import_reason)}</span>
                        <input type="text" name="reason" />
                    </label>
                    <button type="submit" disabled=move || import.pending().get()>
                        {move || if import.pending().get() {
                            t_string!(i18n, exclusions.importing)
                        } else {
                            t_string!(i18n, exclusions.import)
                        }}
                    </button>
                    {move || import.value().get().map(|result| match result {
                        Ok(outcome) => {
                            let locale = i18n.get_locale_untracked();
                            view! {
                                <p class="form-ok" role="status">
                                    {t_string!(
                                        i18n,
                                        exclusions.imported,
                                        added = format::count(locale, outcome.added),
                                        already = format::count(locale, outcome.already),
                                        invalid = format::count(locale, outcome.invalid_count)
                                    )
                                    .to_string()}
                                </p>
                                <LeftOut
                                    title=t_string!(i18n, broadcast.invalid_title).to_owned()
                                    rows=outcome.invalid
                                    total=outcome.invalid_count
                                    kind="invalid"
                                    locale=locale
                                />
                            }
                            .into_any()
                        }
                        Err(error) => view! {
                            <p class="form-error" role="alert">{import_problem(&error)}</p>
                        }
                        .into_any(),
                    })}
                </ActionForm>
            </details>
            <Form method="GET" action="" attr:class="report-filter">
                <label>
                    <span>{t!(i18n, exclusions.search)}</span>
                    <input type="search" name="search" dir="ltr" value=move || search.get().unwrap_or_default() />
                </label>
                <button type="submit">{t!(i18n, exclusions.apply)}</button>
            </Form>
            <Transition fallback=|| ()>
                {move || list.get().map(|result| match result {
                    Ok(page) => view! { <ExclusionTable page=page restore=restore /> }.into_any(),
                    Err(error) => {
                        let sign_in = matches!(error, ExclusionError::Unauthenticated);
                        view! { <Refusal message=problem(error) sign_in /> }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

fn problem(error: ExclusionError) -> String {
    let i18n = use_i18n();
    match error {
        ExclusionError::InvalidMobile(_) => t_string!(i18n, exclusions.invalid).to_owned(),
        ExclusionError::Forbidden => t_string!(i18n, exclusions.forbidden).to_owned(),
        ExclusionError::Unauthenticated => t_string!(i18n, admin.signed_out_needed).to_owned(),
        ExclusionError::NotFound | ExclusionError::Unexpected(_) => {
            t_string!(i18n, exclusions.unexpected).to_owned()
        }
    }
}

#[component]
fn ExclusionTable(page: ExclusionPage, restore: ServerAction<RestoreExclusion>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let total = page.total;
    if page.items.is_empty() {
        return view! { <p class="none">{t!(i18n, exclusions.none)}</p> }.into_any();
    }
    view! {
        <p class="total">{t!(i18n, exclusions.total, count = format::count(locale, total))}</p>
        <table class="returned exclusion-list">
            <thead>
                <tr>
                    <th scope="col">{t!(i18n, exclusions.col_mobile)}</th>
                    <th scope="col">{t!(i18n, exclusions.col_reason)}</th>
                    <th scope="col">{t!(i18n, exclusions.col_source)}</th>
                    <th scope="col">{t!(i18n, exclusions.col_added)}</th>
                    <th scope="col"></th>
                </tr>
            </thead>
            <tbody>
                {page
                    .items
                    .into_iter()
                    .map(|item| {
                        view! {
                            <tr>
                                <td dir="ltr">{item.mobile}</td>
                                <td>{item.reason.unwrap_or_default()}</td>
                                <td>{item.source}</td>
                                <td>{format::digits(locale, item.added_at.get(..10).unwrap_or_default())}</td>
                                <td>
                                    <ActionForm action=restore attr:class="inline-form">
                                        <CsrfField />
                                        <input type="hidden" name="id" value=item.id />
                                        <button type="submit">{t!(i18n, exclusions.restore)}</button>
                                    </ActionForm>
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
