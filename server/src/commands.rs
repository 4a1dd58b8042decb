//! The command-line jobs: each a thin call into the same service the scheduler runs.

use crate::cli::{ListArgs, RunArgs, SendManualArgs};
use crate::clinic::Clinic;
use crate::config::Config;
use crate::messaging::outbox::{self, ListFilter, NewMessage, Outcome, Timers};
use crate::messaging::{Kind, Messaging, RunReport};
use crate::phone::Mobile;
use crate::{jobs, messaging, store};
use anyhow::Context;
use std::sync::Arc;

/// Builds the messaging services for a one-off command. Messages it queues are scheduled in
/// the job store, so a running server sends them at their times.
pub async fn messaging(config: &Config) -> anyhow::Result<Messaging> {
    let clock = config.clock()?;
    let db = store::open(&config.database_url).await?;
    let clinic = Clinic::from_url(
        config.clinic_url.as_ref(),
        usize::from(config.clinic_pool_size),
        config.clinic_timeout(),
    )
    .context("NABD_CLINIC_URL cannot be used")?;
    let store = jobs::open_store(&config.messaging.jobs_url(&config.database_url)).await?;
    let timers: Arc<dyn Timers> = Arc::new(jobs::StoreTimers::new(&store));
    messaging::build(config, db, clinic, clock, Some(timers)).map_err(anyhow::Error::msg)
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
pub async fn send_reminders(config: &Config, args: &RunArgs) -> anyhow::Result<()> {
    let messaging = messaging(config).await?;
    let report = crate::reminders::run(&messaging, args.dry_run)
        .await
        .context("the reminder run failed")?;
    print_run(&report, args.dry_run);
    Ok(())
}

/// `nabd feedback send`.
pub async fn send_feedback(config: &Config, args: &RunArgs) -> anyhow::Result<()> {
    let messaging = messaging(config).await?;
    let report = crate::feedback::run(&messaging, args.dry_run)
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
        kind: Kind::Manual,
        to: to.clone(),
        body: body.to_owned(),
        language: messaging.language,
        template_key: Some("manual".to_owned()),
        params: vec![body.to_owned()],
        key,
        not_before: now,
        expires_at: None,
        clinic_day: clock.today(),
        batch: None,
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
        state: args.state.clone(),
        to: None,
        limit: args.limit,
    };
    let rows = outbox::list(&db, &filter).await?;
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
