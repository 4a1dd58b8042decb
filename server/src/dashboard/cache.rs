//! Keeps the clinic database gentle: dashboard figures are computed at most once per TTL per
//! doctor filter, however many viewers ask (single flight: concurrent askers wait for the one
//! computation in progress). When the clinic database fails, the last good figures are served
//! marked `stale`, and the database is not asked again until the TTL has passed.

use super::error::FiguresError;
use app::dashboard::DashboardFigures;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Slot {
    figures: Option<DashboardFigures>,
    fetched: Option<Instant>,
    last_failure: Option<Instant>,
}

/// The dashboard figures per doctor filter (`None` = all doctors).
#[derive(Debug)]
pub struct FiguresCache {
    ttl: Duration,
    slots: std::sync::Mutex<HashMap<Option<i64>, Arc<tokio::sync::Mutex<Slot>>>>,
    fetches: AtomicU64,
}

impl FiguresCache {
    /// Returns an empty cache whose figures stay fresh for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: std::sync::Mutex::new(HashMap::new()),
            fetches: AtomicU64::new(0),
        }
    }

    /// Tells how many times the figures were computed (for tests and metrics).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn slot(&self, key: Option<i64>) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = match self.slots.lock() {
            Ok(slots) => slots,
            Err(poisoned) => poisoned.into_inner(),
        };
        slots
            .entry(key)
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(Slot {
                    figures: None,
                    fetched: None,
                    last_failure: None,
                }))
            })
            .clone()
    }

    fn forget(&self, key: Option<i64>) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(&key);
        }
    }

    /// Returns the figures for `key`: cached while fresh, else computed by `fetch` (once, for
    /// all concurrent askers), else the last good ones marked stale when the clinic fails.
    pub async fn get<F, Fut>(
        &self,
        key: Option<i64>,
        fetch: F,
    ) -> Result<DashboardFigures, FiguresError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<DashboardFigures, FiguresError>>,
    {
        let slot = self.slot(key);
        let mut slot = slot.lock().await;
        let fresh = |at: Option<Instant>| at.is_some_and(|at| at.elapsed() < self.ttl);
        if fresh(slot.fetched)
            && let Some(figures) = &slot.figures
        {
            crate::platform::metrics::dashboard_cache(crate::platform::metrics::Cache::Hit);
            return Ok(figures.clone());
        }
        if fresh(slot.last_failure)
            && let Some(figures) = &slot.figures
        {
            crate::platform::metrics::dashboard_cache(crate::platform::metrics::Cache::Stale);
            return Ok(stale(figures));
        }
        crate::platform::metrics::dashboard_cache(crate::platform::metrics::Cache::Miss);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match fetch().await {
            Ok(figures) => {
                slot.figures = Some(figures.clone());
                slot.fetched = Some(Instant::now());
                slot.last_failure = None;
                Ok(figures)
            }
            Err(FiguresError::Clinic(cause)) => {
                slot.last_failure = Some(Instant::now());
                match &slot.figures {
                    Some(figures) => {
                        tracing::warn!(error = %cause, "clinic database failed; serving the last good dashboard figures");
                        Ok(stale(figures))
                    }
                    None => {
                        drop(slot);
                        // Nothing to fall back on: keep no slot, so addresses with made-up
                        // doctor ids cannot grow the map while the clinic is down.
                        self.forget(key);
                        Err(FiguresError::Clinic(cause))
                    }
                }
            }
            Err(other) => {
                drop(slot);
                // An unknown doctor is not worth remembering (and must not grow the map).
                self.forget(key);
                Err(other)
            }
        }
    }
}

fn stale(figures: &DashboardFigures) -> DashboardFigures {
    DashboardFigures {
        stale: true,
        ..figures.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::GatewayError;

    fn figures(revenue: f64) -> DashboardFigures {
        DashboardFigures {
            as_of: "2026-01-05T12:00:00+03:00".into(),
            currency: "SAR".into(),
            revenue_today: revenue,
            appointments_today: 0,
            new_patients_this_month: 0,
            avg_revenue_per_patient_30d: 0.0,
            avg_revenue_per_appointment_30d: 0.0,
            returning_share_30d: 0.0,
            monthly_revenue: vec![],
            top_doctors: vec![],
            patient_mix: vec![],
            doctors: vec![],
            doctor_avg_revenue_per_patient_30d: None,
            refresh_secs: 60,
            stale: false,
            charts: None,
        }
    }

    fn down() -> FiguresError {
        FiguresError::Clinic(GatewayError::Timeout(Duration::from_secs(1)))
    }

    #[tokio::test]
    async fn a_hundred_concurrent_viewers_cost_one_computation() {
        let cache = Arc::new(FiguresCache::new(Duration::from_secs(60)));
        let mut viewers = Vec::new();
        for _ in 0..100 {
            let cache = cache.clone();
            viewers.push(tokio::spawn(async move {
                cache
                    .get(None, || async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(figures(10.0))
                    })
                    .await
            }));
        }
        for viewer in viewers {
            let answer = viewer.await.expect("joined").expect("figures");
            assert_eq!(answer.revenue_today, 10.0);
        }
        assert_eq!(cache.fetches(), 1);
    }

    #[tokio::test]
    async fn each_doctor_filter_is_cached_on_its_own_and_expires() {
        let cache = FiguresCache::new(Duration::ZERO);
        cache
            .get(None, || async { Ok(figures(1.0)) })
            .await
            .expect("all");
        cache
            .get(Some(2), || async { Ok(figures(2.0)) })
            .await
            .expect("doctor");
        cache
            .get(None, || async { Ok(figures(3.0)) })
            .await
            .expect("again");
        assert_eq!(cache.fetches(), 3, "a zero TTL recomputes every time");

        let cache = FiguresCache::new(Duration::from_secs(60));
        let one = cache
            .get(Some(1), || async { Ok(figures(1.0)) })
            .await
            .expect("one");
        let two = cache
            .get(Some(2), || async { Ok(figures(2.0)) })
            .await
            .expect("two");
        let one_again = cache
            .get(Some(1), || async { Ok(figures(9.0)) })
            .await
            .expect("cached");
        assert_eq!((one.revenue_today, two.revenue_today), (1.0, 2.0));
        assert_eq!(one_again.revenue_today, 1.0);
    }

    #[tokio::test]
    async fn a_failing_clinic_serves_the_last_good_figures_marked_stale() {
        let cache = FiguresCache::new(Duration::ZERO);
        assert!(
            cache.get(None, || async { Err(down()) }).await.is_err(),
            "nothing to fall back on"
        );
        cache
            .get(None, || async { Ok(figures(5.0)) })
            .await
            .expect("good");
        let served = cache
            .get(None, || async { Err(down()) })
            .await
            .expect("stale");
        assert!(served.stale);
        assert_eq!(served.revenue_today, 5.0);
        let recovered = cache
            .get(None, || async { Ok(figures(6.0)) })
            .await
            .expect("back");
        assert!(!recovered.stale);
    }

    #[tokio::test]
    async fn failures_with_nothing_cached_leave_no_slot_behind() {
        let cache = FiguresCache::new(Duration::from_secs(60));
        for doctor in 0..100 {
            assert!(
                cache
                    .get(Some(doctor), || async { Err(down()) })
                    .await
                    .is_err()
            );
        }
        assert_eq!(
            cache
                .slots
                .lock()
                .map(|slots| slots.len())
                .unwrap_or(usize::MAX),
            0
        );
    }

    #[tokio::test]
    async fn after_a_failure_the_clinic_is_not_asked_again_within_the_ttl() {
        let cache = FiguresCache::new(Duration::from_millis(200));
        cache
            .get(None, || async { Ok(figures(5.0)) })
            .await
            .expect("good");
        tokio::time::sleep(Duration::from_millis(250)).await;
        cache
            .get(None, || async { Err(down()) })
            .await
            .expect("stale");
        let again = cache
            .get(None, || async {
                panic!("the clinic must not be asked again so soon")
            })
            .await
            .expect("stale again");
        assert!(again.stale);
        assert_eq!(cache.fetches(), 2);
    }
}
