//! The `nabd` command line: serving, and one subcommand per job so that every scheduled job
//! also runs by hand ([`commands`], each a thin call into the service the scheduler runs).

pub mod commands;

use crate::config::Config;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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

impl Cli {
    /// Parses the process's arguments (exiting with clap's message on a bad one). Asked for
    /// help, a subcommand shows its own options only: the settings, global to every command,
    /// are listed once by `nabd --help`.
    pub fn parse_args() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let args: Vec<String> = std::env::args_os()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        match Self::command().try_get_matches_from(&args) {
            Ok(matches) => Self::from_arg_matches(&matches).unwrap_or_else(|error| error.exit()),
            Err(error) if error.kind() == clap::error::ErrorKind::DisplayHelp => {
                print!("{}", help_for(&args));
                std::process::exit(0);
            }
            Err(error) => error.exit(),
        }
    }
}

/// The help `args` ask for (`nabd demo seed --help`, `nabd help demo seed`): the named
/// subcommand's own options, with the settings hidden (`nabd --help` lists them).
pub fn help_for(args: &[String]) -> String {
    let long = !args.iter().any(|arg| arg == "-h");
    let mut root = command();
    let mut path: Vec<String> = Vec::new();
    let mut cursor: &clap::Command = &root;
    for word in args.iter().skip(1).filter(|arg| !arg.starts_with('-')) {
        if word == "help" && path.is_empty() {
            continue;
        }
        // A word that names no subcommand here is a flag's value: look past it.
        if let Some(sub) = cursor.find_subcommand(word) {
            path.push(sub.get_name().to_owned());
            cursor = sub;
        }
    }
    render_help(&mut root, &path, long)
}

fn render_help(command: &mut clap::Command, path: &[String], long: bool) -> String {
    if let Some((name, rest)) = path.split_first()
        && let Some(sub) = command.find_subcommand_mut(name)
    {
        return render_help(sub, rest, long);
    }
    let help = if long {
        command.render_long_help()
    } else {
        command.render_help()
    };
    help.to_string()
}

/// Returns the command line's definition for showing help: the settings (global arguments)
/// hidden from every subcommand's help, with a pointer to `nabd --help` in their place. Only
/// for help: hiding is done after clap has built the definition, which parsing must not see.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut root = Cli::command();
    // Building propagates the global arguments into every subcommand, where they can be hidden.
    root.build();
    let settings: Vec<clap::Id> = root
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .map(|arg| arg.get_id().clone())
        .collect();
    hide_settings(&mut root, &settings);
    root
}

fn hide_settings(command: &mut clap::Command, settings: &[clap::Id]) {
    for sub in command.get_subcommands_mut() {
        let mut own = std::mem::take(sub);
        for id in settings {
            if own.get_arguments().any(|arg| arg.get_id() == id) {
                own = own.mut_arg(id.clone(), |arg| arg.hide(true));
            }
        }
        hide_settings(&mut own, settings);
        *sub = own.after_help(
            "Settings (NABD_* environment variables, or the same flags) are listed by \
             `nabd --help`.",
        );
    }
}

/// Nabd's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application (the default).
    Serve,
    /// The embedded demo clinic.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Appointment reminders.
    #[command(subcommand)]
    Reminders(RemindersCommand),
    /// Post-visit feedback requests.
    #[command(subcommand)]
    Feedback(FeedbackCommand),
    /// Marketing messages.
    #[command(subcommand)]
    Marketing(MarketingCommand),
    /// The outbox of patient messages.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Admin users.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The app database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Check the configuration and every connection (app database, clinic database against
    /// the data contract, WhatsApp, templates, schedules); exits non-zero on a problem.
    Check(CheckArgs),
    /// Write a consistent copy of the SQLite app database while Nabd runs.
    Backup(BackupArgs),
    /// Put a backup in place of the app database (Nabd stopped); unfinished messages become
    /// `uncertain`, so nothing is sent twice.
    Restore(RestoreArgs),
    /// The original system's name for `reminders send`.
    #[command(name = "reminders:send", hide = true)]
    RemindersSendAlias(RemindersArgs),
    /// The original system's name for `feedback send`.
    #[command(name = "feedback:send", hide = true)]
    FeedbackSendAlias(RunArgs),
    /// The original system's name for `marketing send-manual`.
    #[command(name = "marketing:send-manual", hide = true)]
    SendManualAlias(SendManualArgs),
    /// The original system's name for `marketing select-daily-batch`.
    #[command(name = "marketing:select-daily-batch", hide = true)]
    SelectAlias,
    /// The original system's name for `marketing queue-staged-messages`.
    #[command(name = "marketing:queue-staged-messages", hide = true)]
    QueueAlias,
    /// The original system's name for `marketing track-conversions`.
    #[command(name = "marketing:track-conversions", hide = true)]
    TrackAlias,
}

/// `nabd reminders ...`
#[derive(Debug, Subcommand)]
pub enum RemindersCommand {
    /// Queue the reminders due now (what the scheduler does every 15 minutes), once.
    Send(RemindersArgs),
}

/// `nabd feedback ...`
#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Queue the feedback requests due now (what the scheduler does hourly), once.
    Send(RunArgs),
}

/// `nabd marketing ...`
#[derive(Debug, Subcommand)]
pub enum MarketingCommand {
    /// Send one message to one mobile now, through the outbox.
    SendManual(SendManualArgs),
    /// Select today's batch of lapsed patients (what the scheduler does at 05:00), once.
    SelectDailyBatch,
    /// Queue the staged patients' messages (what the scheduler does at 10:00), once.
    QueueStagedMessages,
    /// Mark contacted and control patients who booked again (the scheduler: 23:00), once.
    TrackConversions,
    /// Print the campaign report.
    Report(ReportArgs),
}

/// `nabd marketing report` options.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The whole report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// First batch day included (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last batch day included (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Only returned patients whose name or mobile contains this.
    #[arg(long)]
    pub search: Option<String>,
    /// Page of returned patients (50 per page).
    #[arg(long, default_value_t = 1)]
    pub page: u32,
}

/// `nabd admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user; the password is read without echo (or from standard input when it is
    /// not a terminal, for scripts).
    CreateUser(CreateUserArgs),
    /// Set a user's password (read the same way) and end their sessions.
    SetPassword(SetPasswordArgs),
}

/// `nabd admin create-user` arguments.
#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// 3 to 64 letters, digits, '.', '-' or '_'.
    pub username: String,
    /// `admin` does everything; `viewer` sees reports only.
    #[arg(long, default_value = "admin")]
    pub role: crate::admin::Role,
}

/// `nabd db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy every app table from one database to another (SQLite to PostgreSQL, to scale
    /// out), ids and idempotency keys kept, row counts verified. Refused while a Nabd process
    /// runs on the source, and when the target holds data (unless --replace).
    Copy(CopyArgs),
}

/// `nabd db copy` arguments.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The database to copy: `sqlite://data/nabd.db`, or a PostgreSQL URL.
    #[arg(long)]
    pub from: String,
    /// The database to copy into (created and migrated when it is a new SQLite file; a
    /// PostgreSQL database must exist).
    #[arg(long)]
    pub to: String,
    /// Empty the target first when it already holds data.
    #[arg(long)]
    pub replace: bool,
}

/// `nabd check` options.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The report as one JSON object (`ok`, and `items` with section, subject, level, detail).
    #[arg(long)]
    pub json: bool,
}

/// `nabd backup` arguments.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (it must not exist).
    #[arg(long)]
    pub out: PathBuf,
}

/// `nabd restore` arguments.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore (a file `nabd backup` wrote) over `NABD_DATABASE_URL`.
    #[arg(
        long,
        required_unless_present = "in_place",
        conflicts_with = "in_place"
    )]
    pub from: Option<PathBuf>,
    /// The database at `NABD_DATABASE_URL` was just restored by other means (pg_restore): only
    /// mark its queued and sending messages uncertain.
    #[arg(long)]
    pub in_place: bool,
    /// Restore even though the target holds activity newer than the backup (it is lost).
    #[arg(long)]
    pub force: bool,
    /// Keep the backup's queued messages queued (for a backup taken with Nabd stopped, or one
    /// whose queue the admin knows did not move since); sending ones still become uncertain.
    #[arg(long)]
    pub resume: bool,
}

/// `nabd admin set-password` arguments.
#[derive(Debug, Args)]
pub struct SetPasswordArgs {
    pub username: String,
}

/// `nabd outbox ...`
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List outbox messages, newest first.
    List(ListArgs),
}

/// Options of a reminder or feedback run.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Print what would be queued; queue nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `nabd reminders send` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct RemindersArgs {
    /// Which touches: `day_before` (tomorrow's appointments, in the evening slot), `same_day`,
    /// or `all` configured ones.
    #[arg(long, value_enum, default_value = "all")]
    pub touch: crate::messaging::reminders::Touches,
    /// Print what would be queued; queue nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `nabd marketing send-manual` arguments.
#[derive(Debug, Args)]
pub struct SendManualArgs {
    /// The mobile, in any local or international form.
    pub mobile: String,
    /// The message text.
    pub message: String,
}

/// `nabd outbox list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// One JSON object per line (id, kind, to, body, key, state, attempts, scheduled_at,
    /// sent_at, error).
    #[arg(long)]
    pub json: bool,
    /// Only messages of this kind (reminder, feedback, campaign, broadcast, manual).
    #[arg(long)]
    pub kind: Option<crate::messaging::Kind>,
    /// Only messages in this state (queued, sending, sent, failed, uncertain, skipped,
    /// cancelled).
    #[arg(long)]
    pub state: Option<crate::messaging::outbox::State>,
    /// At most this many (0: all).
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

/// `nabd demo ...`
#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Write a demo clinic (a SQLite file with the clinic data contract's tables).
    Seed(SeedArgs),
}

/// `nabd demo seed` options.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The SQLite file to write; replaced when it exists.
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed: the same seed, size and dates give the same clinic.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of patients (about 10 appointments each).
    #[arg(long, default_value_t = 6000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
    pub patients: u32,
    /// The clinic-local date the history ends on (default: today on Nabd's clock).
    #[arg(long)]
    pub today: Option<NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn reminders_send_takes_a_touch_in_the_settings_spelling() {
        let cli = Cli::try_parse_from(["nabd", "reminders", "send", "--touch", "day_before"])
            .expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Reminders(RemindersCommand::Send(RemindersArgs {
                touch: crate::messaging::reminders::Touches::DayBefore,
                dry_run: false,
            })))
        ));
        let alias = Cli::try_parse_from(["nabd", "reminders:send", "--touch", "same_day"])
            .expect("the original name still works");
        assert!(matches!(
            alias.command,
            Some(Command::RemindersSendAlias(_))
        ));
        assert!(Cli::try_parse_from(["nabd", "reminders", "send", "--touch", "weekly"]).is_err());
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    #[test]
    fn a_subcommand_help_shows_its_own_options_and_points_to_the_settings() {
        let mut root = command();
        let seed = root
            .find_subcommand_mut("demo")
            .and_then(|demo| demo.find_subcommand_mut("seed"))
            .expect("demo seed exists");
        let help = seed.render_long_help().to_string();
        assert!(help.contains("--out"), "{help}");
        assert!(help.contains("--patients"), "{help}");
        assert!(!help.contains("--clinic-url"), "{help}");
        assert!(!help.contains("NABD_TIMEZONE"), "{help}");
        assert!(help.contains("nabd --help"), "{help}");
        let top = command().render_long_help().to_string();
        assert!(top.contains("--clinic-url"), "{top}");
        assert!(top.contains("NABD_TIMEZONE"), "{top}");
    }

    #[test]
    fn settings_are_still_accepted_after_a_subcommand() {
        let cli =
            Cli::try_parse_from(["nabd", "serve", "--timezone", "Asia/Dubai"]).expect("parses");
        assert_eq!(cli.config.timezone, chrono_tz::Asia::Dubai);
    }

    #[test]
    fn help_for_a_subcommand_is_found_past_the_settings_before_it() {
        let args = |line: &str| line.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let help = help_for(&args("nabd --database-url sqlite://x.db demo seed --help"));
        assert!(help.contains("--patients"), "{help}");
        assert!(!help.contains("--clinic-url"), "{help}");
        let help = help_for(&args("nabd help demo seed"));
        assert!(help.contains("--patients"), "{help}");
        let top = help_for(&args("nabd --help"));
        assert!(top.contains("NABD_CLINIC_URL"), "{top}");
    }

    #[test]
    fn no_subcommand_means_serve() {
        let cli = Cli::try_parse_from(["nabd"]).expect("parses");
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["nabd", "serve"]).expect("parses");
        assert!(matches!(cli.command, Some(Command::Serve)));
    }

    #[test]
    fn the_original_command_names_still_work() {
        let cli = Cli::try_parse_from(["nabd", "reminders:send", "--dry-run"]).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::RemindersSendAlias(RemindersArgs {
                dry_run: true,
                ..
            }))
        ));
        let cli = Cli::try_parse_from(["nabd", "feedback:send"]).expect("parses");
        assert!(matches!(cli.command, Some(Command::FeedbackSendAlias(_))));
        let cli = Cli::try_parse_from(["nabd", "marketing:send-manual", "0501234567", "hi"])
            .expect("parses");
        assert!(matches!(cli.command, Some(Command::SendManualAlias(_))));
        let cli = Cli::try_parse_from(["nabd", "outbox", "list", "--json", "--kind", "reminder"])
            .expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Outbox(OutboxCommand::List(ListArgs {
                json: true,
                ..
            })))
        ));
    }

    #[test]
    fn demo_seed_takes_its_options() {
        let cli = Cli::try_parse_from([
            "nabd",
            "demo",
            "seed",
            "--out",
            "x.db",
            "--patients",
            "10",
            "--today",
            "2026-01-05",
        ])
        .expect("parses");
        let Some(Command::Demo(DemoCommand::Seed(args))) = cli.command else {
            panic!("not demo seed: {:?}", cli.command);
        };
        assert_eq!(args.patients, 10);
        assert_eq!(args.today, NaiveDate::from_ymd_opt(2026, 1, 5));
        assert_eq!(args.seed, 42);
    }

    #[test]
    fn a_bad_setting_is_refused_with_its_name() {
        let error =
            Cli::try_parse_from(["nabd", "--timezone", "Mars/Olympus"]).expect_err("unknown zone");
        assert!(error.to_string().contains("NABD_TIMEZONE"), "{error}");
    }
}
