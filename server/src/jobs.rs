//! The job runtime: apalis inside the server process. Cron workers (in the clinic's time zone)
//! start the reminder and feedback runs, the campaign's daily steps and the outbox sweep; a durable queue in SQLite
//! (`NABD_JOBS_URL`, apalis-sqlite) holds one [`Deliver`] job per message at its send time, so
//! scheduled and staggered sends survive restarts and nothing waits by sleeping in a loop.
//! A run never overlaps itself: a tick that finds the previous run still going is skipped.

use crate::config::Schedule;
use crate::messaging::outbox::{Deliver, Outbox, OutboxError, Timers};
use crate::messaging::reminders::Touches;
use crate::messaging::{Messaging, RunError, RunReport};
use apalis::prelude::*;
use apalis_cron::CronScheduler;
use apalis_sqlite::SqliteStorage;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Opening the job store failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the job store {url}")]
pub struct JobStoreError {
    url: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// Opens (creating when missing) the job store at `url` and applies apalis's migrations.
pub async fn open_store(url: &str) -> Result<SqlitePool, JobStoreError> {
    let error = |source: Box<dyn std::error::Error + Send + Sync>| JobStoreError {
        url: url.to_owned(),
        source,
    };
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| error(e.into()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    if let Some(folder) = options.get_filename().parent()
        && !folder.as_os_str().is_empty()
    {
        std::fs::create_dir_all(folder).map_err(|e| error(e.into()))?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| error(e.into()))?;
    SqliteStorage::setup(&pool)
        .await
        .map_err(|e| error(e.into()))?;
    Ok(pool)
}

/// Schedules [`Deliver`] jobs in the job store.
pub struct StoreTimers {
    storage: SqliteStorage<Deliver>,
}

impl StoreTimers {
    /// Returns timers writing to the job store `pool`.
    pub fn new(pool: &SqlitePool) -> Self {
        Self {
            storage: SqliteStorage::new(pool),
        }
    }
}

impl Timers for StoreTimers {
    fn schedule(&self, job: Deliver, at: DateTime<Utc>) -> BoxFuture<'_, Result<(), OutboxError>> {
        let mut storage = self.storage.clone();
        Box::pin(async move {
            let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
            let task = TaskBuilder::new(job).run_at_timestamp(seconds).build();
            storage
                .push_task(task)
                .await
                .map_err(|error| OutboxError::Jobs(Box::new(error)))
        })
    }
}

async fn deliver(job: Deliver, outbox: Data<Outbox>) -> Result<(), BoxDynError> {
    let outcome = outbox.deliver(job.message_id).await?;
    tracing::debug!(message = job.message_id, ?outcome, "delivery job done");
    Ok(())
}

/// How often the delivery worker looks for due messages.
const POLL: Duration = Duration::from_millis(500);

/// Wakes the delivery worker every `period`.
///
/// apalis's own interval strategy replaces a fired timer without polling the new one, so no waker
/// is registered for it. When the fetch that follows answers at once, nothing wakes the worker
/// again until its next heartbeat (30 s): due messages, staggered broadcasts among them, waited
/// up to half a minute. This one re-arms its timer the moment it fires.
struct Every {
    period: Duration,
    timer: futures_timer::Delay,
}

impl Every {
    fn new(period: Duration) -> Self {
        Self {
            period,
            timer: futures_timer::Delay::new(period),
        }
    }
}

impl Clone for Every {
    fn clone(&self) -> Self {
        Self::new(self.period)
    }
}

impl PollStrategy for Every {
    fn poll_drive(
        &mut self,
        cx: &mut std::task::Context<'_>,
        _snapshot: &PollSnapshot,
    ) -> std::task::Poll<Option<()>> {
        use std::pin::Pin;
        if Pin::new(&mut self.timer).poll(cx).is_pending() {
            return std::task::Poll::Pending;
        }
        self.timer.reset(self.period);
        // A fresh deadline is never due yet: this poll only registers the waker.
        let _ = Pin::new(&mut self.timer).poll(cx);
        std::task::Poll::Ready(Some(()))
    }
}

/// Runs `run` unless the previous run of the same job is still going.
async fn once_at_a_time<F, Fut>(name: &str, guard: &Mutex<()>, run: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<RunReport, RunError>>,
{
    let Ok(_running) = guard.try_lock() else {
        tracing::warn!(job = name, "previous run still going; this tick is skipped");
        return;
    };
    match run().await {
        Ok(report) => tracing::info!(
            job = name,
            queued = report.planned.len(),
            already_queued = report.already_queued,
            no_mobile = report.skipped_no_mobile,
            cooldown = report.skipped_cooldown,
            "run finished"
        ),
        // The next tick looks again; nothing queued is lost.
        Err(error) => {
            tracing::error!(job = name, error = %error, cause = ?std::error::Error::source(&error), "run failed")
        }
    }
}

#[derive(Clone)]
struct CronJob {
    messaging: Messaging,
    guard: Arc<Mutex<()>>,
}

async fn reminders_tick(_tick: apalis_cron::Tick<Tz>, job: Data<CronJob>) {
    once_at_a_time("reminders", &job.guard, || {
        crate::messaging::reminders::run(&job.messaging, Touches::All, false)
    })
    .await;
}

async fn feedback_tick(_tick: apalis_cron::Tick<Tz>, job: Data<CronJob>) {
    once_at_a_time("feedback", &job.guard, || {
        crate::messaging::feedback::run(&job.messaging, false)
    })
    .await;
}

#[derive(Clone)]
struct CampaignJob {
    campaign: crate::campaign::Campaign,
    guard: Arc<Mutex<()>>,
}

async fn campaign_step<F, Fut, R>(name: &str, job: &CampaignJob, step: F)
where
    F: FnOnce(crate::campaign::Campaign) -> Fut,
    Fut: Future<Output = Result<R, RunError>>,
    R: std::fmt::Display,
{
    let Ok(_running) = job.guard.try_lock() else {
        tracing::warn!(job = name, "previous run still going; this tick is skipped");
        return;
    };
    match step(job.campaign.clone()).await {
        Ok(report) => tracing::info!(job = name, %report, "run finished"),
        Err(error) => tracing::error!(job = name, error = %error, "run failed"),
    }
}

async fn select_tick(_tick: apalis_cron::Tick<Tz>, job: Data<CampaignJob>) {
    campaign_step("marketing-select", &job, |c| async move {
        crate::campaign::select::run(&c).await
    })
    .await;
}

async fn queue_tick(_tick: apalis_cron::Tick<Tz>, job: Data<CampaignJob>) {
    campaign_step("marketing-queue", &job, |c| async move {
        crate::campaign::queue::run(&c).await
    })
    .await;
}

async fn track_tick(_tick: apalis_cron::Tick<Tz>, job: Data<CampaignJob>) {
    campaign_step("marketing-track", &job, |c| async move {
        crate::campaign::track::run(&c).await
    })
    .await;
}

async fn sweep_tick(_tick: apalis_cron::Tick<Tz>, job: Data<CronJob>) {
    let Ok(_running) = job.guard.try_lock() else {
        return;
    };
    if let Err(error) = job.messaging.outbox.sweep(Duration::from_secs(20)).await {
        tracing::error!(error = %error, "outbox sweep failed");
    }
}

/// Runs the job runtime until `shutdown` completes: the delivery queue and the cron jobs.
pub async fn run(
    campaign: crate::campaign::Campaign,
    store: SqlitePool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BoxDynError> {
    let messaging = campaign.messaging.clone();
    let config = messaging.outbox.config().clone();
    let tz = messaging.outbox.clock().timezone();
    // Nothing of this process can be mid-send yet: whatever was left `sending` died with the
    // previous process.
    messaging.outbox.mark_uncertain(true).await?;
    // Likewise the previous process's delivery worker: apalis refuses to register a worker name
    // seen alive within its heartbeat interval (30 s), and the refused worker never comes back,
    // so a quick restart would stop every delivery. Marked dead, its registration is taken over
    // and the jobs it held are queued again. One `nabd serve` per job store, as for the outbox.
    // language=SQL
    sqlx::query("UPDATE Workers SET last_seen = 0 WHERE id = 'deliver'")
        .execute(&store)
        .await?;
    let outbox = messaging.outbox.clone();
    let delivery_queue = SqliteStorage::<Deliver>::new(&store).poll_with_strategy(Every::new(POLL));
    let cron = |schedule: &Schedule| {
        (
            CronScheduler::new(schedule.0.clone()).with_timezone(tz),
            CronJob {
                messaging: messaging.clone(),
                guard: Arc::new(Mutex::new(())),
            },
        )
    };
    let (reminders_cron, reminders_job) = cron(&config.schedule_reminders);
    let (feedback_cron, feedback_job) = cron(&config.schedule_feedback);
    let (sweep_cron, sweep_job) = cron(&config.schedule_outbox_sweep);
    let marketing = |schedule: &Schedule| {
        (
            CronScheduler::new(schedule.0.clone()).with_timezone(tz),
            CampaignJob {
                campaign: campaign.clone(),
                guard: Arc::new(Mutex::new(())),
            },
        )
    };
    let (select_cron, select_job) = marketing(&campaign.config.schedule_marketing_select);
    let (queue_cron, queue_job) = marketing(&campaign.config.schedule_marketing_queue);
    let (track_cron, track_job) = marketing(&campaign.config.schedule_marketing_track);
    Monitor::new()
        .register(move |_| {
            WorkerBuilder::new("deliver")
                .backend(delivery_queue.clone())
                .data(outbox.clone())
                .build(deliver)
        })
        .register(move |_| {
            WorkerBuilder::new("reminders")
                .backend(reminders_cron.clone())
                .data(reminders_job.clone())
                .build(reminders_tick)
        })
        .register(move |_| {
            WorkerBuilder::new("feedback")
                .backend(feedback_cron.clone())
                .data(feedback_job.clone())
                .build(feedback_tick)
        })
        .register(move |_| {
            WorkerBuilder::new("outbox-sweep")
                .backend(sweep_cron.clone())
                .data(sweep_job.clone())
                .build(sweep_tick)
        })
        .register(move |_| {
            WorkerBuilder::new("marketing-select")
                .backend(select_cron.clone())
                .data(select_job.clone())
                .build(select_tick)
        })
        .register(move |_| {
            WorkerBuilder::new("marketing-queue")
                .backend(queue_cron.clone())
                .data(queue_job.clone())
                .build(queue_tick)
        })
        .register(move |_| {
            WorkerBuilder::new("marketing-track")
                .backend(track_cron.clone())
                .data(track_job.clone())
                .build(track_tick)
        })
        .shutdown_timeout(Duration::from_secs(20))
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Polls `strategy` once when it fires, as the worker does, and reports whether it wakes the
    /// worker again by itself afterwards.
    fn wakes_again_after_firing(mut strategy: impl PollStrategy) -> bool {
        let period = Duration::from_millis(50);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let snapshot = PollSnapshot::new();
        assert!(strategy.poll_drive(&mut cx, &snapshot).is_pending());
        std::thread::sleep(period * 4);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "the first period wakes the worker"
        );
        assert_eq!(
            strategy.poll_drive(&mut cx, &snapshot),
            Poll::Ready(Some(()))
        );
        // The worker's fetch found nothing and it went to sleep without polling again.
        std::thread::sleep(period * 4);
        count.0.load(Ordering::SeqCst) > 1
    }

    #[test]
    fn the_delivery_worker_is_woken_every_period_without_being_polled_in_between() {
        assert!(wakes_again_after_firing(Every::new(Duration::from_millis(
            50
        ))));
    }

    /// Why [`Every`] exists. When this fails, apalis re-arms its own timer and `Every` can go.
    #[test]
    fn apalis_interval_strategy_loses_its_wake_up() {
        assert!(!wakes_again_after_firing(IntervalStrategy::new(
            Duration::from_millis(50)
        )));
    }
}
