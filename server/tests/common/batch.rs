//! A batch of manual messages queued in a shared outbox from outside any server, as an admin's
//! command would: one row per message, each with a timer in the job store, so that whichever
//! `nabd serve` shares the databases sends them.

use chrono::{DateTime, Utc};
use nabd::messaging::outbox::{NewMessage, Outbox};
use nabd::messaging::{Kind, Language};
use nabd::platform::phone::{Mobile, Region};
use nabd::platform::store::Db;
use std::sync::Arc;
use std::time::Duration;

/// Queues `count` manual messages ("message 0", "message 1", ...) to distinct numbers, keyed
/// `manual:<prefix>:<n>`, all due at `at`, in the app database `app_db` with their timers in the
/// job store `jobs_url`; returns the app database and the messages' ids.
pub async fn queue_manual(
    app_db: &str,
    jobs_url: &str,
    prefix: &str,
    count: usize,
    at: DateTime<Utc>,
) -> anyhow::Result<(Db, Vec<i64>)> {
    let db = nabd::platform::store::open(app_db).await?;
    let store = nabd::jobs::open_store(jobs_url).await?;
    let clock = nabd::platform::clock::Clock::system(chrono_tz::Asia::Riyadh);
    let instance =
        nabd::platform::instance::Instance::start(&db, clock, Duration::from_secs(5)).await?;
    let config = <nabd::cli::Cli as clap::Parser>::parse_from(["nabd"]).config;
    let outbox = Outbox::new(
        db.clone(),
        nabd::messaging::provider::Provider::Log,
        clock,
        Arc::new(config.messaging),
        Some(Arc::new(nabd::jobs::StoreTimers::new(&store))),
        instance,
    );
    let messages = (0..count)
        .map(|n| {
            let to = Mobile::parse(&format!("05{:08}", 10_000_000 + n), Region::default())?;
            Ok(NewMessage::free_text(
                Kind::Manual,
                to,
                format!("message {n}"),
                Language::En,
                format!("manual:{prefix}:{n}"),
                at,
                clock.today(),
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let queued = outbox.enqueue(&messages).await?;
    Ok((db, queued.into_iter().map(|q| q.id).collect()))
}
