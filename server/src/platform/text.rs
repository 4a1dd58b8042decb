//! Text from outside (the clinic database, patients' messages) made safe to show: bidirectional
//! control characters removed, so that a name cannot reorder the text around it (a doctor
//! called "د. علي\u{202E}..." on the public board, "RLO" spoofing).

/// Returns `text` without the bidirectional embedding, override and isolate controls
/// (U+202A to U+202E, U+2066 to U+2069). The plain direction marks (U+200E, U+200F), which
/// Arabic text uses legitimately and which cannot reorder what follows them, stay. NUL goes
/// too: it shows as nothing, and PostgreSQL refuses to store it in text.
pub fn without_bidi_controls(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\u{0}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

/// One CSV cell: quoted when it holds a separator, a quote or a line break, and defused when a
/// spreadsheet would read it as a formula (text from outside: names, patients' replies).
pub fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_embeddings_and_isolates_are_removed_and_marks_kept() {
        assert_eq!(without_bidi_controls("Dr. \u{202E}ilA"), "Dr. ilA");
        assert_eq!(
            without_bidi_controls("\u{2066}x\u{2069}\u{202A}y\u{202C}\u{202B}z\u{202D}"),
            "xyz"
        );
        assert_eq!(without_bidi_controls("د. سارة\u{200F}"), "د. سارة\u{200F}");
    }
}
