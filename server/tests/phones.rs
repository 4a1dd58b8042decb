//! Nabd's reading of phone numbers against libphonenumber's own answers (its Python port,
//! `phonenumbers`, which `.ci/setup.sh` installs): 486 numbers in the forms staff type (local,
//! international, spaced, dashed, in Arabic-Indic and Eastern Arabic digits; Saudi landlines;
//! Gulf, UK and US numbers; too short and too long). Every Saudi form must agree exactly.

use nabd::platform::phone::{Mobile, Region};
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::process::{Command, Stdio};

fn script(digits: &str, zero: u32) -> String {
    digits
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(zero + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// The numbers, each with whether it is one of the Saudi forms.
fn numbers() -> Vec<(String, bool)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(450);
    let mut digits = |n: usize| -> String {
        (0..n)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect()
    };
    let mut out = Vec::new();
    for prefix in ["50", "53", "54", "55", "56", "57", "58", "59", "51", "52"] {
        for _ in 0..4 {
            let rest = digits(7);
            let local = format!("0{prefix}{rest}");
            for form in [
                local.clone(),
                format!("+966{prefix}{rest}"),
                format!("00966{prefix}{rest}"),
                format!("966{prefix}{rest}"),
                format!("0{prefix} {} {}", &rest[..3], &rest[3..]),
                format!("0{prefix}-{}-{}", &rest[..3], &rest[3..]),
                script(&local, 0x0660),
                script(&format!("+966{prefix}{rest}"), 0x0660),
                script(&local, 0x06F0),
            ] {
                out.push((form, true));
            }
        }
    }
    for area in ["11", "12", "13", "14", "16", "17"] {
        for _ in 0..3 {
            let rest = digits(7);
            out.push((format!("0{area} {rest}"), true));
            out.push((format!("+966 {area} {rest}"), true));
        }
    }
    for (code, start, length) in [
        ("971", "50", 7),
        ("971", "4", 7),
        ("965", "5", 7),
        ("965", "9", 7),
        ("973", "3", 7),
        ("974", "3", 7),
        ("968", "9", 7),
        ("44", "7", 9),
        ("44", "20", 8),
        ("1", "201", 7),
        ("1", "415", 7),
        ("20", "10", 8),
    ] {
        for _ in 0..5 {
            out.push((format!("+{code}{start}{}", digits(length)), false));
        }
        out.push((format!("00{code} {start} {}", digits(length)), false));
    }
    for _ in 0..6 {
        out.push((format!("05{}", digits(5)), true));
        out.push((format!("05{}", digits(11)), true));
        out.push((format!("+9665{}", digits(4)), true));
    }
    out
}

#[test]
fn nabd_reads_numbers_as_libphonenumber_does() {
    let numbers = numbers();
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/phone-verdicts.py"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs (.ci/setup.sh installs it with phonenumbers)");
    let input: String = numbers.iter().map(|(n, _)| format!("{n}\n")).collect();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("verdicts");
    assert!(
        output.status.success(),
        "scripts/phone-verdicts.py failed; is phonenumbers installed (.ci/setup.sh)?"
    );
    let verdicts: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(verdicts.len(), numbers.len());
    let mut disagreements = Vec::new();
    for ((number, saudi), theirs) in numbers.iter().zip(&verdicts) {
        let ours = Mobile::parse(number, Region::default())
            .map(|m| m.e164().to_owned())
            .unwrap_or_else(|_| "-".to_owned());
        if &ours != theirs {
            disagreements.push(format!(
                "{number:?}: nabd {ours}, libphonenumber {theirs} (saudi: {saudi})"
            ));
        }
    }
    let saudi = disagreements
        .iter()
        .filter(|d| d.ends_with("(saudi: true)"))
        .count();
    assert_eq!(
        saudi,
        0,
        "Saudi forms disagree:\n{}",
        disagreements.join("\n")
    );
    // The two metadata versions may differ on a few foreign ranges; say so, never hide it.
    assert!(
        disagreements.len() * 100 <= numbers.len(),
        "{} of {} disagree:\n{}",
        disagreements.len(),
        numbers.len(),
        disagreements.join("\n")
    );
    println!(
        "{} numbers, {} disagreements",
        numbers.len(),
        disagreements.len()
    );
    for line in &disagreements {
        println!("  {line}");
    }
}
