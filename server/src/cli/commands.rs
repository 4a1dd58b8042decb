//! The command-line jobs: each a thin call into the same service the scheduler runs.

use crate::campaign::{self, Campaign};
use crate::cli::{ListArgs, RemindersArgs, ReportArgs, RunArgs, SendManualArgs};
use crate::config::Config;
use crate::gateway::clinic::Clinic;
use crate::messaging::outbox::log::{self, ListFilter};
use crate::messaging::outbox::{NewMessage, Outcome, Timers};
use crate::messaging::{Kind, Messaging, RunReport};
use crate::platform::phone::Mobile;
use crate::platform::store;
use crate::{jobs, messaging};
use anyhow::Context;
use std::sync::Arc;

/// The instance a command that sends registered, to be marked stopped when it ends.
static COMMAND_INSTANCE: std::sync::OnceLock<crate::platform::instance::Instance> =
    std::sync::OnceLock::new();

/// Marks the command's instance stopped, if it registered one: its claims are abandoned at
/// once, and `nabd db copy` need not wait for its heartbeat to go stale.
pub async fn finish() {
    if let Some(instance) = COMMAND_INSTANCE.get()
        && let Err(error) = instance.stop().await
    {
        tracing::warn!(%error, "this command's instance could not be marked stopped");
    }
}

/// Builds the messaging services for a one-off command. Messages it queues are scheduled in
/// the job store, so a running server sends them at their times.
pub async fn messaging(config: &Config) -> anyhow::Result<Messaging> {
    let clock = config.clock()?;
    let db = store::open(&config.database_url).await?;
    let clinic = Clinic::from_config(config).context("NABD_CLINIC_URL cannot be used")?;
    let store = jobs::open_store(&config.messaging.jobs_url(&config.database_url)).await?;
    let timers: Arc<dyn Timers> = Arc::new(jobs::StoreTimers::new(&store));
    // A command that sends claims messages like a server does, so it beats like one while it
    // runs (its claims are abandoned only once it has stopped beating).
    let heartbeat = std::time::Duration::from_secs(config.heartbeat_secs);
    let instance = crate::platform::instance::Instance::start(&db, clock, heartbeat).await?;
    let _ = COMMAND_INSTANCE.set(instance.clone());
    tokio::spawn({
        let instance = instance.clone();
        async move {
            instance
                .keep_beating(tokio_util::sync::CancellationToken::new())
                .await;
        }
    });
    messaging::setup::build(config, db, clinic, clock, Some(timers), instance)
        .map_err(anyhow::Error::msg)
}

fn print_run(report: &RunReport, dry_run: bool) {
    println!("{report}");
    if dry_run {
        println!("dry run: nothing was queued");
    } else if !report.planned.is_empty() {
        println!("the server's job runtime sends them at the times shown");
    }
}

/// `nabd reminders send`.
pub async fn send_reminders(config: &Config, args: &RemindersArgs) -> anyhow::Result<()> {
    let messaging = messaging(config).await?;
    let report = crate::messaging::reminders::run(&messaging, args.touch, args.dry_run)
        .await
        .context("the reminder run failed")?;
    print_run(&report, args.dry_run);
    Ok(())
}

/// `nabd feedback send`.
pub async fn send_feedback(config: &Config, args: &RunArgs) -> anyhow::Result<()> {
    let messaging = messaging(config).await?;
    let report = crate::messaging::feedback::run(&messaging, args.dry_run)
        .await
        .context("the feedback run failed")?;
    print_run(&report, args.dry_run);
    Ok(())
}

/// `nabd marketing send-manual`: queues one message and sends it at once.
pub async fn send_manual(config: &Config, args: &SendManualArgs) -> anyhow::Result<()> {
    let messaging = messaging(config).await?;
    let to = Mobile::parse(&args.mobile, messaging.region)
        .map_err(|error| anyhow::anyhow!("{:?} cannot be messaged: {error}", args.mobile))?;
    let body = args.message.trim();
    anyhow::ensure!(!body.is_empty(), "the message is empty");
    let clock = messaging.outbox.clock();
    let now = clock.real_now();
    let key = format!("manual:{}:{}", to.digits(), now.timestamp_micros());
    let message = NewMessage {
        template_key: Some("manual".to_owned()),
        ..NewMessage::free_text(
            Kind::Manual,
            to.clone(),
            body.to_owned(),
            messaging.language,
            key,
            now,
            clock.today(),
        )
    };
    let queued = messaging.outbox.enqueue(&[message]).await?;
    let id = queued
        .first()
        .map(|q| q.id)
        .context("the message was not queued")?;
    match messaging.outbox.deliver(id).await? {
        Outcome::Sent => println!("message {id} sent to {to}"),
        Outcome::Retrying(at) => {
            println!("message {id} not sent yet (the provider is not ready); it is retried at {at}")
        }
        Outcome::Deferred(at) => {
            println!("message {id} waits for the sending hours; it goes at {at}")
        }
        Outcome::Failed(reason) => anyhow::bail!("message {id} failed: {reason}"),
        Outcome::Skipped(reason) => anyhow::bail!("message {id} not sent: {reason}"),
        Outcome::NotDue | Outcome::AlreadyHandled => println!("message {id} is queued"),
    }
    Ok(())
}

/// `nabd outbox list`.
pub async fn list_outbox(config: &Config, args: &ListArgs) -> anyhow::Result<()> {
    let db = store::open(&config.database_url).await?;
    let filter = ListFilter {
        kind: args.kind,
        state: args.state,
        to: None,
        limit: args.limit,
    };
    let rows = log::list(&db, &filter).await?;
    for row in &rows {
        if args.json {
            println!("{}", serde_json::to_string(row)?);
        } else {
            println!(
                "{:>6}  {:<9}  {:<10}  {:<14}  {}  {}",
                row.id,
                row.kind,
                row.state,
                row.to,
                row.scheduled_at,
                row.error.as_deref().unwrap_or("")
            );
        }
    }
    if !args.json {
        println!("{} messages", rows.len());
    }
    Ok(())
}

async fn campaign(config: &Config) -> anyhow::Result<Campaign> {
    let messaging = messaging(config).await?;
    Campaign::new(messaging, config.campaign.clone()).map_err(|error| anyhow::anyhow!("{error}"))
}

/// `nabd marketing select-daily-batch`.
pub async fn select_batch(config: &Config) -> anyhow::Result<()> {
    let campaign = campaign(config).await?;
    let report = campaign::select::run(&campaign)
        .await
        .context("selecting today's batch failed")?;
    println!("{report}");
    Ok(())
}

/// `nabd marketing queue-staged-messages`.
pub async fn queue_staged(config: &Config) -> anyhow::Result<()> {
    let campaign = campaign(config).await?;
    let report = campaign::queue::run(&campaign)
        .await
        .context("queueing the staged messages failed")?;
    println!("{report}");
    Ok(())
}

/// `nabd marketing track-conversions`.
pub async fn track_conversions(config: &Config) -> anyhow::Result<()> {
    let campaign = campaign(config).await?;
    let report = campaign::track::run(&campaign)
        .await
        .context("tracking conversions failed")?;
    println!("{report}");
    Ok(())
}

/// `nabd marketing report`.
pub async fn campaign_report(config: &Config, args: &ReportArgs) -> anyhow::Result<()> {
    let db = store::open(&config.database_url).await?;
    let query = campaign::report::ReportQuery {
        from: args.from,
        to: args.to,
        search: args.search.clone(),
        page: args.page,
        per_page: 50,
    };
    let report = campaign::report::build(
        &db,
        &query,
        config.campaign.campaign_message_cost,
        &config.currency,
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let money = |halalas: i64| format!("{:.2} {}", halalas as f64 / 100.0, config.currency);
    println!(
        "messages: {} queued, {} sent, {} delivered, {} failed",
        report.messages.queued,
        report.messages.sent,
        report.messages.delivered,
        report.messages.failed
    );
    println!(
        "messaged: {} of {} returned ({:.1} %); control: {} of {} ({:.1} %)",
        report.messaged.returned,
        report.messaged.patients,
        report.messaged.rate * 100.0,
        report.holdout.returned,
        report.holdout.patients,
        report.holdout.rate * 100.0
    );
    println!(
        "lift: {:+.1} points (95 % interval {:+.1} to {:+.1}): {:?}",
        report.lift.difference * 100.0,
        report.lift.low * 100.0,
        report.lift.high * 100.0,
        report.lift.verdict
    );
    println!(
        "revenue from returned patients: {}; messages cost {:.2} {}{}",
        money(report.revenue_halalas),
        report.message_cost,
        config.currency,
        report
            .cost_per_return
            .map(|c| format!(", {c:.2} {} per returned patient", config.currency))
            .unwrap_or_default()
    );
    for doctor in &report.by_doctor {
        println!(
            "  {}: {} returned, {}",
            doctor.doctor_name.as_deref().unwrap_or("?"),
            doctor.returned,
            money(doctor.revenue_halalas)
        );
    }
    println!("returned patients ({} in all):", report.returned_total);
    for patient in &report.returned {
        println!(
            "  {}  {}  contacted {}  booked {}  for {}  {}  {}",
            patient.name_ar,
            patient.mobile_masked,
            patient.contacted_at,
            patient.returned_at,
            patient.appointment_date,
            patient.doctor_name.as_deref().unwrap_or(""),
            money(patient.revenue_halalas)
        );
    }
    Ok(())
}

/// Reads a password: without echo from a terminal (asked twice), else one line of standard
/// input.
fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (10 characters or more): ")?;
        let second = rpassword::prompt_password("The same password again: ")?;
        anyhow::ensure!(first == second, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// `nabd admin create-user`.
pub async fn create_user(config: &Config, args: &crate::cli::CreateUserArgs) -> anyhow::Result<()> {
    let db = store::open(&config.database_url).await?;
    let password = read_password()?;
    let now = config.clock()?.real_now();
    let id = crate::admin::create_user(&db, &args.username, &password, args.role, now).await?;
    crate::admin::audit(
        &db,
        None,
        "user_created",
        &format!("{} ({})", args.username.trim(), args.role.as_str()),
        now,
    )
    .await?;
    println!(
        "user {} created (id {id}, role {})",
        args.username.trim(),
        args.role.as_str()
    );
    Ok(())
}

/// `nabd admin set-password`.
pub async fn set_password(
    config: &Config,
    args: &crate::cli::SetPasswordArgs,
) -> anyhow::Result<()> {
    let db = store::open(&config.database_url).await?;
    let password = read_password()?;
    crate::admin::set_password(&db, &args.username, &password).await?;
    crate::admin::audit(
        &db,
        None,
        "password_set",
        args.username.trim(),
        config.clock()?.real_now(),
    )
    .await?;
    println!(
        "password of {} set; their sessions ended",
        args.username.trim()
    );
    Ok(())
}

/// `nabd db copy`.
pub async fn copy_database(config: &Config, args: &crate::cli::CopyArgs) -> anyhow::Result<()> {
    let heartbeat = std::time::Duration::from_secs(config.heartbeat_secs);
    let now = config.clock()?.real_now();
    let copied =
        crate::platform::transfer::copy(&args.from, &args.to, args.replace, heartbeat, now).await?;
    for table in &copied {
        println!("{:<24} {:>9} rows", table.table, table.rows);
    }
    println!(
        "copied {} tables from {} to {}; every row count matches",
        copied.len(),
        store::redact(&args.from),
        store::redact(&args.to)
    );
    Ok(())
}

/// `nabd backup --out FILE`: a consistent copy of the SQLite app database, taken while Nabd
/// runs.
pub async fn backup(config: &Config, args: &crate::cli::BackupArgs) -> anyhow::Result<()> {
    let db = store::open(&config.database_url).await?;
    let made = crate::platform::backup::backup(&db, &args.out).await;
    db.close().await;
    let made = made?;
    println!(
        "wrote {} ({} bytes; activity up to {})",
        made.path.display(),
        made.bytes,
        made.latest_activity.as_deref().unwrap_or("none")
    );
    Ok(())
}

/// `nabd restore`: a backup over the app database, or (`--in-place`) the marking of a database
/// restored by other means.
pub async fn restore(config: &Config, args: &crate::cli::RestoreArgs) -> anyhow::Result<()> {
    use crate::platform::backup::{self, RestoreOptions};
    let options = RestoreOptions {
        force: args.force,
        resume: args.resume,
        heartbeat: std::time::Duration::from_secs(config.heartbeat_secs),
        now: config.clock()?.real_now(),
    };
    let restored = match &args.from {
        Some(from) => backup::restore(from, &config.database_url, options).await?,
        None => {
            let db = store::open(&config.database_url).await?;
            let restored = backup::restore_in_place(&db, options).await;
            db.close().await;
            restored?
        }
    };
    println!(
        "restored {} (activity up to {}): {} unfinished messages are now uncertain (decide \
         each in the message log), {} stay queued",
        store::redact(&config.database_url),
        restored.backup_activity.as_deref().unwrap_or("none"),
        restored.uncertain,
        restored.kept_queued
    );
    Ok(())
}

/// `nabd check [--json]`: prints the report; an error (non-zero exit) when something failed.
pub async fn check(config: &Config, args: &crate::cli::CheckArgs) -> anyhow::Result<()> {
    let report = crate::check::run(config).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    match report.failures() {
        0 => Ok(()),
        n => Err(anyhow::anyhow!("nabd check found {n} problem(s)")),
    }
}
