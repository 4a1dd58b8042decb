//! `nabd`: parses the command line and runs the chosen command.

use anyhow::Context;
use nabd::cli::commands;
use nabd::cli::{
    AdminCommand, Cli, Command, DbCommand, DemoCommand, FeedbackCommand, MarketingCommand,
    OutboxCommand, RemindersCommand,
};
use nabd::web::{Application, shutdown_signal};
use std::io::IsTerminal;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal; a broken one is worth stopping for.
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        return Err(error).context("cannot read .env");
    }
    let cli = Cli::parse_args();
    let log_format = cli.config.log_format;
    nabd::init_tracing(log_format);
    // A command that sent marks its instance stopped however it ends.
    let outcome: anyhow::Result<()> = async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                let app = Application::build(cli.config).await?;
                let addr = app.local_addr()?;
                tracing::info!("Nabd is serving at http://{addr}");
                app.run_until(shutdown_signal()).await?;
            }
            Command::Demo(DemoCommand::Seed(args)) => {
                let clock = cli.config.clock()?;
                let options = nabd::demo::SeedOptions {
                    out: args.out,
                    seed: args.seed,
                    patients: args.patients,
                    today: args.today.unwrap_or_else(|| clock.today()),
                    now: clock.now().time(),
                    progress: std::io::stderr().is_terminal(),
                };
                let report = nabd::demo::seed(&options).await?;
                println!(
                    "wrote {}: {} doctors, {} patients, {} appointments, {} invoices, {} receipts in {:.1} s",
                    options.out.display(),
                    report.doctors,
                    report.patients,
                    report.appointments,
                    report.invoices,
                    report.receipts,
                    report.elapsed_ms as f64 / 1000.0
                );
            }
            Command::Reminders(RemindersCommand::Send(args)) | Command::RemindersSendAlias(args) => {
                commands::send_reminders(&cli.config, &args).await?;
            }
            Command::Feedback(FeedbackCommand::Send(args)) | Command::FeedbackSendAlias(args) => {
                commands::send_feedback(&cli.config, &args).await?;
            }
            Command::Marketing(MarketingCommand::SendManual(args)) | Command::SendManualAlias(args) => {
                commands::send_manual(&cli.config, &args).await?;
            }
            Command::Marketing(MarketingCommand::SelectDailyBatch) | Command::SelectAlias => {
                commands::select_batch(&cli.config).await?;
            }
            Command::Marketing(MarketingCommand::QueueStagedMessages) | Command::QueueAlias => {
                commands::queue_staged(&cli.config).await?;
            }
            Command::Marketing(MarketingCommand::TrackConversions) | Command::TrackAlias => {
                commands::track_conversions(&cli.config).await?;
            }
            Command::Marketing(MarketingCommand::Report(args)) => {
                commands::campaign_report(&cli.config, &args).await?;
            }
            Command::Admin(AdminCommand::CreateUser(args)) => {
                commands::create_user(&cli.config, &args).await?;
            }
            Command::Admin(AdminCommand::SetPassword(args)) => {
                commands::set_password(&cli.config, &args).await?;
            }
            Command::Db(DbCommand::Copy(args)) => {
                commands::copy_database(&cli.config, &args).await?;
            }
            Command::Check(args) => {
                commands::check(&cli.config, &args).await?;
            }
            Command::Backup(args) => {
                commands::backup(&cli.config, &args).await?;
            }
            Command::Restore(args) => {
                commands::restore(&cli.config, &args).await?;
            }
            Command::Outbox(OutboxCommand::List(args)) => {
                commands::list_outbox(&cli.config, &args).await?;
            }
        }
        Ok(())
    }
    .await;
    commands::finish().await;
    // With JSON logs, the reason Nabd stopped is a log line like the others (a shipper reads
    // nothing else); with text, it is printed as `Error: ...`.
    if let (Err(error), nabd::config::LogFormat::Json) = (&outcome, log_format) {
        tracing::error!(error = %format!("{error:#}"), "nabd stopped");
        std::process::exit(1);
    }
    outcome
}
