//! `nabd`: parses the command line and runs the chosen command.

use anyhow::Context;
use clap::Parser;
use nabd::cli::{Cli, Command};
use nabd::web::{Application, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal; a broken one is worth stopping for.
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        return Err(error).context("cannot read .env");
    }
    let cli = Cli::parse();
    nabd::init_tracing();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(cli.config).await?;
            let addr = app.local_addr()?;
            tracing::info!("Nabd is serving at http://{addr}");
            app.run_until(shutdown_signal()).await?;
        }
    }
    Ok(())
}
