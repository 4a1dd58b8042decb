//! Name lists for the demo clinic: Arabic names with their usual English spellings, in
//! parallel so a patient's `name_a` and `name_e` agree.

/// (Arabic, English) given names of men.
pub(super) const MALE: &[(&str, &str)] = &[
    ("محمد", "Mohammed"),
    ("أحمد", "Ahmed"),
    ("عبدالله", "Abdullah"),
    ("خالد", "Khalid"),
    ("فهد", "Fahad"),
    ("سعود", "Saud"),
    ("فيصل", "Faisal"),
    ("عمر", "Omar"),
    ("يوسف", "Yousef"),
    ("إبراهيم", "Ibrahim"),
    ("سلطان", "Sultan"),
    ("ناصر", "Nasser"),
    ("تركي", "Turki"),
    ("بندر", "Bandar"),
    ("ماجد", "Majed"),
    ("علي", "Ali"),
    ("حسن", "Hassan"),
    ("عبدالرحمن", "Abdulrahman"),
    ("سلمان", "Salman"),
    ("راشد", "Rashid"),
];

/// (Arabic, English) given names of women.
pub(super) const FEMALE: &[(&str, &str)] = &[
    ("نورة", "Noura"),
    ("سارة", "Sara"),
    ("فاطمة", "Fatimah"),
    ("عائشة", "Aisha"),
    ("مريم", "Maryam"),
    ("ريم", "Reem"),
    ("هند", "Hind"),
    ("لمى", "Lama"),
    ("جود", "Joud"),
    ("دانة", "Dana"),
    ("منيرة", "Munira"),
    ("أمل", "Amal"),
    ("هيا", "Haya"),
    ("شهد", "Shahad"),
    ("رغد", "Raghad"),
    ("لطيفة", "Latifa"),
    ("العنود", "Alanoud"),
    ("غادة", "Ghada"),
    ("بشرى", "Bushra"),
    ("رهف", "Rahaf"),
];

/// (Arabic, English) family names.
pub(super) const FAMILY: &[(&str, &str)] = &[
    ("العتيبي", "Alotaibi"),
    ("القحطاني", "Alqahtani"),
    ("الغامدي", "Alghamdi"),
    ("الزهراني", "Alzahrani"),
    ("الشمري", "Alshammari"),
    ("الدوسري", "Aldosari"),
    ("الحربي", "Alharbi"),
    ("المطيري", "Almutairi"),
    ("السبيعي", "Alsubaie"),
    ("العنزي", "Alanazi"),
    ("الشهري", "Alshehri"),
    ("المالكي", "Almalki"),
    ("الرشيدي", "Alrashidi"),
    ("البقمي", "Albaqami"),
    ("الخالدي", "Alkhaldi"),
    ("السهلي", "Alsahli"),
    ("الجهني", "Aljohani"),
    ("العمري", "Alomari"),
    ("الثقفي", "Althaqafi"),
    ("الهاجري", "Alhajri"),
];

/// The demo clinic's doctors: (Arabic name, English name). The last has no Arabic name, as
/// PMS databases hold placeholder "doctors" for the front desk.
pub(super) const DOCTORS: &[(&str, Option<&str>)] = &[
    ("د. سارة العتيبي", Some("Dr. Sara Alotaibi")),
    ("د. خالد القحطاني", Some("Dr. Khalid Alqahtani")),
    ("د. نورة الغامدي", Some("Dr. Noura Alghamdi")),
    ("د. فهد الدوسري", Some("Dr. Fahad Aldosari")),
    ("د. ريم الشهري", Some("Dr. Reem Alshehri")),
    ("د. عمر الحربي", None),
    ("د. هند المالكي", Some("Dr. Hind Almalki")),
    ("", Some("Reception")),
];
