//! Lists of phone numbers that staff paste or upload (a broadcast's recipients, numbers to
//! exclude): split into entries, each with the line it came from, and judged one by one.
//!
//! Pasted text holds one number per line or several separated by commas, semicolons or tabs.
//! A CSV file's number column is the one headed like a phone column (`mobile`, `phone`,
//! `جوال`...), or else the column where most cells look like phone numbers, so a file exported
//! with names beside the numbers works as it is.

use crate::platform::phone::{Mobile, Region, is_digit};
use std::collections::{HashMap, HashSet};

/// Most numbers one list may hold.
pub const MAX_NUMBERS: usize = 10_000;

/// One number as written, with the 1-based line (or CSV row) it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub input: String,
}

/// Why a list could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("the file is not a text or CSV file")]
    NotText,
    #[error("the CSV cannot be read at line {0}")]
    Malformed(u64),
    #[error("the list holds no phone numbers")]
    NoNumbers,
    #[error("a list may hold at most {MAX_NUMBERS} numbers")]
    TooMany,
}

/// What one entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A mobile, first seen here, not excluded.
    Valid(Mobile),
    /// Not a mobile: `missing`, `unparseable`, `invalid`, `not_mobile`.
    Invalid(&'static str),
    /// The same mobile as the entry on this line.
    Duplicate(Mobile, usize),
    /// On the do-not-contact list.
    Excluded(Mobile),
}

/// Header names of a phone column, lower case.
const PHONE_HEADERS: [&str; 14] = [
    "mobile",
    "mobile number",
    "phone",
    "phone number",
    "number",
    "whatsapp",
    "tel",
    "جوال",
    "الجوال",
    "رقم الجوال",
    "هاتف",
    "الهاتف",
    "رقم",
    "موبايل",
];

fn refuse_binary(text: &str) -> Result<(), ListError> {
    // A file read as UTF-8 shows what it was: NULs and replacement characters are not text.
    let odd = text
        .chars()
        .take(4096)
        .filter(|c| *c == '\0' || *c == '\u{FFFD}')
        .count();
    if odd > 0 {
        return Err(ListError::NotText);
    }
    Ok(())
}

/// Whether a cell looks like a phone number: mostly digits, between 7 and 15 of them.
fn looks_like_phone(cell: &str) -> bool {
    let digits = cell.chars().filter(|c| is_digit(*c)).count();
    let others = cell
        .chars()
        .filter(|c| {
            !is_digit(*c)
                && !matches!(
                    c,
                    '+' | '-' | ' ' | '(' | ')' | '.' | '\u{200e}' | '\u{200f}'
                )
        })
        .count();
    (7..=15).contains(&digits) && others == 0
}

fn checked(entries: Vec<Entry>) -> Result<Vec<Entry>, ListError> {
    if entries.is_empty() || !entries.iter().any(|e| looks_like_phone(&e.input)) {
        return Err(ListError::NoNumbers);
    }
    if entries.len() > MAX_NUMBERS {
        return Err(ListError::TooMany);
    }
    Ok(entries)
}

/// Splits pasted text into entries.
pub fn from_text(text: &str) -> Result<Vec<Entry>, ListError> {
    checked(split_text(text)?)
}

fn split_text(text: &str) -> Result<Vec<Entry>, ListError> {
    refuse_binary(text)?;
    Ok(text
        .lines()
        .enumerate()
        .flat_map(|(index, line)| {
            line.split([',', ';', '\t', '،'])
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .map(move |cell| Entry {
                    line: index + 1,
                    input: cell.trim_matches('"').trim().to_owned(),
                })
        })
        .collect())
}

/// Reads a CSV file's phone column.
pub fn from_csv(text: &str) -> Result<Vec<Entry>, ListError> {
    checked(csv_column(text)?)
}

fn csv_column(text: &str) -> Result<Vec<Entry>, ListError> {
    refuse_binary(text)?;
    let text = text.trim_start_matches('\u{feff}');
    // Excel in Arabic locales saves with semicolons.
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| {
            ListError::Malformed(error.position().map_or(0, csv::Position::line))
        })?;
        let line = record.position().map_or(0, csv::Position::line) as usize;
        rows.push((
            line,
            record
                .iter()
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>(),
        ));
        if rows.len() > MAX_NUMBERS + 1 {
            return Err(ListError::TooMany);
        }
    }
    let Some((_, first)) = rows.first() else {
        return Err(ListError::NoNumbers);
    };
    let headed = first
        .iter()
        .position(|cell| PHONE_HEADERS.contains(&cell.to_lowercase().as_str()));
    let (column, skip) = match headed {
        Some(column) => (column, 1),
        None => {
            let mut hits: HashMap<usize, usize> = HashMap::new();
            for (_, cells) in &rows {
                for (column, cell) in cells.iter().enumerate() {
                    if looks_like_phone(cell) {
                        *hits.entry(column).or_default() += 1;
                    }
                }
            }
            let best = hits
                .into_iter()
                .max_by_key(|(column, count)| (*count, std::cmp::Reverse(*column)))
                .map(|(column, _)| column)
                .ok_or(ListError::NoNumbers)?;
            // A first row without a phone in that column is a header row.
            let skip = usize::from(!looks_like_phone(
                first.get(best).map(String::as_str).unwrap_or_default(),
            ));
            (best, skip)
        }
    };
    Ok(rows
        .into_iter()
        .skip(skip)
        .filter_map(|(line, cells)| {
            let cell = cells.get(column)?.clone();
            (!cell.is_empty()).then_some(Entry { line, input: cell })
        })
        .collect())
}

/// Reads pasted text and an uploaded CSV together (either may be empty); the list as a whole
/// must hold numbers.
pub fn read(text: &str, csv: Option<&str>) -> Result<Vec<Entry>, ListError> {
    let pasted = split_text(text)?;
    let uploaded = match csv.filter(|csv| !csv.trim().is_empty()) {
        Some(csv) => csv_column(csv)?,
        None => Vec::new(),
    };
    let mut entries = pasted;
    let offset = entries.last().map_or(0, |e| e.line);
    entries.extend(uploaded.into_iter().map(|e| Entry {
        line: e.line + offset,
        input: e.input,
    }));
    checked(entries)
}

/// Judges each entry: a mobile in `region`'s forms, not seen earlier in the list, not in
/// `excluded` (E.164 numbers).
pub fn judge(
    entries: &[Entry],
    region: Region,
    excluded: &HashSet<String>,
) -> Vec<(Entry, Verdict)> {
    let mut first_line: HashMap<String, usize> = HashMap::new();
    entries
        .iter()
        .map(|entry| {
            let verdict = match Mobile::parse(&entry.input, region) {
                Err(error) => Verdict::Invalid(error.code()),
                Ok(mobile) => match first_line.get(mobile.e164()) {
                    Some(line) => Verdict::Duplicate(mobile, *line),
                    None => {
                        first_line.insert(mobile.e164().to_owned(), entry.line);
                        if excluded.contains(mobile.e164()) {
                            Verdict::Excluded(mobile)
                        } else {
                            Verdict::Valid(mobile)
                        }
                    }
                },
            };
            (entry.clone(), verdict)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(entries: &[Entry]) -> Vec<(usize, &str)> {
        entries.iter().map(|e| (e.line, e.input.as_str())).collect()
    }

    #[test]
    fn pasted_numbers_split_on_lines_commas_and_arabic_commas() {
        let entries =
            from_text("0501234567\n\n 0559876543, +966 54 111 2222 ;0531112222،0561112222")
                .expect("a list");
        assert_eq!(
            inputs(&entries),
            vec![
                (1, "0501234567"),
                (3, "0559876543"),
                (3, "+966 54 111 2222"),
                (3, "0531112222"),
                (3, "0561112222"),
            ]
        );
    }

    #[test]
    fn numbers_in_arabic_indic_and_persian_digits_are_valid_and_deduplicated() {
        let entries = from_text("٠٥٣٨١٤٤٤٩٤\n۰۵۳۸۱۴۴۴۹۴\n0538144494").expect("a list");
        let judged = judge(&entries, Region::default(), &HashSet::new());
        assert!(matches!(&judged[0].1, Verdict::Valid(m) if m.e164() == "+966538144494"));
        assert!(
            matches!(&judged[1].1, Verdict::Duplicate(_, 1)),
            "{:?}",
            judged[1].1
        );
        assert!(
            matches!(&judged[2].1, Verdict::Duplicate(_, 1)),
            "{:?}",
            judged[2].1
        );
    }

    #[test]
    fn a_csv_with_a_phone_header_reads_that_column() {
        let csv = "\u{feff}name,الجوال,notes\nسارة,0501234567,\"late, twice\"\nAli,,x\nOmar,055 987 6543,\n";
        let entries = from_csv(csv).expect("a list");
        assert_eq!(
            inputs(&entries),
            vec![(2, "0501234567"), (4, "055 987 6543")]
        );
    }

    #[test]
    fn a_headerless_csv_uses_the_column_of_numbers() {
        let csv = "Sara;0501234567;12\nAli;0559876543;7\n";
        let entries = from_csv(csv).expect("a list");
        assert_eq!(inputs(&entries), vec![(1, "0501234567"), (2, "0559876543")]);
        let headed_otherwise = "patient,contact\nSara,0501234567\n";
        let entries = from_csv(headed_otherwise).expect("a list");
        assert_eq!(inputs(&entries), vec![(2, "0501234567")]);
    }

    #[test]
    fn files_that_are_not_lists_of_numbers_are_refused() {
        assert_eq!(
            from_csv("name,city\nSara,Riyadh\n"),
            Err(ListError::NoNumbers)
        );
        assert_eq!(from_text("hello there"), Err(ListError::NoNumbers));
        assert_eq!(from_csv("PK\u{3}\u{4}\0\0binary"), Err(ListError::NotText));
        assert_eq!(from_csv("\u{FFFD}\u{FFFD}PNG"), Err(ListError::NotText));
        assert!(matches!(
            from_csv("a,b\n\"0501234567,x\n"),
            Err(ListError::Malformed(_)) | Err(ListError::NoNumbers)
        ));
        let long = "0501234567\n".repeat(MAX_NUMBERS + 1);
        assert_eq!(from_text(&long), Err(ListError::TooMany));
    }

    #[test]
    fn pasted_text_and_a_file_are_judged_as_one_list() {
        let entries = read("see the file", Some("mobile\n0501234567\n")).expect("a list");
        assert_eq!(
            inputs(&entries),
            vec![(1, "see the file"), (3, "0501234567")]
        );
        assert_eq!(read("", Some("name\nSara\n")), Err(ListError::NoNumbers));
    }

    #[test]
    fn each_entry_is_judged_valid_invalid_duplicate_or_excluded() {
        let entries =
            from_text("0501234567\n12345\n+966501234567\n0112345678\n0559876543").expect("a list");
        let excluded = HashSet::from(["+966559876543".to_owned()]);
        let verdicts: Vec<_> = judge(&entries, Region::default(), &excluded)
            .into_iter()
            .map(|(_, verdict)| match verdict {
                Verdict::Valid(m) => format!("valid {}", m.e164()),
                Verdict::Invalid(code) => format!("invalid {code}"),
                Verdict::Duplicate(m, line) => format!("duplicate {} of {line}", m.e164()),
                Verdict::Excluded(m) => format!("excluded {}", m.e164()),
            })
            .collect();
        assert_eq!(
            verdicts,
            vec![
                "valid +966501234567",
                "invalid invalid",
                "duplicate +966501234567 of 1",
                "invalid not_mobile",
                "excluded +966559876543",
            ]
        );
    }
}
