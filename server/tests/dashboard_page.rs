//! The public dashboard page, server-rendered: every KPI in the HTML with the API's value,
//! in both languages, the doctor filter from the URL, translated problems, and no patient data.

mod common;

use chrono::{NaiveDate, NaiveTime};
use clap::Parser;
use nabd::cli::Cli;
use nabd::demo::{SeedOptions, seed};
use nabd::web::Application;
use reqwest::StatusCode;
use std::net::SocketAddr;
use tempfile::TempDir;

struct Served {
    addr: SocketAddr,
    clinic: String,
    _dir: TempDir,
}

impl Served {
    async fn text(&self, path: &str) -> (StatusCode, String) {
        let response = reqwest::get(format!("http://{}{path}", self.addr))
            .await
            .expect("request");
        (response.status(), response.text().await.expect("body"))
    }
}

/// A small demo clinic (dated 2026-01-05) and Nabd serving it with its clock at noon that day.
async fn serve_demo_clinic() -> Served {
    serve_demo_clinic_with(&[]).await
}

async fn serve_demo_clinic_with(extra: &[&str]) -> Served {
    let dir = tempfile::tempdir().expect("temp dir");
    let clinic_path = dir.path().join("clinic.db");
    seed(&SeedOptions {
        out: clinic_path.clone(),
        seed: 3,
        patients: 400,
        today: NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"),
        now: NaiveTime::from_hms_opt(12, 0, 0).expect("time"),
        progress: false,
    })
    .await
    .expect("seeds");
    let clinic = format!("sqlite://{}", clinic_path.display());
    let db = format!("sqlite://{}/nabd.db", dir.path().display());
    let mut args = vec![
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &db,
        "--clinic-url",
        &clinic,
        "--now",
        "2026-01-05T12:00",
    ];
    args.extend_from_slice(extra);
    let addr = common::spawn_nabd(&args).await;
    Served {
        addr,
        clinic,
        _dir: dir,
    }
}

async fn api(served: &Served, query: &str) -> serde_json::Value {
    let (status, body) = served.text(&format!("/api/v1/dashboard{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).expect("json")
}

fn money_en(value: f64) -> String {
    app::format::money(app::i18n::Locale::en, value, "SAR")
}

#[tokio::test]
async fn the_english_board_has_every_kpi_with_the_apis_value_in_its_html() {
    let served = serve_demo_clinic().await;
    let figures = api(&served, "").await;
    let (status, html) = served.text("/en/clinic-dashboard").await;
    assert_eq!(status, StatusCode::OK);
    for kpi in [
        "revenue_today",
        "appointments_today",
        "avg_revenue_per_patient_30d",
        "new_patients_this_month",
        "avg_revenue_per_appointment_30d",
        "returning_share_30d",
    ] {
        let value = figures[kpi].as_f64().expect("a number");
        assert!(
            html.contains(&format!(r#"data-kpi="{kpi}""#)),
            "{kpi} card missing"
        );
        assert!(
            html.contains(&format!(r#"data-value="{value}""#)),
            "{kpi} = {value} not in the page"
        );
    }
    let revenue = figures["revenue_today"].as_f64().expect("number");
    assert!(revenue > 0.0);
    assert!(html.contains(&money_en(revenue)), "{}", money_en(revenue));
    assert!(html.contains("Invoice payments (cash + card) and receipts dated today."));
    assert!(html.contains("Figures as of 12:00"));
}

#[tokio::test]
async fn the_arabic_board_writes_arabic_digits() {
    let served = serve_demo_clinic().await;
    let figures = api(&served, "").await;
    let (_, html) = served.text("/ar/clinic-dashboard").await;
    let appointments = figures["appointments_today"].as_i64().expect("count");
    let arabic = app::format::count(app::i18n::Locale::ar, appointments);
    assert!(html.contains(&arabic), "{arabic} not in the Arabic page");
    assert!(html.contains("إيرادات اليوم"));
    assert!(html.contains(r#"dir="rtl""#));
}

#[tokio::test]
async fn the_doctor_filter_comes_from_the_url() {
    let served = serve_demo_clinic().await;
    let figures = api(&served, "?doctor=2").await;
    let average = figures["doctor_avg_revenue_per_patient_30d"]
        .as_f64()
        .expect("the doctor's average");
    let (_, html) = served.text("/en/clinic-dashboard?doctor=2").await;
    assert!(html.contains(r#"data-kpi="doctor_avg_revenue_per_patient_30d""#));
    assert!(html.contains(&format!(r#"data-value="{average}""#)));
    assert!(html.contains("Dr. Khalid Alqahtani"));
    assert!(
        html.contains(r#"<option value="2" selected"#),
        "the chosen doctor is selected in the filter"
    );

    let (_, unknown) = served.text("/en/clinic-dashboard?doctor=999").await;
    assert!(unknown.contains("There is no such doctor."));
}

#[tokio::test]
async fn a_clinic_database_that_is_down_gives_a_clear_translated_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/nabd.db", dir.path().display());
    let addr = common::spawn_nabd(&[
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &db,
        "--clinic-url",
        "sqlite:///nonexistent/clinic.db",
    ])
    .await;
    let html = reqwest::get(format!("http://{addr}/ar/clinic-dashboard"))
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert!(html.contains("قاعدة بيانات العيادة لا تستجيب الآن"), "{html}");
}

#[tokio::test]
async fn no_patient_name_or_mobile_ever_reaches_the_public_board() {
    let served = serve_demo_clinic().await;
    let (_, english) = served.text("/en/clinic-dashboard?doctor=1").await;
    let (_, arabic) = served.text("/ar/clinic-dashboard").await;
    let (_, json) = served.text("/api/v1/dashboard?doctor=1").await;
    let pool = sqlx::SqlitePool::connect(&served.clinic)
        .await
        .expect("clinic");
    let patients: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT name_a, name_e, mobile FROM patient")
            .fetch_all(&pool)
            .await
            .expect("patients");
    for (name_a, name_e, mobile) in patients {
        for page in [&english, &arabic, &json] {
            assert!(!page.contains(&name_a), "patient name {name_a} leaked");
            if let Some(name) = &name_e {
                assert!(!page.contains(name.as_str()), "patient name {name} leaked");
            }
            if let Some(mobile) = mobile.as_ref().filter(|m| m.len() >= 9) {
                assert!(!page.contains(mobile.as_str()), "mobile {mobile} leaked");
            }
        }
    }
}

#[tokio::test]
async fn every_chart_has_its_numbers_as_a_table() {
    let served = serve_demo_clinic().await;
    let figures = api(&served, "").await;
    let (_, html) = served.text("/en/clinic-dashboard").await;
    let (_, arabic) = served.text("/ar/clinic-dashboard").await;
    let months = figures["monthly_revenue"].as_array().expect("months");
    assert_eq!(months.len(), 12);
    for month in months {
        let name = month["month"].as_str().expect("YYYY-MM");
        let revenue = month["revenue"].as_f64().expect("number");
        assert!(
            html.contains(&app::format::month(app::i18n::Locale::en, name)),
            "{name}"
        );
        assert!(
            arabic.contains(&app::format::month(app::i18n::Locale::ar, name)),
            "{name}"
        );
        assert!(html.contains(&money_en(revenue)), "{name}: {revenue}");
    }
    for doctor in figures["top_doctors"].as_array().expect("doctors") {
        let name = doctor["name_en"]
            .as_str()
            .or(doctor["name_ar"].as_str())
            .expect("a name");
        assert!(html.contains(name), "{name}");
    }
    let mix = figures["patient_mix"].as_array().expect("days");
    assert_eq!(mix.len(), 30);
    let section = html
        .split(r#"data-chart="patient_mix""#)
        .nth(1)
        .expect("the patient mix table");
    assert_eq!(
        section.matches("<tr>").count(),
        31,
        "a header row and 30 days"
    );
}

#[tokio::test]
async fn when_the_clinic_database_fails_the_last_figures_show_with_a_warning() {
    let served = serve_demo_clinic_with(&["--dashboard-ttl-secs", "0"]).await;
    let good = api(&served, "").await;
    assert_eq!(good["stale"], false);

    // The PMS loses a table under Nabd's feet: every dashboard query now fails.
    let pool = sqlx::SqlitePool::connect(&served.clinic)
        .await
        .expect("clinic");
    sqlx::query("DROP TABLE receipts")
        .execute(&pool)
        .await
        .expect("drop");

    let (status, html) = served.text("/en/clinic-dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("The clinic database is not answering. These are the last figures received, as of 12:00."),
        "{html}"
    );
    let revenue = good["revenue_today"].as_f64().expect("number");
    assert!(
        html.contains(&money_en(revenue)),
        "the last good figures are shown"
    );
    let (_, arabic) = served.text("/ar/clinic-dashboard").await;
    assert!(arabic.contains("قاعدة بيانات العيادة لا تستجيب. هذه آخر الأرقام المستلمة"));
    let stale = api(&served, "").await;
    assert_eq!(stale["stale"], true);
}

#[tokio::test]
async fn a_private_dashboard_opens_only_with_its_access_link() {
    let key = "clinic-key-0123456789";
    let served =
        serve_demo_clinic_with(&["--dashboard-access", "token", "--dashboard-token", key]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let url = |path: &str| format!("http://{}{path}", served.addr);

    let anonymous = client
        .get(url("/ar/clinic-dashboard"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        anonymous
            .text()
            .await
            .expect("body")
            .contains("لوحة المؤشرات خاصة")
    );
    let api = client
        .get(url("/api/v1/dashboard"))
        .send()
        .await
        .expect("request");
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let wrong = client
        .get(url("/en/clinic-dashboard?key=not-the-key-at-all"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let link = client
        .get(url(&format!("/en/clinic-dashboard?doctor=2&key={key}")))
        .send()
        .await
        .expect("request");
    assert_eq!(link.status(), StatusCode::SEE_OTHER);
    assert_eq!(link.headers()["location"], "/en/clinic-dashboard?doctor=2");
    let cookie = link.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("name=value").to_owned();

    let page = client
        .get(url("/en/clinic-dashboard?doctor=2"))
        .header("cookie", &pair)
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .expect("body")
            .contains(r#"data-kpi="revenue_today""#)
    );
    let api = client
        .get(url("/api/v1/dashboard"))
        .header("cookie", &pair)
        .send()
        .await
        .expect("request");
    assert_eq!(api.status(), StatusCode::OK);

    let home = client.get(url("/en")).send().await.expect("request");
    assert_eq!(
        home.status(),
        StatusCode::OK,
        "the rest of the site stays open"
    );
}

#[tokio::test]
async fn token_access_without_a_token_refuses_to_start() {
    let cli = Cli::try_parse_from([
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--dashboard-access",
        "token",
    ])
    .expect("arguments");
    let error = Application::build(cli.config).await.err().expect("refused");
    assert!(
        error.to_string().contains("NABD_DASHBOARD_TOKEN"),
        "{error}"
    );
}
