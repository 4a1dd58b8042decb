//! The reactivation campaign's report (`/{lang}/marketing-report`, signed-in admins and
//! viewers): what was sent, who came back in each group and whether the difference means
//! anything, revenue and cost, and the searchable, paged list of returned patients. The filters
//! live in the URL (`?from=&to=&search=&page=`), so the page works without JavaScript.

use super::{MarketingError, Report, ReportQuery, Verdict, load_campaign_report};
use crate::admin::sign_in::SignOut;
use crate::components::CsrfField;
use crate::format;
use crate::i18n::{t, t_string, use_i18n};
use leptos::prelude::*;
use leptos_i18n::Locale as _;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

/// Shows what the reactivation campaign sent and who came back.
#[component]
pub fn MarketingReportPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let read = query.read();
        let text = |key: &str| read.get(key).filter(|v| !v.trim().is_empty());
        ReportQuery {
            from: text("from"),
            to: text("to"),
            search: text("search"),
            page: read.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
            per_page: 50,
        }
    });
    let report = Resource::new(move || filter.get(), load_campaign_report);
    let lang = move || i18n.get_locale().as_str().to_owned();
    let sign_out = ServerAction::<SignOut>::new();

    view! {
        <section class="marketing-report" aria-labelledby="report-title">
            <crate::components::AdminNav />
            <div class="report-head">
                <h1 id="report-title">{t!(i18n, marketing_report.title)}</h1>
                <ActionForm action=sign_out attr:class="sign-out">
                    <CsrfField />
                    <input type="hidden" name="lang" value=lang />
                    <button type="submit">{t!(i18n, admin.sign_out)}</button>
                </ActionForm>
            </div>
            <Form method="GET" action="" attr:class="report-filter">
                <label>
                    <span>{t!(i18n, marketing_report.from)}</span>
                    <input type="date" name="from" value=move || filter.get().from.unwrap_or_default() />
                </label>
                <label>
                    <span>{t!(i18n, marketing_report.to)}</span>
                    <input type="date" name="to" value=move || filter.get().to.unwrap_or_default() />
                </label>
                <label>
                    <span>{t!(i18n, marketing_report.search)}</span>
                    <input
                        type="search"
                        name="search"
                        placeholder=move || t_string!(i18n, marketing_report.search_placeholder)
                        value=move || filter.get().search.unwrap_or_default()
                    />
                </label>
                <button type="submit">{t!(i18n, marketing_report.apply)}</button>
            </Form>
            <Transition fallback=move || {
                view! { <p class="loading">{t!(i18n, marketing_report.loading)}</p> }
            }>
                {move || {
                    report
                        .get()
                        .map(|result| match result {
                            Ok(report) => view! { <ReportView report=report page=filter.get().page /> }.into_any(),
                            Err(error) => view! { <ReportProblem error=error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn ReportProblem(error: MarketingError) -> impl IntoView {
    let i18n = use_i18n();
    let href = format!("/{}/admin/sign-in", i18n.get_locale_untracked().as_str());
    match error {
        MarketingError::Unauthenticated => view! {
            <p class="notice" role="alert">
                {t!(i18n, admin.signed_out_needed)} " "
                <a href=href>{t!(i18n, admin.go_sign_in)}</a>
            </p>
        }
        .into_any(),
        MarketingError::BadDate => {
            view! { <p class="form-error" role="alert">{t!(i18n, marketing_report.bad_date)}</p> }
                .into_any()
        }
        MarketingError::Unexpected(_) => {
            view! { <p class="form-error" role="alert">{t!(i18n, marketing_report.unexpected)}</p> }
                .into_any()
        }
    }
}

#[component]
fn ReportView(report: Report, page: u32) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let money =
        |halalas: i64, currency: &str| format::money(locale, halalas as f64 / 100.0, currency);
    let points = |share: f64| format::percent(locale, share);
    let verdict = match report.lift.verdict {
        Verdict::TooSmall => t_string!(i18n, marketing_report.verdict_too_small).to_string(),
        Verdict::NotSignificant => t_string!(
            i18n,
            marketing_report.verdict_not_significant,
            low = points(report.lift.low),
            high = points(report.lift.high)
        )
        .to_string(),
        Verdict::Significant => t_string!(
            i18n,
            marketing_report.verdict_significant,
            low = points(report.lift.low),
            high = points(report.lift.high)
        )
        .to_string(),
    };
    let currency = report.currency.clone();
    let cost_per_return = report
        .cost_per_return
        .map(|cost| format::money(locale, cost, &currency))
        .unwrap_or_else(|| "—".to_owned());
    let cards = vec![
        (
            t_string!(i18n, marketing_report.sent).to_owned(),
            format::count(locale, report.messages.sent),
        ),
        (
            t_string!(i18n, marketing_report.delivered).to_owned(),
            format::count(locale, report.messages.delivered),
        ),
        (
            t_string!(i18n, marketing_report.failed).to_owned(),
            format::count(locale, report.messages.failed),
        ),
        (
            t_string!(i18n, marketing_report.asked_to_book).to_owned(),
            format::count(locale, report.asked_to_book),
        ),
        (
            t_string!(i18n, marketing_report.returned).to_owned(),
            format::count(locale, report.messaged.returned),
        ),
        (
            t_string!(i18n, marketing_report.rate).to_owned(),
            points(report.messaged.rate),
        ),
        (
            t_string!(i18n, marketing_report.holdout_rate).to_owned(),
            points(report.holdout.rate),
        ),
        (
            t_string!(i18n, marketing_report.lift).to_owned(),
            points(report.lift.difference),
        ),
        (
            t_string!(i18n, marketing_report.revenue).to_owned(),
            money(report.revenue_halalas, &currency),
        ),
        (
            t_string!(i18n, marketing_report.cost_per_return).to_owned(),
            cost_per_return,
        ),
    ];
    let total = report.returned_total;
    let has_next = i64::from(page) * 50 < total;
    let page_link = move |page: u32| {
        let mut params = vec![format!("page={page}")];
        let query = leptos_router::hooks::use_query_map().get_untracked();
        for key in ["from", "to", "search"] {
            if let Some(value) = query.get(key).filter(|v| !v.is_empty()) {
                params.push(format!("{key}={}", format::query_value(&value)));
            }
        }
        format!("?{}", params.join("&"))
    };
    let csv_link = {
        let query = leptos_router::hooks::use_query_map().get_untracked();
        let params: Vec<String> = ["from", "to", "search"]
            .iter()
            .filter_map(|key| {
                query
                    .get(key)
                    .filter(|v| !v.is_empty())
                    .map(|value| format!("{key}={}", format::query_value(&value)))
            })
            .collect();
        format!("/api/v1/marketing/returned.csv?{}", params.join("&"))
    };
    let rows = report.returned.clone();
    let by_doctor = report.by_doctor.clone();
    view! {
        <div class="report-cards">
            {cards
                .into_iter()
                .map(|(label, value)| {
                    view! {
                        <div class="report-card">
                            <span class="label">{label}</span>
                            <span class="value">{value}</span>
                        </div>
                    }
                })
                .collect_view()}
        </div>
        <p class="verdict">{verdict}</p>
        <h2>{t!(i18n, marketing_report.by_doctor)}</h2>
        <ul class="by-doctor">
            {by_doctor
                .into_iter()
                .map(|doctor| {
                    let currency = currency.clone();
                    view! {
                        <li>
                            {doctor.doctor_name.unwrap_or_default()} ": "
                            {money(doctor.revenue_halalas, &currency)}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <h2>{t!(i18n, marketing_report.list_title)}</h2>
        <p class="total">{t!(i18n, marketing_report.total, count = format::count(locale, total))}</p>
        <p><a href=csv_link download rel="external">{t!(i18n, marketing_report.csv)}</a></p>
        {if rows.is_empty() {
            view! { <p class="none">{t!(i18n, marketing_report.none)}</p> }.into_any()
        } else {
            let currency = currency.clone();
            view! {
                <table class="returned">
                    <thead>
                        <tr>
                            <th scope="col">{t!(i18n, marketing_report.col_name)}</th>
                            <th scope="col">{t!(i18n, marketing_report.col_mobile)}</th>
                            <th scope="col">{t!(i18n, marketing_report.col_contacted)}</th>
                            <th scope="col">{t!(i18n, marketing_report.col_returned)}</th>
                            <th scope="col">{t!(i18n, marketing_report.col_doctor)}</th>
                            <th scope="col">{t!(i18n, marketing_report.col_revenue)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows
                            .into_iter()
                            .map(|row| {
                                let name = match locale {
                                    crate::i18n::Locale::en => row.name_en.clone().unwrap_or(row.name_ar.clone()),
                                    crate::i18n::Locale::ar => row.name_ar.clone(),
                                };
                                view! {
                                    <tr>
                                        <td>{name}</td>
                                        <td dir="ltr">{row.mobile_masked}</td>
                                        <td>{format::digits(locale, row.contacted_at.get(..10).unwrap_or_default())}</td>
                                        <td>{format::digits(locale, row.returned_at.get(..10).unwrap_or_default())}</td>
                                        <td>{row.doctor_name.unwrap_or_default()}</td>
                                        <td>{money(row.revenue_halalas, &currency)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }}
        <nav class="pages">
            {(page > 1).then(|| view! { <a href=page_link(page - 1)>{t!(i18n, marketing_report.previous)}</a> })}
            {has_next.then(|| view! { <a href=page_link(page + 1)>{t!(i18n, marketing_report.next)}</a> })}
        </nav>
    }
}
