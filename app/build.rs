//! Generates the `i18n` module from `locales/*.json` at build time (leptos_i18n 0.6).

use leptos_i18n_build::{Config, ParseOptions, TranslationsInfos};
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");

    let out_dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let config = Config::new("en")
        .and_then(|config| config.add_locale("ar"))
        .expect("the locale names are valid")
        .locales_path("../locales")
        // Lets `t_string!` interpolate (attribute values and titles are plain strings).
        .parse_options(ParseOptions::new().interpolate_display(true));

    let translations = match TranslationsInfos::parse(config) {
        Ok(translations) => translations,
        Err(error) => panic!("locales/ could not be parsed: {error}"),
    };
    translations.emit_diagnostics();
    translations.rerun_if_locales_changed();
    translations
        .generate_i18n_module(PathBuf::from(out_dir).join("i18n"))
        .expect("the i18n module can be written to OUT_DIR");
}
