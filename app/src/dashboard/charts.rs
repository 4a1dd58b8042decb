//! The dashboard's three charts as plain `charming::Chart` values, built from the figures in
//! the page's language. Pure functions (tested as JSON), run on the server only: the page's
//! server function sends each chart as ECharts option JSON beside the figures, and the browser
//! hands it to ECharts after hydration, so charming and its serialisation never reach the
//! WASM bundle. In Arabic the layout mirrors: the category axis runs right to left, the value
//! axis sits on the right, the legend on the left (the browser adds Arabic digits to the value
//! axis and the tooltip, which ECharts formats itself). The page's heading above each chart is
//! its title (ECharts draws none), so it is translated, selectable and read once.

use super::figures::{ChartOptions, DashboardFigures, doctor_name};
use crate::format;
use crate::i18n::{Locale, td_string};
use charming::Chart;
use charming::component::{Axis, Grid, Legend};
use charming::element::{AxisType, Tooltip, Trigger};
use charming::series::Bar;

/// The brand colours, matching the stylesheet.
const BRAND: &str = "#0f766e";
const ACCENT: &str = "#f59e0b";

fn rtl(locale: Locale) -> bool {
    matches!(locale, Locale::ar)
}

fn frame() -> Chart {
    Chart::new()
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .grid(
            Grid::new()
                .left("3%")
                .right("3%")
                .top("12%")
                .bottom("3%")
                .contain_label(true),
        )
        .color(vec![BRAND, ACCENT])
}

fn category_axis(locale: Locale, labels: Vec<String>) -> Axis {
    Axis::new()
        .type_(AxisType::Category)
        .data(labels)
        .inverse(rtl(locale))
}

fn value_axis(locale: Locale) -> Axis {
    Axis::new()
        .type_(AxisType::Value)
        .position(if rtl(locale) { "right" } else { "left" })
}

/// Revenue per month, the 12 months oldest first (in Arabic, oldest at the right).
pub fn monthly_revenue(figures: &DashboardFigures, locale: Locale, series: &str) -> Chart {
    let labels = figures
        .monthly_revenue
        .iter()
        .map(|row| format::month(locale, &row.month))
        .collect();
    let values: Vec<f64> = figures
        .monthly_revenue
        .iter()
        .map(|row| row.revenue)
        .collect();
    frame()
        .x_axis(category_axis(locale, labels))
        .y_axis(value_axis(locale))
        .series(Bar::new().name(series).data(values))
}

/// Revenue per doctor in the last 30 days, highest first.
pub fn top_doctors(figures: &DashboardFigures, locale: Locale, series: &str) -> Chart {
    let labels = figures
        .top_doctors
        .iter()
        .map(|row| doctor_name(locale, &row.name_ar, row.name_en.as_deref()))
        .collect();
    let values: Vec<f64> = figures.top_doctors.iter().map(|row| row.revenue).collect();
    frame()
        .x_axis(category_axis(locale, labels))
        .y_axis(value_axis(locale))
        .series(Bar::new().name(series).data(values))
}

/// New and returning patients' appointments per day for 30 days, stacked.
pub fn patient_mix(
    figures: &DashboardFigures,
    locale: Locale,
    new: &str,
    returning: &str,
) -> Chart {
    let labels = figures
        .patient_mix
        .iter()
        .map(|row| format::day(locale, &row.date))
        .collect();
    let new_values: Vec<i64> = figures.patient_mix.iter().map(|row| row.new).collect();
    let returning_values: Vec<i64> = figures
        .patient_mix
        .iter()
        .map(|row| row.returning)
        .collect();
    let legend_side = if rtl(locale) { "left" } else { "right" };
    frame()
        .legend(
            Legend::new()
                .top("0")
                .right(if rtl(locale) { "auto" } else { "0" })
                .left(legend_side),
        )
        .x_axis(category_axis(locale, labels))
        .y_axis(value_axis(locale))
        .series(Bar::new().name(new).stack("patients").data(new_values))
        .series(
            Bar::new()
                .name(returning)
                .stack("patients")
                .data(returning_values),
        )
}

/// The three charts as ECharts option JSON, labelled in `locale`.
pub fn options(figures: &DashboardFigures, locale: Locale) -> ChartOptions {
    let json = |chart: Chart| serde_json::to_string(&chart).unwrap_or_else(|_| "{}".to_owned());
    ChartOptions {
        monthly_revenue: json(monthly_revenue(
            figures,
            locale,
            td_string!(locale, dashboard.charts.monthly_revenue.revenue),
        )),
        top_doctors: json(top_doctors(
            figures,
            locale,
            td_string!(locale, dashboard.charts.top_doctors.revenue),
        )),
        patient_mix: json(patient_mix(
            figures,
            locale,
            td_string!(locale, dashboard.charts.patient_mix.new_patients),
            td_string!(locale, dashboard.charts.patient_mix.returning_patients),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::figures::{DoctorRevenueRow, MonthRevenue, PatientMixDay};
    use super::*;

    fn figures() -> DashboardFigures {
        DashboardFigures {
            as_of: "2026-01-05T12:00:00+03:00".into(),
            currency: "SAR".into(),
            revenue_today: 0.0,
            appointments_today: 0,
            new_patients_this_month: 0,
            avg_revenue_per_patient_30d: 0.0,
            avg_revenue_per_appointment_30d: 0.0,
            returning_share_30d: 0.0,
            monthly_revenue: (1..=12)
                .map(|m| MonthRevenue {
                    month: format!("2025-{m:02}"),
                    revenue: f64::from(m) * 100.0,
                })
                .collect(),
            top_doctors: vec![DoctorRevenueRow {
                doctor_id: 1,
                name_ar: "د. سارة".into(),
                name_en: Some("Dr. Sara".into()),
                revenue: 500.0,
            }],
            patient_mix: (1..=30)
                .map(|d| PatientMixDay {
                    date: format!("2025-12-{d:02}"),
                    new: 1,
                    returning: 2,
                })
                .collect(),
            doctors: vec![],
            doctor_avg_revenue_per_patient_30d: None,
            refresh_secs: 60,
            stale: false,
            charts: None,
        }
    }

    fn json(chart: &Chart) -> serde_json::Value {
        serde_json::to_value(chart).expect("a chart is JSON")
    }

    #[test]
    fn monthly_revenue_has_twelve_bars_with_localized_month_names() {
        let chart = json(&monthly_revenue(&figures(), Locale::en, "Revenue"));
        assert_eq!(
            chart["series"][0]["data"].as_array().map(Vec::len),
            Some(12)
        );
        assert_eq!(chart["xAxis"]["data"][0], "Jan 2025");
        assert_eq!(chart["series"][0]["data"][11], 1200.0);
        let arabic = json(&monthly_revenue(&figures(), Locale::ar, "الإيرادات"));
        assert_eq!(arabic["xAxis"]["data"][0], "يناير ٢٠٢٥");
    }

    #[test]
    fn arabic_charts_mirror() {
        let english = json(&patient_mix(&figures(), Locale::en, "New", "Returning"));
        let arabic = json(&patient_mix(&figures(), Locale::ar, "جدد", "عائدون"));
        assert_eq!(english["xAxis"]["inverse"], false);
        assert_eq!(arabic["xAxis"]["inverse"], true);
        assert_eq!(arabic["yAxis"]["position"], "right");
        assert_eq!(arabic["legend"]["left"], "left");
    }

    #[test]
    fn the_patient_mix_stacks_thirty_days_of_new_and_returning() {
        let chart = json(&patient_mix(&figures(), Locale::en, "New", "Returning"));
        let series = chart["series"].as_array().expect("series");
        assert_eq!(series.len(), 2);
        assert_eq!(series[0]["data"].as_array().map(Vec::len), Some(30));
        assert_eq!(series[0]["stack"], series[1]["stack"]);
        assert_eq!(chart["xAxis"]["data"][0], "1 Dec");
    }

    #[test]
    fn the_options_the_page_receives_are_labelled_in_its_language() {
        let options = options(&figures(), Locale::ar);
        let mix: serde_json::Value =
            serde_json::from_str(&options.patient_mix).expect("ECharts option JSON");
        assert_eq!(mix["series"][0]["name"], "جدد");
        assert_eq!(mix["xAxis"]["inverse"], true);
        let months: serde_json::Value =
            serde_json::from_str(&options.monthly_revenue).expect("JSON");
        assert_eq!(
            months["series"][0]["data"].as_array().map(Vec::len),
            Some(12)
        );
    }

    #[test]
    fn top_doctors_are_named_in_the_page_language() {
        let chart = json(&top_doctors(&figures(), Locale::ar, "الإيرادات"));
        assert_eq!(chart["xAxis"]["data"][0], "د. سارة");
        assert_eq!(chart["series"][0]["data"][0], 500.0);
    }
}
