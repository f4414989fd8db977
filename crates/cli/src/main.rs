//! The `tandem` command-line tool.

mod commands;
mod npy;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// tandem: self-supervised (joint-embedding) training on any GPU.
#[derive(Parser)]
#[command(name = "tandem", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open the device, print adapter and limits, and check every kernel against its reference.
    Selftest(commands::selftest::Args),
    /// One joint-embedding energy of two NPY embedding matrices, with its gradients.
    Energy(commands::energy::Args),
    /// Pretrain an encoder with a self-supervised method (default: SimCLR on the built-in images).
    Train(Box<commands::train::Args>),
    /// Features of every sample of a dataset from a trained run's encoder, as NPY.
    Embed(commands::embed::Args),
    /// kNN and linear probes of frozen features, from a trained run or from feature files.
    Eval(Box<commands::eval::Args>),
    /// Collapse metrics of an embedding matrix: std, effective rank, uniformity, alignment.
    Collapse(commands::collapse::Args),
    /// Figures (SVG, PNG) and a Markdown summary of a run folder.
    Report(commands::report::Args),
    /// Kernel microbenchmarks.
    #[command(subcommand)]
    Bench(commands::bench::Bench),
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Selftest(args) => commands::selftest::run(&args),
        Command::Energy(args) => commands::energy::run(&args),
        Command::Bench(b) => commands::bench::run(b),
        Command::Train(args) => commands::train::run_train(&args),
        Command::Embed(args) => commands::embed::run(&args),
        Command::Eval(args) => commands::eval::run(&args),
        Command::Collapse(args) => commands::collapse::run(&args),
        Command::Report(args) => commands::report::run(&args),
    }
}
