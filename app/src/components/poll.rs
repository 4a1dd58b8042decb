//! A page refreshing itself: a counter that goes up every few seconds while the page is
//! visible (a hidden tab asks nothing of the server). Resources that read it load again.

use leptos::prelude::*;

/// Returns a counter that goes up every `every` while the page is visible, in the browser
/// only (on the server it stays 0).
pub fn use_poll(every: std::time::Duration) -> RwSignal<u32> {
    let tick = RwSignal::new(0_u32);
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<bool>| {
        if started.is_some() {
            return true;
        }
        let visible = || !document().hidden();
        match set_interval_with_handle(
            move || {
                if visible() {
                    tick.update(|tick| *tick += 1);
                }
            },
            every,
        ) {
            Ok(handle) => on_cleanup(move || handle.clear()),
            Err(error) => leptos::logging::warn!("this page cannot refresh itself: {error:?}"),
        }
        true
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = every;
    tick
}
