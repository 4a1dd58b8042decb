//! What a patient's reply means, decided by a pure function over its text and the kind of
//! message it answers (design notes §5), in Arabic (Gulf dialect included) and English.
//!
//! The text is first normalised: Arabic-Indic digits become Latin, diacritics and the tatweel
//! go, the alef forms become one, `ى` becomes `ي` and `ة` becomes `ه`, Latin letters are
//! lower-cased, punctuation separates words and each emoji is a word of its own. Then the
//! first rule that matches decides, in this order: an opt-out (`stop`), the cancel-versus-stop
//! rule for a lone "cancel" word, `reschedule`, `cancel`, `book`, `confirm`, `question`,
//! `other`. Reschedule comes before cancel ("I can't come, can we move it?" asks to move), and
//! both before confirm ("ok, but I can't come" is not a yes).

use crate::messaging::kind::Kind;
use std::fmt;
use std::str::FromStr;

/// What a reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    Confirm,
    Cancel,
    Reschedule,
    Book,
    /// Never write to me again (the do-not-contact list).
    Stop,
    Question,
    Other,
}

impl Intent {
    /// Every intent.
    pub const ALL: [Self; 7] = [
        Self::Confirm,
        Self::Cancel,
        Self::Reschedule,
        Self::Book,
        Self::Stop,
        Self::Question,
        Self::Other,
    ];

    /// Returns the stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Reschedule => "reschedule",
            Self::Book => "book",
            Self::Stop => "stop",
            Self::Question => "question",
            Self::Other => "other",
        }
    }

    /// Tells whether someone at the clinic has to do something about it.
    pub fn needs_action(self) -> bool {
        matches!(
            self,
            Self::Cancel | Self::Reschedule | Self::Book | Self::Question
        )
    }
}

impl FromStr for Intent {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|intent| intent.as_str() == value)
            .ok_or_else(|| format!("unknown intent {value:?}"))
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a quick-reply button's payload as Nabd sends it (`<intent>:<outbox id>`): the intent
/// and the message the button belongs to. Any other payload is `None` (decided by its text).
pub fn from_payload(payload: &str) -> Option<(Intent, i64)> {
    let (intent, id) = payload.trim().split_once(':')?;
    Some((intent.parse().ok()?, id.parse().ok()?))
}

/// Decides what `text` asks for, as an answer to a message of kind `answering` (`None` when it
/// answers nothing Nabd sent in the last 7 days). `opt_out_words` are the configured words that,
/// alone in a message, mean "never write to me".
///
/// The cancel-versus-stop rule: "الغاء"/"إلغاء"/"cancel" alone is `stop` only as an answer to
/// marketing (a campaign or a broadcast) or to nothing at all; answering a reminder it is
/// `cancel`; answering anything else (feedback, a staff reply) it is `other`. Every other opt-out
/// word ("STOP", "إيقاف", "الغاء الاشتراك", ...) is `stop` whatever it answers.
pub fn decide(text: &str, answering: Option<Kind>, opt_out_words: &[String]) -> Intent {
    let words = words_of(text);
    if words.is_empty() {
        return Intent::Other;
    }
    let whole = words.join(" ");
    let lone_cancel = CANCEL_WORDS.contains(&whole.as_str());
    let configured_stop = opt_out_words
        .iter()
        .map(|word| words_of(word).join(" "))
        .any(|word| !word.is_empty() && word == whole);
    if lone_cancel {
        return match answering {
            None => Intent::Stop,
            Some(kind) if kind.is_marketing() => Intent::Stop,
            Some(Kind::Reminder) => Intent::Cancel,
            Some(_) => Intent::Other,
        };
    }
    if configured_stop || has_any(&words, &whole, STOP) {
        return Intent::Stop;
    }
    if has_any(&words, &whole, RESCHEDULE) {
        return Intent::Reschedule;
    }
    if has_any(&words, &whole, CANCEL) {
        return Intent::Cancel;
    }
    // A lone "no" answers "please reply to confirm" with a refusal.
    if matches!(answering, Some(Kind::Reminder)) && NO.contains(&whole.as_str()) {
        return Intent::Cancel;
    }
    if has_any(&words, &whole, BOOK) {
        return Intent::Book;
    }
    let asks = text.contains('?') || text.contains('؟');
    if asks {
        return Intent::Question;
    }
    if has_any(&words, &whole, CONFIRM) && !has_any(&words, &whole, NEGATION) {
        return Intent::Confirm;
    }
    if QUESTION_WORDS.contains(&words[0].as_str()) {
        return Intent::Question;
    }
    Intent::Other
}

/// The words that mean "cancel" and, alone, may also mean "stop": context decides.
const CANCEL_WORDS: [&str; 3] = ["الغاء", "cancel", "الغي"];

/// A pattern: `=` then words that must appear in a row as whole words, or a fragment that may
/// appear anywhere in the normalised text (for Arabic stems and their prefixes: "بحجز", "نحجز").
type Patterns = &'static [&'static str];

const STOP: Patterns = &[
    "=stop",
    "=unsubscribe",
    "=opt out",
    "=stop messaging",
    "=stop sending",
    "=ايقاف",
    "=وقف",
    "الغاء الاشتراك",
    "الغاء اشتراك",
    "لا ترسل",
    "لاترسل",
    "لا تراسل",
    "لا تتواصل",
    "=don't message",
    "=dont message",
    "=do not message",
    "=do not contact",
];

const RESCHEDULE: Patterns = &[
    "اغير",
    "نغير",
    "تغيير",
    "تغير الموعد",
    "تاجيل",
    "اجل الموعد",
    "نأجل",
    "ناجل",
    "اأجل",
    "اجيل",
    "موعد ثاني",
    "موعد اخر",
    "وقت ثاني",
    "وقت اخر",
    "يوم ثاني",
    "يوم اخر",
    "بدل الموعد",
    "نقدم الموعد",
    "اقدم الموعد",
    "ممكن بكره",
    "بكره احسن",
    "بكره افضل",
    "=reschedule",
    "=rescheduling",
    "=re schedule",
    "=postpone",
    "=another time",
    "=another day",
    "=different time",
    "=different day",
    "=change the time",
    "=change the appointment",
    "=change my appointment",
    "=move the appointment",
    "=move my appointment",
    "=move it",
    "=tomorrow instead",
    "=later time",
];

const CANCEL: Patterns = &[
    "ما اقدر",
    "مااقدر",
    "ما قدر",
    "ما بقدر",
    "مابقدر",
    "ما اقدر احضر",
    "ما راح احضر",
    "ماراح احضر",
    "ما راح اجي",
    "ماراح اجي",
    "ما بجي",
    "مابجي",
    "ما بحضر",
    "مابحضر",
    "مو قادر",
    "مب قادر",
    "ماني جاي",
    "مو جاي",
    "لن احضر",
    "لن اتمكن",
    "لا استطيع",
    "اعتذر عن",
    "اعتذر",
    "الغي الموعد",
    "الغاء الموعد",
    "الغو الموعد",
    "الغوا",
    "كنسل",
    "=cancel",
    "=cancelled",
    "=canceled",
    "=cancel it",
    "=cancel my appointment",
    "=can't come",
    "=cant come",
    "=cannot come",
    "=can not come",
    "=can't make it",
    "=cant make it",
    "=won't make it",
    "=wont make it",
    "=won't be able",
    "=will not be able",
    "=not coming",
    "=unable to come",
    "=unable to attend",
    "=can't attend",
];

const BOOK: Patterns = &[
    "احجز",
    "نحجز",
    "بحجز",
    "حجز موعد",
    "ابي موعد",
    "ابغى موعد",
    "ابغي موعد",
    "اريد موعد",
    "ودي موعد",
    "متى فيه موعد",
    "متى في موعد",
    "فيه موعد",
    "في مواعيد",
    "فيه مواعيد",
    "موعد متاح",
    "مواعيد متاحه",
    "موعد فاضي",
    "=book",
    "=booking",
    "=book an appointment",
    "=make an appointment",
    "=an appointment please",
    "=want an appointment",
    "=need an appointment",
    "=schedule an appointment",
    "=any appointments",
    "=available appointment",
    "=when can i come",
];

const CONFIRM: Patterns = &[
    "=نعم",
    "=ايوه",
    "=ايوا",
    "=ايه",
    "=اي",
    "=اكيد",
    "=تم",
    "=تمام",
    "=طيب",
    "=اوكي",
    "=اوك",
    "=موافق",
    "=مؤكد",
    "=مويد",
    "=حاضر",
    "=ابشر",
    "=ابشري",
    "=بحضر",
    "=بجي",
    "=جاي",
    "=جايه",
    "=راح احضر",
    "=راح اجي",
    "=بكون موجود",
    "=ان شاء الله",
    "=انشاء الله",
    "=انشالله",
    "=ان شاءالله",
    "=بإذن الله",
    "=باذن الله",
    "=اكد",
    "=تأكيد",
    "=تاكيد",
    "=yes",
    "=yeah",
    "=yep",
    "=yup",
    "=ok",
    "=okay",
    "=okey",
    "=sure",
    "=confirm",
    "=confirmed",
    "=i confirm",
    "=will come",
    "=will be there",
    "=i'll be there",
    "=ill be there",
    "=see you",
    "=👍",
    "=✅",
    "=👌",
    "=✔",
    "=1",
];

const NEGATION: Patterns = &["=لا", "=ما", "=مو", "=مب", "=no", "=not", "=don't", "=dont"];

const NO: [&str; 4] = ["لا", "no", "nope", "لا شكرا"];

const QUESTION_WORDS: [&str; 22] = [
    "متى", "كم", "وين", "هل", "ليش", "ليه", "شو", "ايش", "وش", "كيف", "مين", "فين", "how", "what",
    "when", "where", "why", "who", "is", "can", "do", "does",
];

/// Tells whether any of `patterns` matches the normalised words (see [`Patterns`]).
fn has_any(words: &[String], whole: &str, patterns: Patterns) -> bool {
    patterns
        .iter()
        .any(|pattern| match pattern.strip_prefix('=') {
            Some(phrase) => has_phrase(words, phrase),
            None => whole.contains(pattern),
        })
}

fn has_phrase(words: &[String], phrase: &str) -> bool {
    let wanted = words_of(phrase);
    !wanted.is_empty()
        && words
            .windows(wanted.len())
            .any(|window| window.iter().zip(&wanted).all(|(a, b)| a == b))
}

/// The normalised words of a message (see the module's notes).
fn words_of(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, words: &mut Vec<String>| {
        if !current.is_empty() {
            words.push(std::mem::take(current));
        }
    };
    for c in crate::platform::phone::latin_digits(text).chars() {
        match c {
            // Diacritics (harakat, shadda, sukun, dagger alef), the tatweel, variation selectors,
            // skin-tone modifiers and the zero-width joiners carry no meaning here.
            '\u{064B}'..='\u{065F}'
            | '\u{0670}'
            | '\u{0640}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{1F3FB}'..='\u{1F3FF}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' => {}
            'أ' | 'إ' | 'آ' | 'ٱ' => current.push('ا'),
            'ى' => current.push('ي'),
            'ة' => current.push('ه'),
            '\'' | '’' => current.push('\''),
            c if c.is_alphanumeric() => current.extend(c.to_lowercase()),
            c if c.is_whitespace() || c.is_ascii_punctuation() || "،؛؟«»…".contains(c) => {
                flush(&mut current, &mut words);
            }
            // Anything else (an emoji, a symbol) is a word of its own.
            other => {
                flush(&mut current, &mut words);
                words.push(other.to_string());
            }
        }
    }
    flush(&mut current, &mut words);
    // A repeated letter stretched for emphasis ("okkkk", "تممممم") reads as the word.
    words.into_iter().map(|word| squeeze(&word)).collect()
}

/// Shortens runs of three or more of the same letter to one.
fn squeeze(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        let mut run = 1;
        while index + run < chars.len() && chars[index + run] == c {
            run += 1;
        }
        let keep = if run >= 3 { 1 } else { run };
        out.extend(std::iter::repeat_n(c, keep));
        index += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt_out_words() -> Vec<String> {
        ["STOP", "إيقاف", "ايقاف", "الغاء", "إلغاء"]
            .map(String::from)
            .to_vec()
    }

    fn check(table: &[(&str, Intent)], answering: Option<Kind>) {
        let words = opt_out_words();
        let wrong: Vec<String> = table
            .iter()
            .filter_map(|(text, expected)| {
                let got = decide(text, answering, &words);
                (got != *expected).then(|| format!("{text:?}: expected {expected}, got {got}"))
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "{} wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    use Intent::*;

    /// Answers to a reminder, in Arabic (Gulf dialect and standard), with spelling variants,
    /// both digit scripts and emoji.
    const ARABIC_REMINDER_REPLIES: [(&str, Intent); 49] = [
        ("نعم", Confirm),
        ("نعم.", Confirm),
        ("اكيد", Confirm),
        ("أكيد", Confirm),
        ("أكيد إن شاء الله", Confirm),
        ("تم", Confirm),
        ("تم 👍", Confirm),
        ("تمممم", Confirm),
        ("إن شاء الله", Confirm),
        ("ان شاء الله", Confirm),
        ("انشاء الله", Confirm),
        ("إنشالله", Confirm),
        ("بإذن الله", Confirm),
        ("تمام", Confirm),
        ("طيب", Confirm),
        ("اوكي", Confirm),
        ("موافق", Confirm),
        ("حاضر", Confirm),
        ("ابشر", Confirm),
        ("ايوه بحضر", Confirm),
        ("راح احضر إن شاء الله", Confirm),
        ("١", Confirm),
        ("تأكيد", Confirm),
        ("نعم، شكراً", Confirm),
        ("ابي اغير الموعد", Reschedule),
        ("ممكن بكرة", Reschedule),
        ("ممكن أغيّر الموعد؟", Reschedule),
        ("أبغى موعد ثاني", Reschedule),
        ("ممكن نأجل الموعد", Reschedule),
        ("تأجيل", Reschedule),
        ("ما اقدر احضر، ممكن يوم ثاني؟", Reschedule),
        ("ودي أغير الوقت", Reschedule),
        ("ما اقدر احضر", Cancel),
        ("ما أقدر أحضر", Cancel),
        ("ماراح اجي", Cancel),
        ("ما بقدر اجي اليوم", Cancel),
        ("مو قادر أحضر", Cancel),
        ("أعتذر عن الموعد", Cancel),
        ("الغاء", Cancel),
        ("إلغاء", Cancel),
        ("الغي الموعد لو سمحت", Cancel),
        ("كنسل", Cancel),
        ("لا", Cancel),
        ("لن أتمكن من الحضور", Cancel),
        ("الغاء الاشتراك", Stop),
        ("إيقاف", Stop),
        ("لا ترسلون لي رسائل", Stop),
        ("كم سعر التنظيف؟", Question),
        ("اي وقت متاح؟", Question),
    ];

    const ENGLISH_REMINDER_REPLIES: [(&str, Intent); 46] = [
        ("yes", Confirm),
        ("Yes!", Confirm),
        ("YES", Confirm),
        ("ok", Confirm),
        ("OK 👍", Confirm),
        ("Okay", Confirm),
        ("okkkk", Confirm),
        ("sure", Confirm),
        ("Sure, see you then", Confirm),
        ("yep", Confirm),
        ("yeah I'll be there", Confirm),
        ("Confirm", Confirm),
        ("confirmed", Confirm),
        ("I confirm", Confirm),
        ("👍", Confirm),
        ("👍🏽", Confirm),
        ("✅", Confirm),
        ("1", Confirm),
        ("will come", Confirm),
        ("yes thank you", Confirm),
        ("reschedule", Reschedule),
        ("Reschedule please", Reschedule),
        ("can we do another day?", Reschedule),
        ("I need to change my appointment", Reschedule),
        ("could we postpone", Reschedule),
        ("is a different time possible?", Reschedule),
        ("can't come, can we move it?", Reschedule),
        ("tomorrow instead?", Reschedule),
        ("cancel", Cancel),
        ("Cancel.", Cancel),
        ("please cancel my appointment", Cancel),
        ("I can't come", Cancel),
        ("I can’t make it today", Cancel),
        ("sorry, won't make it", Cancel),
        ("I'm not coming", Cancel),
        ("ok but I cannot come", Cancel),
        ("unable to attend", Cancel),
        ("no", Cancel),
        ("STOP", Stop),
        ("stop", Stop),
        ("unsubscribe", Stop),
        ("please stop messaging me", Stop),
        ("where is the clinic?", Question),
        ("how much is a cleaning", Question),
        ("thanks", Other),
        ("", Other),
    ];

    /// Replies to a campaign ("reply to book your check-up") or any message at all.
    const BOOKING_REPLIES: [(&str, Intent); 16] = [
        ("ابي احجز", Book),
        ("أبي أحجز موعد", Book),
        ("ابغى موعد", Book),
        ("متى فيه موعد", Book),
        ("متى فيه موعد؟", Book),
        ("فيه مواعيد الأسبوع الجاي؟", Book),
        ("بحجز لي ولولدي", Book),
        ("أريد موعد", Book),
        ("book", Book),
        ("I want to book", Book),
        ("I'd like to make an appointment", Book),
        ("any appointments this week?", Book),
        ("when can I come?", Book),
        ("Book please", Book),
        ("schedule an appointment", Book),
        ("need an appointment for my son", Book),
    ];

    #[test]
    fn arabic_answers_to_a_reminder() {
        check(&ARABIC_REMINDER_REPLIES, Some(Kind::Reminder));
    }

    #[test]
    fn english_answers_to_a_reminder() {
        check(&ENGLISH_REMINDER_REPLIES, Some(Kind::Reminder));
    }

    #[test]
    fn booking_requests_in_both_languages() {
        check(&BOOKING_REPLIES, Some(Kind::Campaign));
        check(&BOOKING_REPLIES, None);
    }

    #[test]
    fn a_lone_cancel_word_is_stop_only_for_marketing_cancel_for_a_reminder_else_other() {
        let words = opt_out_words();
        for text in ["الغاء", "إلغاء", "إلغاء.", "cancel", "CANCEL", "الغي"] {
            assert_eq!(decide(text, Some(Kind::Campaign), &words), Stop, "{text}");
            assert_eq!(decide(text, Some(Kind::Broadcast), &words), Stop, "{text}");
            assert_eq!(decide(text, None, &words), Stop, "{text}");
            assert_eq!(decide(text, Some(Kind::Reminder), &words), Cancel, "{text}");
            assert_eq!(decide(text, Some(Kind::Feedback), &words), Other, "{text}");
            assert_eq!(decide(text, Some(Kind::Reply), &words), Other, "{text}");
        }
    }

    #[test]
    fn explicit_opt_outs_are_stop_in_every_context() {
        let words = opt_out_words();
        for text in [
            "STOP",
            "stop.",
            "إيقاف",
            "ايقاف",
            "الغاء الاشتراك",
            "إلغاء الاشتراك",
        ] {
            for kind in [
                None,
                Some(Kind::Reminder),
                Some(Kind::Feedback),
                Some(Kind::Campaign),
            ] {
                assert_eq!(
                    decide(text, kind, &words),
                    Stop,
                    "{text} answering {kind:?}"
                );
            }
        }
        // A configured word of the clinic's own.
        let mine = vec!["بس خلاص".to_owned()];
        assert_eq!(decide("بس خلاص", Some(Kind::Reminder), &mine), Stop);
        assert_eq!(decide("بس", Some(Kind::Reminder), &mine), Other);
    }

    #[test]
    fn a_button_payload_names_its_intent_and_message() {
        assert_eq!(from_payload("confirm:42"), Some((Confirm, 42)));
        assert_eq!(from_payload("reschedule:7"), Some((Reschedule, 7)));
        assert_eq!(from_payload("cancel:x"), None);
        assert_eq!(from_payload("Yes"), None);
        assert_eq!(from_payload("maybe:3"), None);
    }

    #[test]
    fn normalising_treats_spelling_variants_alike() {
        assert_eq!(words_of("إِنْ شَاءَ اللّٰه"), words_of("ان شاء الله"));
        assert_eq!(words_of("مـــوعـد"), words_of("موعد"));
        assert_eq!(words_of("تم👍"), vec!["تم".to_owned(), "👍".to_owned()]);
        assert_eq!(words_of("١٢٣"), vec!["123".to_owned()]);
    }
}
