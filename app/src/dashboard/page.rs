//! The public clinic dashboard (`/{lang}/clinic-dashboard`): the KPI cards with their
//! definitions and the doctor filter. Rendered on the server with every number in the HTML
//! (the route waits for the figures), then hydrated; the filter lives in the URL
//! (`?doctor=<id>`), so a link can be shared and the page works without JavaScript.

use crate::dashboard::canvas::ChartCanvas;
use crate::dashboard::{
    ChartOptions, DashboardError, DashboardFigures, DoctorOption, doctor_name, load_dashboard,
};
use crate::format;
use crate::i18n::{t, t_string, use_i18n};
use leptos::prelude::*;
use leptos_i18n::Locale as _;
use leptos_router::components::Form;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

/// Shows the clinic's live figures.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let doctor = Memo::new(move |_| {
        query
            .read()
            .get("doctor")
            .and_then(|id| id.trim().parse::<i64>().ok())
    });
    // Wall-TV mode: larger type, no controls.
    let tv = Memo::new(move |_| query.read().get("tv").is_some_and(|value| value == "1"));
    let figures = Resource::new(
        move || (doctor.get(), i18n.get_locale().as_str().to_owned()),
        |(doctor, lang)| load_dashboard(doctor, lang),
    );
    // When this page last received figures, on the clinic's clock (set in the browser only).
    let updated = RwSignal::new(None::<String>);
    let refreshes = RwSignal::new(0_u32);
    #[cfg(feature = "hydrate")]
    {
        let refreshing = StoredValue::new(false);
        Effect::new(move |_| {
            let Some(Ok(latest)) = figures.get() else {
                return;
            };
            updated.set(Some(clock_in_offset(js_sys::Date::now(), &latest.as_of)));
            refreshes.update(|count| *count += 1);
            if !refreshing.get_value() {
                refreshing.set_value(true);
                let every = std::time::Duration::from_secs(u64::from(latest.refresh_secs.max(2)));
                if let Err(error) = set_interval_with_handle(move || figures.refetch(), every) {
                    leptos::logging::warn!("the dashboard cannot refresh itself: {error:?}");
                }
            }
        });
    }

    view! {
        <section
            class="dashboard"
            class:tv=move || tv.get()
            aria-labelledby="dashboard-title"
            data-refreshes=move || refreshes.get()
        >
            <h1 id="dashboard-title">{t!(i18n, dashboard.title)}</h1>
            <Transition fallback=move || {
                view! { <p class="loading">{t!(i18n, dashboard.loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    match figures.await {
                        Ok(figures) => {
                            view! { <Board figures doctor updated /> }.into_any()
                        }
                        Err(error) => view! { <DashboardProblem error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Returns the wall-clock time (`HH:MM:SS`) of `now_ms` (milliseconds since the Unix epoch) at
/// the UTC offset that `as_of` (RFC 3339) carries: the clinic's, whatever the viewer's.
pub fn clock_in_offset(now_ms: f64, as_of: &str) -> String {
    let offset_minutes = as_of
        .get(19..)
        .and_then(|offset| {
            let sign = match offset.chars().next()? {
                '+' => 1,
                '-' => -1,
                _ => return Some(0),
            };
            let hours: i64 = offset.get(1..3)?.parse().ok()?;
            let minutes: i64 = offset.get(4..6)?.parse().ok()?;
            Some(sign * (hours * 60 + minutes))
        })
        .unwrap_or(0);
    let seconds = (now_ms / 1000.0).floor() as i64 + offset_minutes * 60;
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        of_day / 3600,
        (of_day % 3600) / 60,
        of_day % 60
    )
}

/// Says, in the page's language, why there are no figures.
#[component]
fn DashboardProblem(error: DashboardError) -> impl IntoView {
    let i18n = use_i18n();
    let message = move || match &error {
        DashboardError::ClinicUnavailable => t_string!(i18n, dashboard.error.clinic_unavailable),
        DashboardError::UnknownDoctor => t_string!(i18n, dashboard.error.unknown_doctor),
        DashboardError::Unexpected(_) => t_string!(i18n, dashboard.error.unexpected),
    };
    view! {
        <p class="notice" role="alert">
            {message}
        </p>
    }
}

/// Returns the clinic-local time of day in an RFC 3339 `as_of` (`HH:MM`, or `HH:MM:SS`).
fn as_of_time(as_of: &str, seconds: bool) -> &str {
    as_of
        .get(11..if seconds { 19 } else { 16 })
        .unwrap_or_default()
}

/// The KPI cards and the doctor filter for one set of figures.
#[component]
fn Board(
    figures: DashboardFigures,
    doctor: Memo<Option<i64>>,
    updated: RwSignal<Option<String>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let figures = StoredValue::new(figures);
    let lang = move || i18n.get_locale();
    let currency = move || figures.with_value(|f| f.currency.clone());
    let as_of = move || {
        let time = figures.with_value(|f| format::digits(lang(), as_of_time(&f.as_of, false)));
        t_string!(i18n, dashboard.as_of, time = time).to_string()
    };
    let updated_at = move || {
        let time = updated
            .get()
            .unwrap_or_else(|| figures.with_value(|f| as_of_time(&f.as_of, true).to_owned()));
        let time = format::digits(lang(), &time);
        t_string!(i18n, dashboard.updated_at, time = time).to_string()
    };
    let chosen = move || {
        let id = doctor.get()?;
        figures.with_value(|f| {
            let option = f.doctors.iter().find(|d| d.id == id)?;
            Some((
                doctor_name(lang(), &option.name_ar, option.name_en.as_deref()),
                f.doctor_avg_revenue_per_patient_30d.unwrap_or(0.0),
            ))
        })
    };

    let stale = move || {
        figures.with_value(|f| f.stale).then(|| {
            let time = figures.with_value(|f| format::digits(lang(), as_of_time(&f.as_of, false)));
            view! {
                <p class="notice" role="status" data-testid="stale-warning">
                    {t_string!(i18n, dashboard.stale, time = time).to_string()}
                </p>
            }
        })
    };

    view! {
        {stale}
        <p class="as-of">
            <span>{as_of}</span>
            <span data-testid="updated-at">{updated_at}</span>
        </p>
        <DoctorFilter doctors=figures.with_value(|f| f.doctors.clone()) doctor />
        <h2 class="visually-hidden">{t!(i18n, dashboard.kpis)}</h2>
        <div class="kpis">
            <Kpi
                id="revenue_today"
                label=move || t_string!(i18n, dashboard.kpi.revenue_today.label).to_string()
                definition=move || {
                    t_string!(i18n, dashboard.kpi.revenue_today.definition).to_string()
                }
                value=figures.with_value(|f| f.revenue_today)
                text=move || format::money(lang(), figures.with_value(|f| f.revenue_today), &currency())
            />
            <Kpi
                id="appointments_today"
                label=move || t_string!(i18n, dashboard.kpi.appointments_today.label).to_string()
                definition=move || {
                    t_string!(i18n, dashboard.kpi.appointments_today.definition).to_string()
                }
                value=figures.with_value(|f| f.appointments_today as f64)
                text=move || format::count(lang(), figures.with_value(|f| f.appointments_today))
            />
            <Kpi
                id="avg_revenue_per_patient_30d"
                label=move || {
                    t_string!(i18n, dashboard.kpi.avg_revenue_per_patient.label).to_string()
                }
                definition=move || {
                    t_string!(i18n, dashboard.kpi.avg_revenue_per_patient.definition).to_string()
                }
                value=figures.with_value(|f| f.avg_revenue_per_patient_30d)
                text=move || {
                    format::money(
                        lang(),
                        figures.with_value(|f| f.avg_revenue_per_patient_30d),
                        &currency(),
                    )
                }
            />
            <Kpi
                id="new_patients_this_month"
                label=move || {
                    t_string!(i18n, dashboard.kpi.new_patients_this_month.label).to_string()
                }
                definition=move || {
                    t_string!(i18n, dashboard.kpi.new_patients_this_month.definition).to_string()
                }
                value=figures.with_value(|f| f.new_patients_this_month as f64)
                text=move || format::count(lang(), figures.with_value(|f| f.new_patients_this_month))
            />
            <Kpi
                id="avg_revenue_per_appointment_30d"
                label=move || {
                    t_string!(i18n, dashboard.kpi.avg_revenue_per_appointment.label).to_string()
                }
                definition=move || {
                    t_string!(i18n, dashboard.kpi.avg_revenue_per_appointment.definition)
                        .to_string()
                }
                value=figures.with_value(|f| f.avg_revenue_per_appointment_30d)
                text=move || {
                    format::money(
                        lang(),
                        figures.with_value(|f| f.avg_revenue_per_appointment_30d),
                        &currency(),
                    )
                }
            />
            <Kpi
                id="returning_share_30d"
                label=move || t_string!(i18n, dashboard.kpi.returning_share.label).to_string()
                definition=move || {
                    t_string!(i18n, dashboard.kpi.returning_share.definition).to_string()
                }
                value=figures.with_value(|f| f.returning_share_30d)
                text=move || format::percent(lang(), figures.with_value(|f| f.returning_share_30d))
            />
            {move || {
                chosen()
                    .map(|(name, average)| {
                        let label_name = name.clone();
                        view! {
                            <Kpi
                                id="doctor_avg_revenue_per_patient_30d"
                                label=move || {
                                    t_string!(
                                        i18n, dashboard.kpi.doctor_avg_revenue_per_patient.label,
                                        doctor = label_name.clone()
                                    )
                                        .to_string()
                                }
                                definition=move || {
                                    t_string!(
                                        i18n, dashboard.kpi.doctor_avg_revenue_per_patient.definition
                                    )
                                        .to_string()
                                }
                                value=average
                                text=move || format::money(lang(), average, &currency())
                            />
                        }
                    })
            }}
        </div>
        <DataTables figures />
    }
    // Type-erased: the whole board as one concrete type is deeper than rustc's limits allow.
    .into_any()
}

/// One cell of a chart's table: its text and, for money, the raw value.
#[derive(Clone, Debug, PartialEq)]
struct Cell {
    text: String,
    value: Option<f64>,
}

/// One row of a chart's table: the row header (a month, a doctor, a day) and its cells.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    label: String,
    cells: Vec<Cell>,
}

/// A chart with its numbers as a table beside it: the table is visible without JavaScript
/// and read by screen readers; the chart is drawn in the browser.
#[component]
fn ChartSection(
    key: &'static str,
    #[prop(into)] title: Signal<String>,
    #[prop(into)] option: Signal<String>,
    points: usize,
    #[prop(into)] headers: Signal<Vec<String>>,
    #[prop(into)] rows: Signal<Vec<Row>>,
) -> impl IntoView {
    let title_id = format!("{key}-title");
    let labelled_by = title_id.clone();
    let canvas_id = format!("chart-{}", key.replace('_', "-"));
    view! {
        <section class="chart" data-chart=key aria-labelledby=labelled_by>
            <h2 id=title_id>{title}</h2>
            <ChartCanvas id=canvas_id option points />
            <div class="table-scroll" tabindex="0">
                <table>
                    <caption class="visually-hidden">{title}</caption>
                    <thead>
                        <tr>
                            {move || {
                                headers
                                    .get()
                                    .into_iter()
                                    .map(|header| view! { <th scope="col">{header}</th> })
                                    .collect_view()
                            }}
                        </tr>
                    </thead>
                    <tbody>
                        {move || {
                            rows.get()
                                .into_iter()
                                .map(|row| {
                                    let cells = row
                                        .cells
                                        .into_iter()
                                        .map(|cell| {
                                            view! {
                                                <td data-value=cell.value.map(|v| v.to_string())>
                                                    {cell.text}
                                                </td>
                                            }
                                        })
                                        .collect_view();
                                    view! {
                                        <tr>
                                            <th scope="row">{row.label}</th>
                                            {cells}
                                        </tr>
                                    }
                                })
                                .collect_view()
                        }}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// The three charts, each with its numbers as a table.
#[component]
fn DataTables(figures: StoredValue<DashboardFigures>) -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.get_locale();
    let money = move |value: f64| Cell {
        text: format::money(lang(), value, &figures.with_value(|f| f.currency.clone())),
        value: Some(value),
    };
    let count = move |value: i64| Cell {
        text: format::count(lang(), value),
        value: None,
    };
    let points = |pick: fn(&DashboardFigures) -> usize| figures.with_value(pick);
    let chart = move |pick: fn(&ChartOptions) -> String| {
        Signal::derive(move || {
            figures.with_value(|f| f.charts.as_ref().map(pick).unwrap_or_default())
        })
    };

    view! {
        <div class="charts">
            <ChartSection
                key="monthly_revenue"
                title=move || t_string!(i18n, dashboard.charts.monthly_revenue.title).to_string()
                option=chart(|charts| charts.monthly_revenue.clone())
                points=points(|f| f.monthly_revenue.len())
                headers=move || {
                    vec![
                        t_string!(i18n, dashboard.charts.monthly_revenue.month).to_string(),
                        t_string!(i18n, dashboard.charts.monthly_revenue.revenue).to_string(),
                    ]
                }
                rows=move || {
                    figures.with_value(|f| {
                        f.monthly_revenue
                            .iter()
                            .map(|row| Row {
                                label: format::month(lang(), &row.month),
                                cells: vec![money(row.revenue)],
                            })
                            .collect()
                    })
                }
            />
            <ChartSection
                key="top_doctors"
                title=move || t_string!(i18n, dashboard.charts.top_doctors.title).to_string()
                option=chart(|charts| charts.top_doctors.clone())
                points=points(|f| f.top_doctors.len())
                headers=move || {
                    vec![
                        t_string!(i18n, dashboard.charts.top_doctors.doctor).to_string(),
                        t_string!(i18n, dashboard.charts.top_doctors.revenue).to_string(),
                    ]
                }
                rows=move || {
                    figures.with_value(|f| {
                        f.top_doctors
                            .iter()
                            .map(|row| Row {
                                label: doctor_name(lang(), &row.name_ar, row.name_en.as_deref()),
                                cells: vec![money(row.revenue)],
                            })
                            .collect()
                    })
                }
            />
            <ChartSection
                key="patient_mix"
                title=move || t_string!(i18n, dashboard.charts.patient_mix.title).to_string()
                option=chart(|charts| charts.patient_mix.clone())
                points=points(|f| f.patient_mix.len())
                headers=move || {
                    vec![
                        t_string!(i18n, dashboard.charts.patient_mix.date).to_string(),
                        t_string!(i18n, dashboard.charts.patient_mix.new_patients).to_string(),
                        t_string!(i18n, dashboard.charts.patient_mix.returning_patients)
                            .to_string(),
                    ]
                }
                rows=move || {
                    figures.with_value(|f| {
                        f.patient_mix
                            .iter()
                            .map(|row| Row {
                                label: format::day(lang(), &row.date),
                                cells: vec![count(row.new), count(row.returning)],
                            })
                            .collect()
                    })
                }
            />
        </div>
    }
    .into_any()
}

/// One KPI card. Its definition shows on hover and when the card has keyboard focus, and is
/// the card's accessible description.
#[component]
fn Kpi(
    id: &'static str,
    #[prop(into)] label: Signal<String>,
    #[prop(into)] definition: Signal<String>,
    value: f64,
    #[prop(into)] text: Signal<String>,
) -> impl IntoView {
    let definition_id = format!("{id}-definition");
    let described_by = definition_id.clone();
    view! {
        <article class="kpi" tabindex="0" data-kpi=id aria-describedby=described_by>
            <h3 class="kpi-label">{label}</h3>
            <p class="kpi-value" data-value=value.to_string()>
                {text}
            </p>
            <p class="kpi-definition" id=definition_id role="tooltip">
                {definition}
            </p>
        </article>
    }
}

/// Chooses one doctor (or all) for the per-doctor average. A GET form: it works without
/// JavaScript, and with it the router changes the address without a reload.
#[component]
fn DoctorFilter(doctors: Vec<DoctorOption>, doctor: Memo<Option<i64>>) -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let navigate = use_navigate();
    let path = move || location.pathname.get();
    let on_change = move |event: leptos::ev::Event| {
        let value = event_target_value(&event);
        let target = if value.is_empty() {
            path()
        } else {
            format!("{}?doctor={value}", path())
        };
        navigate(&target, Default::default());
    };
    let options = move || {
        let locale = i18n.get_locale();
        doctors
            .iter()
            .map(|option| {
                let id = option.id;
                let name = doctor_name(locale, &option.name_ar, option.name_en.as_deref());
                view! {
                    <option value=id.to_string() selected=move || doctor.get() == Some(id)>
                        {name}
                    </option>
                }
            })
            .collect_view()
    };

    view! {
        <Form method="GET" action="" attr:class="doctor-filter">
            <label for="doctor">{t!(i18n, dashboard.filter.label)}</label>
            <select id="doctor" name="doctor" on:change=on_change data-testid="doctor-filter">
                <option value="" selected=move || doctor.get().is_none()>
                    {t!(i18n, dashboard.filter.all)}
                </option>
                {options}
            </select>
            <button type="submit" class="secondary">
                {t!(i18n, dashboard.filter.apply)}
            </button>
        </Form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_update_time_is_on_the_clinics_clock() {
        // 2026-01-05T09:00:05Z is 12:00:05 in Riyadh (+03:00).
        let now_ms = 1_767_603_605_000.0;
        assert_eq!(
            clock_in_offset(now_ms, "2026-01-05T12:00:00+03:00"),
            "12:00:05"
        );
        assert_eq!(
            clock_in_offset(now_ms, "2026-01-05T04:00:00-05:00"),
            "04:00:05"
        );
        assert_eq!(clock_in_offset(now_ms, "nonsense"), "09:00:05");
    }
}
