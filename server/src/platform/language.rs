//! The language a patient message is written in.

use std::str::FromStr;

/// The language a message is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Language {
    Ar,
    En,
}

impl Language {
    /// Returns the ISO 639-1 code (also the WhatsApp template language code).
    pub fn code(self) -> &'static str {
        match self {
            Self::Ar => "ar",
            Self::En => "en",
        }
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "ar" => Ok(Self::Ar),
            "en" => Ok(Self::En),
            other => Err(format!("unknown message language {other:?}")),
        }
    }
}
