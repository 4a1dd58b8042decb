//! The browser entry point: hydrates the server-rendered page into the live Leptos app.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy: a page whose code is a split-off WASM file (the admin area) hydrates once that file
    // is in; the server's HTML has already asked the browser to preload it.
    leptos::mount::hydrate_lazy(app::App);
}
