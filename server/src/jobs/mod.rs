//! The job runtime: apalis inside the server process. Cron workers (in the clinic's time zone)
//! start the reminder and feedback runs, the campaign's daily steps and the outbox sweep; a
//! durable queue ([`store`]: apalis-sqlite, or apalis-postgres when processes share one
//! PostgreSQL) holds one [`Deliver`] job per message at its send time, so scheduled and
//! staggered sends survive restarts and nothing waits by sleeping in a loop.
//!
//! Every process sharing the app database runs the same cron workers; each tick is claimed in
//! the database ([`runs`]), so it runs once, and never while the job's previous run is still
//! going on a live instance.

pub mod runs;
pub mod store;

pub use store::{JobStore, JobStoreError, StoreTimers, open_store};

use crate::campaign::Campaign;
use crate::config::{Config, Schedule};
use crate::messaging::outbox::{Deliver, Outbox};
use crate::messaging::reminders::Touches;
use apalis::prelude::*;
use apalis_cron::CronScheduler;
use chrono::{DateTime, Duration as Span, Utc};
use chrono_tz::Tz;
use std::future::Future;
use std::time::Duration;

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

/// The jobs the cron workers run, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Reminders,
    Feedback,
    OutboxSweep,
    MarketingSelect,
    MarketingQueue,
    MarketingTrack,
    Backup,
}

impl Job {
    /// Every job.
    pub const ALL: [Self; 7] = [
        Self::Reminders,
        Self::Feedback,
        Self::OutboxSweep,
        Self::MarketingSelect,
        Self::MarketingQueue,
        Self::MarketingTrack,
        Self::Backup,
    ];

    /// The job's name, in logs and in `cron_runs`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reminders => "reminders",
            Self::Feedback => "feedback",
            Self::OutboxSweep => "outbox-sweep",
            Self::MarketingSelect => "marketing-select",
            Self::MarketingQueue => "marketing-queue",
            Self::MarketingTrack => "marketing-track",
            Self::Backup => "backup",
        }
    }

    /// The job's schedule.
    pub fn schedule(self, config: &Config) -> Schedule {
        let messaging = &config.messaging;
        let campaign = &config.campaign;
        match self {
            Self::Reminders => messaging.schedule_reminders.clone(),
            Self::Feedback => messaging.schedule_feedback.clone(),
            Self::OutboxSweep => messaging.schedule_outbox_sweep.clone(),
            Self::MarketingSelect => campaign.schedule_marketing_select.clone(),
            Self::MarketingQueue => campaign.schedule_marketing_queue.clone(),
            Self::MarketingTrack => campaign.schedule_marketing_track.clone(),
            Self::Backup => config.backup.schedule_backup.clone(),
        }
    }

    /// Tells whether the job runs with `config`: the backup only when `NABD_BACKUP_DIR` is set
    /// and the app database is SQLite (PostgreSQL is backed up with `pg_dump`).
    pub fn enabled(self, config: &Config) -> bool {
        match self {
            Self::Backup => {
                config.backup.backup_dir.is_some()
                    && crate::platform::store::Backend::of_url(&config.database_url)
                        == crate::platform::store::Backend::Sqlite
            }
            _ => true,
        }
    }

    /// Runs the job once; `Ok` carries what it did, for the log.
    async fn run(self, campaign: &Campaign, config: &Config) -> Result<String, String> {
        let text = |error: &dyn std::error::Error| error.to_string();
        let messaging = &campaign.messaging;
        match self {
            Self::Reminders => crate::messaging::reminders::run(messaging, Touches::All, false)
                .await
                .map(|report| {
                    format!(
                        "{} queued, {} already queued, {} without a mobile, {} in cooldown",
                        report.planned.len(),
                        report.already_queued,
                        report.skipped_no_mobile,
                        report.skipped_cooldown
                    )
                })
                .map_err(|e| text(&e)),
            Self::Feedback => crate::messaging::feedback::run(messaging, false)
                .await
                .map(|report| format!("{} queued", report.planned.len()))
                .map_err(|e| text(&e)),
            Self::OutboxSweep => {
                let outbox = &messaging.outbox;
                let now = outbox.clock().real_now();
                if let Err(error) = runs::prune(outbox.db(), now, Span::days(7)).await {
                    tracing::warn!(%error, "old cron runs not pruned");
                }
                outbox
                    .sweep(Duration::from_secs(20))
                    .await
                    .map(|handled| format!("{handled} overdue messages handled"))
                    .map_err(|e| text(&e))
            }
            Self::MarketingSelect => crate::campaign::select::run(campaign)
                .await
                .map(|report| report.to_string())
                .map_err(|e| text(&e)),
            Self::MarketingQueue => crate::campaign::queue::run(campaign)
                .await
                .map(|report| report.to_string())
                .map_err(|e| text(&e)),
            Self::MarketingTrack => crate::campaign::track::run(campaign)
                .await
                .map(|report| report.to_string())
                .map_err(|e| text(&e)),
            Self::Backup => {
                let Some(dir) = &config.backup.backup_dir else {
                    return Ok("no backup folder set".to_owned());
                };
                let outbox = &messaging.outbox;
                let local = outbox.clock().now().naive_local();
                crate::platform::backup::scheduled(
                    outbox.db(),
                    dir,
                    config.backup.backup_keep,
                    local,
                )
                .await
                .map(|(made, deleted)| {
                    format!(
                        "wrote {} ({} bytes), deleted {deleted} old backups",
                        made.path.display(),
                        made.bytes
                    )
                })
                .map_err(|e| text(&e))
            }
        }
    }
}

#[derive(Clone)]
struct Scheduled {
    job: Job,
    campaign: Campaign,
    config: std::sync::Arc<Config>,
}

/// One cron tick: claimed in the app database, run if this instance won it, recorded.
async fn tick(tick: apalis_cron::Tick<Tz>, scheduled: Data<Scheduled>) {
    let job = scheduled.job;
    let outbox = &scheduled.campaign.messaging.outbox;
    let at = i64::try_from(tick.get_timestamp())
        .ok()
        .and_then(|seconds| DateTime::<Utc>::from_timestamp(seconds, 0))
        .unwrap_or_else(|| outbox.clock().real_now());
    let db = outbox.db();
    let now = outbox.clock().real_now();
    match runs::claim(db, outbox.instance(), job.name(), at, now).await {
        Ok(runs::Claimed::Run) => {}
        Ok(runs::Claimed::Taken) => {
            tracing::debug!(job = job.name(), tick = %at, "another instance runs this tick");
            return;
        }
        Ok(runs::Claimed::StillRunning { since }) => {
            tracing::warn!(job = job.name(), %since, "previous run still going; this tick is skipped");
            return;
        }
        Err(error) => {
            // Not claimed, not run: the next tick tries again.
            tracing::error!(job = job.name(), %error, "the tick could not be claimed");
            return;
        }
    }
    let outcome = match job.run(&scheduled.campaign, &scheduled.config).await {
        Ok(report) => {
            tracing::info!(job = job.name(), %report, "run finished");
            "ok".to_owned()
        }
        // The next tick looks again; nothing queued is lost.
        Err(error) => {
            tracing::error!(job = job.name(), %error, "run failed");
            error
        }
    };
    let finished = outbox.clock().real_now();
    if let Err(error) = runs::finish(db, job.name(), at, &outcome, finished).await {
        tracing::error!(job = job.name(), %error, "the run's end could not be recorded");
    }
}

/// Runs the job runtime until `shutdown` completes: the delivery queue and the cron jobs.
pub async fn run(
    campaign: Campaign,
    store: JobStore,
    config: std::sync::Arc<Config>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BoxDynError> {
    let outbox = campaign.messaging.outbox.clone();
    let tz = outbox.clock().timezone();
    let instance = outbox.instance().clone();
    // Sends a dead process left in flight (its heartbeat stale) are uncertain; a live peer's
    // are its own.
    outbox.mark_abandoned().await?;
    // The delivery worker's name is this instance's: apalis refuses a name seen alive within
    // its heartbeat, and a peer's worker must never be knocked out. A dead instance's worker
    // has its jobs taken back by a live one after three missed heartbeats.
    let worker = format!("deliver-{}", instance.id());
    let beat = instance.heartbeat();
    // One delivery worker on whichever store this is (the two storages are different types).
    macro_rules! delivery_worker {
        ($queue:expr) => {{
            let queue = $queue.poll_with_strategy(Every::new(POLL));
            let outbox = outbox.clone();
            Monitor::new().register(move |_| {
                WorkerBuilder::new(worker.clone())
                    .backend(queue.clone())
                    .data(outbox.clone())
                    .build(deliver)
            })
        }};
    }
    let mut monitor = match store {
        JobStore::Sqlite(pool) => delivery_worker!(store::sqlite_queue(&pool, beat)),
        JobStore::Postgres(pool) => delivery_worker!(store::postgres_queue(&pool, beat)),
    };
    if config.backup.backup_dir.is_some() && !Job::Backup.enabled(&config) {
        tracing::warn!(
            "NABD_BACKUP_DIR is ignored: the app database is PostgreSQL; back it up with pg_dump"
        );
    }
    for job in Job::ALL.into_iter().filter(|job| job.enabled(&config)) {
        let cron = CronScheduler::new(job.schedule(&config).0).with_timezone(tz);
        let scheduled = Scheduled {
            job,
            campaign: campaign.clone(),
            config: config.clone(),
        };
        monitor = monitor.register(move |_| {
            WorkerBuilder::new(job.name())
                .backend(cron.clone())
                .data(scheduled.clone())
                .build(tick)
        });
    }
    monitor
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
    use std::sync::Arc;
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
