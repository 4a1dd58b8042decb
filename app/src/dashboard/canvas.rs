//! The one component that draws a chart: an ECharts instance over a sized box, in the browser
//! only, fed the option JSON the server built with charming.

#[cfg(feature = "hydrate")]
use crate::i18n::use_i18n;
use leptos::prelude::*;

/// Where ECharts draws one chart, in the browser, once the page is hydrated. The server sends
/// an empty, sized box and the chart's ECharts option JSON; the table beside it carries the
/// same numbers for everyone.
#[component]
pub fn ChartCanvas(
    id: String,
    #[prop(into)] option: Signal<String>,
    points: usize,
) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let element_id = id.clone();
    #[cfg(feature = "hydrate")]
    {
        let arabic = matches!(use_i18n().get_locale_untracked(), crate::i18n::Locale::ar);
        let drawn_in = element_id.clone();
        Effect::new(move |_| {
            if let Err(error) = echarts::draw(&drawn_in, &option.get(), arabic) {
                leptos::logging::warn!("chart {drawn_in} could not be drawn: {error:?}");
            }
        });
        // Follow the box's width: a phone turned sideways, a window resized.
        let resize = window_event_listener(leptos::ev::resize, move |_| {
            echarts::resize(&element_id);
        });
        on_cleanup(move || resize.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = option;
    view! { <div id=id class="chart-canvas" aria-hidden="true" data-points=points></div> }
}

/// The page's bridge to ECharts (`window.echarts`, the deferred script in the shell).
#[cfg(feature = "hydrate")]
mod echarts {
    use crate::format;
    use crate::i18n::Locale;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        type Instance;

        #[wasm_bindgen(js_namespace = echarts, js_name = getInstanceByDom)]
        fn instance_of(element: &web_sys::Element) -> Option<Instance>;
        #[wasm_bindgen(js_namespace = echarts, catch)]
        fn init(
            element: &web_sys::Element,
            theme: &JsValue,
            options: &JsValue,
        ) -> Result<Instance, JsValue>;
        #[wasm_bindgen(method, js_name = setOption)]
        fn set_option(this: &Instance, option: &JsValue, replace: bool);
        #[wasm_bindgen(method)]
        fn resize(this: &Instance);
    }

    thread_local! {
        /// Writes ECharts' own numbers (the value axis, the tooltip) with Arabic digits and
        /// separators, as the tables beside the charts do.
        static ARABIC_NUMBER: Closure<dyn Fn(JsValue) -> JsValue> =
            Closure::new(|value: JsValue| {
                let value = value.as_f64().unwrap_or_default();
                let decimals = if value.fract() == 0.0 { 0 } else { 2 };
                JsValue::from_str(&format::number(Locale::ar, value, decimals))
            });
    }

    fn set(target: &JsValue, path: &[&str], value: &JsValue) -> Result<(), JsValue> {
        let mut object = target.clone();
        for key in &path[..path.len() - 1] {
            let key = JsValue::from_str(key);
            let mut next = js_sys::Reflect::get(&object, &key)?;
            if !next.is_object() {
                next = js_sys::Object::new().into();
                js_sys::Reflect::set(&object, &key, &next)?;
            }
            object = next;
        }
        js_sys::Reflect::set(&object, &JsValue::from_str(path[path.len() - 1]), value)?;
        Ok(())
    }

    /// Draws (or redraws) the chart in the element `id` from its option JSON.
    pub fn draw(id: &str, json: &str, arabic: bool) -> Result<(), JsValue> {
        let element = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.get_element_by_id(id))
            .ok_or_else(|| JsValue::from_str("no such element"))?;
        let option = js_sys::JSON::parse(json)?;
        if arabic {
            ARABIC_NUMBER.with(|formatter| -> Result<(), JsValue> {
                let formatter: &JsValue = formatter.as_ref().unchecked_ref();
                set(&option, &["yAxis", "axisLabel", "formatter"], formatter)?;
                set(&option, &["tooltip", "valueFormatter"], formatter)
            })?;
        }
        let chart = match instance_of(&element) {
            Some(chart) => chart,
            None => {
                let options = js_sys::Object::new();
                js_sys::Reflect::set(&options, &"height".into(), &JsValue::from_f64(320.0))?;
                init(&element, &JsValue::NULL, &options)?
            }
        };
        chart.set_option(&option, true);
        Ok(())
    }

    /// Fits the chart in the element `id` to the element's width.
    pub fn resize(id: &str) {
        let element = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.get_element_by_id(id));
        if let Some(chart) = element.as_ref().and_then(instance_of) {
            chart.resize();
        }
    }
}
