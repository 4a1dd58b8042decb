//! Reading a list of numbers in a form (pasted, or a CSV file read in the browser) and showing
//! the lines a review left out: shared by the broadcast and the do-not-contact pages.

use crate::admin::broadcasts::Rejected;
use crate::format;
use crate::i18n::{Locale, t, t_string, use_i18n};
use leptos::prelude::*;

/// Counts what looks like separate numbers in pasted text, as the server splits it.
pub fn pasted_count(text: &str) -> usize {
    text.split(['\n', ',', ';', '\t', '،'])
        .filter(|cell| !cell.trim().is_empty())
        .count()
}

/// A list of numbers: a text area to paste into and, once the page is interactive, a CSV file
/// picker whose file is read in the browser and sent as the `csv` field.
#[component]
pub fn NumberListInput() -> impl IntoView {
    let i18n = use_i18n();
    let pasted = RwSignal::new(String::new());
    let csv = RwSignal::new(String::new());
    let file_name = RwSignal::new(String::new());
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    let count = move || pasted_count(&pasted.get());

    view! {
        <label>
            <span>{t!(i18n, broadcast.numbers)}</span>
            <textarea
                name="numbers"
                rows="6"
                dir="ltr"
                spellcheck="false"
                placeholder="0501234567\n+966 55 987 6543"
                on:input=move |event| pasted.set(event_target_value(&event))
            ></textarea>
        </label>
        <p class="form-note" aria-live="polite">
            {move || t_string!(i18n, broadcast.pasted, count = format::count(i18n.get_locale(), count() as i64)).to_string()}
        </p>
        {move || interactive.get().then(|| view! {
            <label class="file-pick">
                <span>{t!(i18n, broadcast.csv_file)}</span>
                <input
                    type="file"
                    accept=".csv,.txt,text/csv,text/plain"
                    on:change=move |event| read_file(&event, csv, file_name)
                />
            </label>
            {move || (!file_name.get().is_empty()).then(|| view! {
                <p class="form-note" role="status">
                    {t_string!(i18n, broadcast.file_read, name = file_name.get(), count = format::count(i18n.get_locale(), csv.get().lines().filter(|l| !l.trim().is_empty()).count() as i64)).to_string()}
                </p>
            })}
        })}
        <input type="hidden" name="csv" prop:value=move || csv.get() />
    }
}

/// Reads the chosen file's text into `csv`.
#[cfg(feature = "hydrate")]
fn read_file(event: &leptos::ev::Event, csv: RwSignal<String>, name: RwSignal<String>) {
    use wasm_bindgen::JsCast;
    let file = event
        .target()
        .and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok())
        .and_then(|input| input.files())
        .and_then(|files| files.get(0));
    let Some(file) = file else {
        csv.set(String::new());
        name.set(String::new());
        return;
    };
    name.set(file.name());
    let text = file.text();
    leptos::task::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(text).await {
            Ok(value) => csv.set(value.as_string().unwrap_or_default()),
            Err(error) => {
                leptos::logging::warn!("the file could not be read: {error:?}");
                csv.set(String::new());
                name.set(String::new());
            }
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn read_file(_: &leptos::ev::Event, _: RwSignal<String>, _: RwSignal<String>) {}

/// Writes a broadcast and lists recent ones.
/// Why an invalid number was left out, in the page's language.
pub fn reason_label(code: &str) -> String {
    let i18n = use_i18n();
    match code {
        "missing" => t_string!(i18n, broadcast.reasons.missing),
        "unparseable" => t_string!(i18n, broadcast.reasons.unparseable),
        "invalid" => t_string!(i18n, broadcast.reasons.invalid),
        "not_mobile" => t_string!(i18n, broadcast.reasons.not_mobile),
        other => return other.to_owned(),
    }
    .to_owned()
}

/// A table of left-out lines (the first 100).
#[component]
pub fn LeftOut(
    title: String,
    rows: Vec<Rejected>,
    total: i64,
    kind: &'static str,
    locale: Locale,
) -> impl IntoView {
    let i18n = use_i18n();
    if rows.is_empty() {
        return ().into_any();
    }
    let more = total - rows.len() as i64;
    view! {
        <details class="left-out" data-kind=kind open=kind != "duplicate">
            <summary>{title} " (" {format::count(locale, total)} ")"</summary>
            <table class="returned">
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, broadcast.col_line)}</th>
                        <th scope="col">{t!(i18n, broadcast.col_input)}</th>
                        <th scope="col">{t!(i18n, broadcast.col_why)}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|row| {
                            let why = match kind {
                                "invalid" => reason_label(row.reason.as_deref().unwrap_or_default()),
                                "duplicate" => t_string!(i18n, broadcast.same_as_line, line = format::digits(locale, row.reason.as_deref().unwrap_or_default())).to_string(),
                                _ => t_string!(i18n, broadcast.on_list).to_owned(),
                            };
                            view! {
                                <tr>
                                    <td>{format::count(locale, row.line)}</td>
                                    <td dir="ltr">{row.input}</td>
                                    <td>{why}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            {(more > 0).then(|| view! {
                <p class="more">{t_string!(i18n, broadcast.more, count = format::count(locale, more)).to_string()}</p>
            })}
        </details>
    }
    .into_any()
}
