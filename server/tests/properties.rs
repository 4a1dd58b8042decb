//! Property tests for everything that reads outside input: numbers as staff and the PMS type
//! them, pasted lists and CSV files, templates, the Cloud API's webhook payloads, the bridge's
//! posts, patients' replies and stored instants. Whatever comes in, nothing panics, and a
//! refusal is a typed error. (No nightly toolchain here, so `proptest` instead of `cargo fuzz`.)

use nabd::messaging::conversations::{self, intent};
use nabd::messaging::kind::Kind;
use nabd::messaging::number_list;
use nabd::messaging::template::Template;
use nabd::messaging::webhook::{BridgeMessage, Notification};
use nabd::platform::phone::{Mobile, Region, latin_digits};
use proptest::prelude::*;

/// Arabic-Indic and Eastern Arabic digits for a Latin digit string.
fn in_script(digits: &str, zero: char) -> String {
    digits
        .chars()
        .map(|c| char::from_u32(zero as u32 + c.to_digit(10).unwrap_or(0)).unwrap_or(c))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_text_as_a_number_is_read_or_refused_never_a_panic(raw in ".{0,40}") {
        if let Ok(mobile) = Mobile::parse(&raw, Region::default()) {
            prop_assert!(mobile.e164().starts_with('+'));
            prop_assert!(mobile.digits().chars().all(|c| c.is_ascii_digit()));
            // A number read once reads the same again from its own form.
            let again = Mobile::parse(mobile.e164(), Region::default());
            prop_assert_eq!(again.ok(), Some(mobile));
        }
    }

    #[test]
    fn a_saudi_mobile_reads_alike_in_every_form_and_digit_script(rest in "[0-9]{8}") {
        let local = format!("05{rest}");
        let expected = Mobile::parse(&local, Region::default());
        prop_assume!(expected.is_ok());
        let forms = [
            format!("+9665{rest}"),
            format!("009665{rest}"),
            format!("9665{rest}"),
            format!("05{} {} {}", &rest[..2], &rest[2..5], &rest[5..]),
            format!("(05{})-{}", &rest[..2], &rest[2..]),
            in_script(&local, '\u{0660}'),
            in_script(&local, '\u{06F0}'),
        ];
        for form in forms {
            prop_assert_eq!(&Mobile::parse(&form, Region::default()), &expected, "{}", form);
        }
        prop_assert_eq!(latin_digits(&in_script(&local, '\u{0660}')), local);
    }

    #[test]
    fn a_pasted_list_or_csv_is_read_or_refused_with_a_reason(text in "(?s).{0,400}") {
        match number_list::read(&text, None) {
            Ok(entries) => prop_assert!(entries.iter().all(|e| e.line >= 1)),
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
        match number_list::from_csv(&text) {
            Ok(entries) => prop_assert!(entries.len() <= number_list::MAX_NUMBERS),
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    #[test]
    fn a_template_setting_parses_or_names_its_fault_and_renders_without_panic(
        text in "(?s)[^\\x00]{0,120}",
        value in ".{0,30}",
    ) {
        let override_mark = char::from_u32(0x202E).unwrap_or_default();
        let value = format!("{value}{override_mark}");
        match Template::parse("NABD_TEMPLATE_X", &text, &["patient_name", "doctor_name"]) {
            Ok(template) => {
                let values = std::collections::HashMap::from([("patient_name", value.clone())]);
                let message = template.render(&values);
                // Values lose their bidi controls; nothing else is added.
                let from_template = text.contains(override_mark);
                prop_assert!(from_template || !message.contains(override_mark));
            }
            Err(error) => prop_assert!(error.to_string().starts_with("NABD_TEMPLATE_X")),
        }
    }

    #[test]
    fn any_json_is_a_webhook_delivery_or_a_clean_refusal(json in "(?s).{0,300}") {
        let _ = serde_json::from_str::<Notification>(&json);
        let _ = serde_json::from_str::<BridgeMessage>(&json);
    }

    #[test]
    fn any_message_shape_the_cloud_api_sends_is_read(
        kind in prop_oneof![
            Just("text"), Just("button"), Just("interactive"), Just("image"), Just("audio"),
            Just("document"), Just("location"), Just("sticker"), Just("reaction"), Just("unsupported"),
        ],
        from in "[0-9@a-z.+]{0,20}",
        text in ".{0,60}",
        timestamp in prop_oneof![Just(String::new()), "[0-9]{1,12}", ".{0,8}"],
    ) {
        let mut message = serde_json::json!({
            "id": "wamid.P", "from": from, "timestamp": timestamp, "type": kind,
        });
        message[kind] = serde_json::json!({
            "body": text, "text": text, "caption": text, "emoji": text, "payload": text,
            "button_reply": { "id": text, "title": text },
        });
        let body = serde_json::json!({ "entry": [{ "changes": [{ "value": { "messages": [message] } }] }] });
        prop_assert!(serde_json::from_value::<Notification>(body).is_ok());
    }

    #[test]
    fn a_bridge_post_becomes_an_incoming_message_whatever_it_holds(
        from in ".{0,30}",
        body in ".{0,200}",
        timestamp in proptest::option::of(any::<i64>()),
        message_type in proptest::option::of(".{0,40}"),
    ) {
        let post = serde_json::json!({ "id": "x", "from": from, "body": body,
                                       "timestamp": timestamp, "type": message_type });
        let message: BridgeMessage = serde_json::from_value(post).expect("the shape is valid");
        let incoming = message.into_incoming(chrono::Utc::now());
        prop_assert!(incoming.message_type.chars().count() <= 32);
        let _ = conversations::sender(&incoming.from, Region::default());
        let shown = conversations::shown_text(&incoming.message_type, &incoming.text);
        prop_assert!(!shown.is_empty());
    }

    #[test]
    fn any_reply_has_exactly_one_intent_in_any_context(text in "(?s).{0,200}") {
        for answering in [None, Some(Kind::Reminder), Some(Kind::Campaign), Some(Kind::Feedback)] {
            let _ = intent::decide(&text, answering, &["STOP".to_owned(), "إلغاء".to_owned()]);
        }
        let _ = intent::from_payload(&text);
    }

    #[test]
    fn a_stored_instant_reads_back_as_itself(seconds in 0i64..4_102_444_800, millis in 0u32..1000) {
        let at = chrono::DateTime::from_timestamp(seconds, millis * 1_000_000).expect("in range");
        let text = nabd::platform::time::stamp(at);
        prop_assert_eq!(nabd::platform::time::parse_stamp(&text), Some(at));
    }

    #[test]
    fn any_text_as_a_stored_instant_is_read_or_refused(text in ".{0,40}") {
        let _ = nabd::platform::time::parse_stamp(&text);
    }
}
