//! The campaign report: what was sent, who came back in each group, whether the difference
//! means anything, what it earned and cost, and the returned patients. Read by the admin area
//! and `nabd marketing report`.

use crate::platform::phone::{Mobile, Region};
use crate::platform::text::csv_cell;
use chrono::NaiveDate;

/// Which batches, and which page of returned patients.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportQuery {
    /// First batch day included.
    pub from: Option<NaiveDate>,
    /// Last batch day included.
    pub to: Option<NaiveDate>,
    /// Part of a returned patient's name or mobile digits.
    pub search: Option<String>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

pub use app::marketing::{DoctorReturn, Group, Lift, MessageCounts, Report, Returned, Verdict};

/// Computes the lift of `messaged` over `holdout` with a normal-approximation (Wald) 95 %
/// interval. Each group needs at least 30 patients and 5 returns and 5 non-returns for it to
/// say anything.
pub fn lift(messaged: &Group, holdout: &Group) -> Lift {
    let difference = messaged.rate - holdout.rate;
    let enough = |g: &Group| g.patients >= 30 && g.returned >= 5 && g.patients - g.returned >= 5;
    let variance = |g: &Group| {
        if g.patients == 0 {
            0.0
        } else {
            g.rate * (1.0 - g.rate) / g.patients as f64
        }
    };
    let margin = 1.96 * (variance(messaged) + variance(holdout)).sqrt();
    let (low, high) = (difference - margin, difference + margin);
    let verdict = if !enough(messaged) || !enough(holdout) {
        Verdict::TooSmall
    } else if low <= 0.0 && high >= 0.0 {
        Verdict::NotSignificant
    } else {
        Verdict::Significant
    };
    Lift {
        difference,
        low,
        high,
        verdict,
    }
}

fn group(patients: i64, returned: i64) -> Group {
    Group {
        patients,
        returned,
        rate: if patients > 0 {
            returned as f64 / patients as f64
        } else {
            0.0
        },
    }
}

/// Builds the report from the app database.
pub async fn build(
    db: &crate::platform::store::Db,
    query: &ReportQuery,
    message_cost: f64,
    currency: &str,
) -> Result<Report, sqlx::Error> {
    let from = query.from.map(|d| d.to_string()).unwrap_or_default();
    let to = query
        .to
        .map(|d| d.to_string())
        .unwrap_or_else(|| "9999-12-31".to_owned());
    // language=SQL
    let (queued, sent, delivered, failed): (i64, i64, i64, i64) = crate::db!(
        db,
        fetch_one,
        sqlx::query_as(
            "SELECT COUNT(*),
                CAST(COALESCE(SUM(m.sent), 0) AS BIGINT),
                CAST(COALESCE(SUM(m.delivered), 0) AS BIGINT),
                CAST(COALESCE(SUM(m.failed), 0) AS BIGINT)
         FROM campaign_patients p
         JOIN campaign_batches b ON b.id = p.batch_id
         JOIN message_outcomes m ON m.message_id = p.message_id
         WHERE b.batch_day >= $1 AND b.batch_day <= $2",
        )
        .bind(&from)
        .bind(&to)
    )?;
    // language=SQL
    let groups: Vec<(i64, i64, i64)> = crate::db!(db, fetch_all, sqlx::query_as(
        "SELECT p.holdout, COUNT(*),
                CAST(COALESCE(SUM(CASE WHEN p.converted_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM campaign_patients p
         JOIN campaign_batches b ON b.id = p.batch_id
         LEFT JOIN message_outcomes m ON m.message_id = p.message_id
         WHERE b.batch_day >= $1 AND b.batch_day <= $2
           AND ((p.holdout = 1 AND p.state = 'held') OR (p.holdout = 0 AND m.sent = 1))
         GROUP BY p.holdout",
    )
    .bind(&from)
    .bind(&to))?;
    let find = |holdout: bool| {
        groups
            .iter()
            .find(|(h, _, _)| (*h == 1) == holdout)
            .map_or_else(Group::default, |(_, n, r)| group(*n, *r))
    };
    let (messaged, holdout) = (find(false), find(true));
    // The funnel step between "messaged" and "returned": patients who asked to book by reply.
    // language=SQL
    let asked_to_book: i64 = crate::db!(
        db,
        fetch_one,
        sqlx::query_scalar(
            "SELECT COUNT(DISTINCT p.id)
         FROM campaign_patients p
         JOIN campaign_batches b ON b.id = p.batch_id
         JOIN message_replies r ON r.message_id = p.message_id
         WHERE b.batch_day >= $1 AND b.batch_day <= $2 AND r.intent = 'book'",
        )
        .bind(&from)
        .bind(&to)
    )?;
    // language=SQL
    let by_doctor: Vec<(Option<i64>, Option<String>, i64, i64)> = crate::db!(db, fetch_all, sqlx::query_as(
        "SELECT p.conversion_doctor_id AS doctor_id, MAX(p.conversion_doctor_name) AS doctor_name,
                COUNT(*) AS returned, CAST(COALESCE(SUM(p.revenue_since_halalas), 0) AS BIGINT) AS revenue_halalas
         FROM campaign_patients p JOIN campaign_batches b ON b.id = p.batch_id
         WHERE b.batch_day >= $1 AND b.batch_day <= $2
           AND p.holdout = 0 AND p.converted_at IS NOT NULL
         GROUP BY p.conversion_doctor_id
         ORDER BY revenue_halalas DESC, doctor_id",
    )
    .bind(&from)
    .bind(&to))?;
    let by_doctor: Vec<DoctorReturn> = by_doctor
        .into_iter()
        .map(
            |(doctor_id, doctor_name, returned, revenue_halalas)| DoctorReturn {
                doctor_id,
                doctor_name,
                returned,
                revenue_halalas,
            },
        )
        .collect();
    let revenue_halalas = by_doctor.iter().map(|d| d.revenue_halalas).sum();
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let digits: String = crate::platform::phone::latin_digits(s)
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            (
                format!("%{s}%"),
                if digits.is_empty() {
                    None
                } else {
                    Some(format!("%{digits}%"))
                },
            )
        });
    let (name_like, digits_like) = search.unwrap_or_default();
    let name_like = if name_like.is_empty() {
        None
    } else {
        Some(name_like)
    };
    // language=SQL
    let returned_total: i64 = crate::db!(db, fetch_one, sqlx::query_scalar(
        "SELECT COUNT(*) FROM campaign_patients p
         JOIN campaign_batches b ON b.id = p.batch_id
         JOIN message_outcomes m ON m.message_id = p.message_id
         WHERE b.batch_day >= $1 AND b.batch_day <= $2
           AND p.holdout = 0 AND p.converted_at IS NOT NULL
           AND ($3 IS NULL OR p.name_ar LIKE $3 OR LOWER(p.name_en) LIKE LOWER($3) OR p.mobile LIKE $4)",
    )
    .bind(&from)
    .bind(&to)
    .bind(&name_like)
    .bind(digits_like.clone().or_else(|| name_like.clone())))?;
    let per_page = i64::from(query.per_page.clamp(1, 200));
    let offset = i64::from(query.page.max(1) - 1) * per_page;
    type Row = (
        i64,
        String,
        Option<String>,
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<i64>,
    );
    // language=SQL
    let rows: Vec<Row> = crate::db!(db, fetch_all, sqlx::query_as(
        "SELECT p.patient_id, p.name_ar, p.name_en, p.mobile, m.sent_at, p.converted_at,
                p.conversion_date, p.conversion_doctor_name, p.revenue_since_halalas
         FROM campaign_patients p
         JOIN campaign_batches b ON b.id = p.batch_id
         JOIN message_outcomes m ON m.message_id = p.message_id
         WHERE b.batch_day >= $1 AND b.batch_day <= $2
           AND p.holdout = 0 AND p.converted_at IS NOT NULL
           AND ($3 IS NULL OR p.name_ar LIKE $3 OR LOWER(p.name_en) LIKE LOWER($3) OR p.mobile LIKE $4)
         ORDER BY p.converted_at DESC, p.id DESC
         LIMIT $5 OFFSET $6",
    )
    .bind(&from)
    .bind(&to)
    .bind(&name_like)
    .bind(digits_like.or_else(|| name_like.clone()))
    .bind(per_page)
    .bind(offset))?;
    let returned = rows
        .into_iter()
        .map(
            |(
                patient_id,
                name_ar,
                name_en,
                mobile,
                sent_at,
                returned_at,
                date,
                doctor,
                revenue,
            )| {
                Returned {
                    patient_id,
                    name_ar,
                    name_en,
                    mobile_masked: Mobile::parse(&mobile, Region::default())
                        .map(|m| m.masked())
                        .unwrap_or_else(|_| "•••".to_owned()),
                    contacted_at: sent_at.unwrap_or_default(),
                    returned_at,
                    appointment_date: date,
                    doctor_name: doctor,
                    revenue_halalas: revenue.unwrap_or(0),
                }
            },
        )
        .collect();
    let cost = sent as f64 * message_cost;
    Ok(Report {
        messages: MessageCounts {
            queued,
            sent,
            delivered,
            failed,
        },
        asked_to_book,
        lift: lift(&messaged, &holdout),
        cost_per_return: (messaged.returned > 0).then(|| cost / messaged.returned as f64),
        messaged,
        holdout,
        revenue_halalas,
        by_doctor,
        message_cost: cost,
        returned_total,
        returned,
        currency: currency.to_owned(),
    })
}

/// Every returned patient of the filter `query` (all pages), for the CSV download.
pub async fn all_returned(
    db: &crate::platform::store::Db,
    query: &ReportQuery,
    message_cost: f64,
    currency: &str,
) -> Result<Vec<Returned>, sqlx::Error> {
    const PAGE: u32 = 200;
    let mut rows = Vec::new();
    for page in 1.. {
        let report = build(
            db,
            &ReportQuery {
                page,
                per_page: PAGE,
                ..query.clone()
            },
            message_cost,
            currency,
        )
        .await?;
        let done = report.returned.len() < PAGE as usize;
        rows.extend(report.returned);
        if done {
            break;
        }
    }
    Ok(rows)
}

/// Writes returned patients as CSV: UTF-8 with a byte-order mark (so spreadsheets read Arabic
/// names right), a header line, CRLF line ends, formulas defused.
pub fn returned_csv(rows: &[Returned]) -> String {
    let mut csv = String::from(
        "\u{feff}name_ar,name_en,mobile,contacted_at,returned_at,appointment_date,doctor,revenue\r\n",
    );
    for row in rows {
        let cells = [
            csv_cell(&row.name_ar),
            csv_cell(row.name_en.as_deref().unwrap_or_default()),
            csv_cell(&row.mobile_masked),
            csv_cell(&row.contacted_at),
            csv_cell(&row.returned_at),
            csv_cell(&row.appointment_date),
            csv_cell(row.doctor_name.as_deref().unwrap_or_default()),
            format!("{:.2}", row.revenue_halalas as f64 / 100.0),
        ];
        csv.push_str(&cells.join(","));
        csv.push_str("\r\n");
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("سارة"), "سارة");
        assert_eq!(csv_cell("Ali, Jr."), "\"Ali, Jr.\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("+966••••••567"), "'+966••••••567");
    }

    #[test]
    fn a_clear_lift_on_enough_patients_is_significant() {
        let result = lift(&group(500, 100), &group(500, 50));
        assert!((result.difference - 0.10).abs() < 1e-9);
        assert!(result.low > 0.0 && result.high < 0.2);
        assert_eq!(result.verdict, Verdict::Significant);
    }

    #[test]
    fn overlapping_rates_are_not_significant() {
        let result = lift(&group(100, 12), &group(100, 10));
        assert!(result.low < 0.0 && result.high > 0.0);
        assert_eq!(result.verdict, Verdict::NotSignificant);
    }

    #[test]
    fn small_groups_are_too_small_to_mean_anything() {
        assert_eq!(
            lift(&group(20, 10), &group(5, 0)).verdict,
            Verdict::TooSmall
        );
        assert_eq!(
            lift(&group(500, 3), &group(500, 1)).verdict,
            Verdict::TooSmall
        );
        assert_eq!(lift(&group(0, 0), &group(0, 0)).verdict, Verdict::TooSmall);
    }
}
