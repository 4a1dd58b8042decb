//! The `nabd` command line: serving, and (as features land) one subcommand per job so that
//! every scheduled job also runs by hand.

use crate::config::Config;
use clap::{Parser, Subcommand};

/// Nabd: clinic analytics and patient engagement.
#[derive(Debug, Parser)]
#[command(name = "nabd", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without one, Nabd serves.
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub config: Config,
}

/// Nabd's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application (the default).
    Serve,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve() {
        let cli = Cli::try_parse_from(["nabd"]).expect("parses");
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["nabd", "serve"]).expect("parses");
        assert!(matches!(cli.command, Some(Command::Serve)));
    }

    #[test]
    fn a_bad_setting_is_refused_with_its_name() {
        let error =
            Cli::try_parse_from(["nabd", "--timezone", "Mars/Olympus"]).expect_err("unknown zone");
        assert!(error.to_string().contains("NABD_TIMEZONE"), "{error}");
    }
}
