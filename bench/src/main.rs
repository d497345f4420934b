//! `tessera-bench`: /validate/check throughput and latency of a real `tessera serve` against a bare
//! axum handler measured in the same run, at several client counts. Prints figures; asserts nothing.
//!
//! ```text
//! cargo build --release -p tessera -p tessera-bench
//! target/release/tessera-bench                      # 10 s a row, 1/8/32 clients
//! target/release/tessera-bench --duration 0.2       # smoke run
//! target/release/tessera-bench --duration 3 --variants off,on,signed,policies,off-policies   # audit, policy costs
//! ```

mod bare;
mod import;
mod load;
mod servers;
mod variants;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use load::{Client, Mode, Outcome};
use servers::{Proc, TokenSet, cpu_seconds};
use variants::Variant;

#[derive(Parser)]
#[command(about = "Benchmark POST /validate/check of tessera against a bare axum handler")]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Seconds per row.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Client counts (concurrent connections), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 8, 32])]
    clients: Vec<usize>,
    /// The tessera binary (default: <workspace>/target/release/tessera).
    #[arg(long)]
    tessera: Option<PathBuf>,
    /// Measure only the bare handler (no tessera needed).
    #[arg(long)]
    bare_only: bool,
    /// Instead of the default rows, compare server configurations (PIN tokens only), comma-separated:
    /// off (audit off), on (audit on, the default), signed (audit on + signed answers), policies (audit on +
    /// `--policies` policies loaded), off-policies (audit off + the policies). Every row is shown against
    /// the bare handler and against `off`.
    #[arg(long, value_enum, value_delimiter = ',')]
    variants: Vec<Variant>,
    /// Policies loaded for the `policies` variant (one matches the bench realm, the others do not).
    #[arg(long, default_value_t = 1000)]
    policies: usize,
}

#[derive(Subcommand)]
enum Cmd {
    /// Internal: serve the bare handler (started by the bench itself).
    #[command(hide = true)]
    BareServer,
    /// Seed import: POST /token/load and `tessera token import` (see bench/src/import.rs).
    Import(import::ImportArgs),
}

/// The token sets: PIN hashed with PI_FAST_HASH parameters, and no PIN at all.
const SETS: [TokenSet; 2] = [
    TokenSet {
        user_prefix: "bu",
        serial_prefix: "BENCH",
        pin: "benchpin",
    },
    TokenSet {
        user_prefix: "bn",
        serial_prefix: "NOPIN",
        pin: "",
    },
];
const SET_NAMES: [&str; 2] = ["tessera pin", "tessera no-pin"];

struct Row {
    target: String,
    mode: Mode,
    clients: usize,
    outcome: Outcome,
    server_cpu_s: f64,
    client_cpu_s: f64,
    bare_rps: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    match &args.command {
        Some(Cmd::BareServer) => return bare::serve(),
        Some(Cmd::Import(a)) => return import::run(a),
        None => {}
    }
    let duration = Duration::from_secs_f64(args.duration);
    let max_clients = args
        .clients
        .iter()
        .copied()
        .max()
        .context("no client counts")?;
    let bare = servers::start_bare()?;
    let bare_clients = vec![
        Client {
            user: "bu01".into(),
            realm: servers::REALM.into(),
            pin: "benchpin".into(),
            next_counter: 0
        };
        max_clients
    ];
    if args.bare_only {
        println!(
            "# tessera-bench: bare handler only, {} s a row, clients {:?}, {} CPUs",
            args.duration,
            args.clients,
            cpus()
        );
        let mut rows = Vec::new();
        for &c in &args.clients {
            let row = measure(
                &bare,
                "bare",
                Mode::Wrong,
                &mut bare_clients.clone()[..c],
                duration,
                f64::NAN,
            )?;
            print_row(&row);
            rows.push(row);
        }
        print_table(&rows);
        return Ok(());
    }
    let bin = args
        .tessera
        .clone()
        .unwrap_or_else(servers::default_tessera_bin);
    if !bin.exists() {
        bail!(
            "{} not found: run `cargo build --release -p tessera` first",
            bin.display()
        );
    }
    if !args.variants.is_empty() {
        let plan = variants::Plan {
            bin: &bin,
            variants: &args.variants,
            clients: &args.clients,
            duration,
            policies: args.policies,
        };
        return variants::run(&plan, &bare, &bare_clients);
    }
    let tessera = servers::start_tessera(&bin, "")?;
    println!(
        "# tessera-bench: {} s a row, clients {:?}, {} CPUs",
        args.duration,
        args.clients,
        cpus()
    );
    println!(
        "# bare handler pid {} at {}; tessera pid {} at {} (data {})",
        bare.pid(),
        bare.base(),
        tessera.proc.pid(),
        tessera.proc.base(),
        tessera.dir.path().display()
    );
    let mut sets = servers::create_fixtures(&tessera, &SETS, max_clients)?;
    for (name, clients) in SET_NAMES.iter().zip(sets.iter_mut()) {
        sanity(&tessera.proc, name, clients)?;
    }

    // Warm-up: connections, allocator, plugin instances.
    let warm = Duration::from_secs_f64((args.duration / 5.0).min(1.0));
    load::run(
        bare.addr,
        &mut bare_clients.clone()[..8.min(max_clients)],
        Mode::Wrong,
        warm,
    )?;
    load::run(
        tessera.proc.addr,
        &mut sets[0][..8.min(max_clients)],
        Mode::Wrong,
        warm,
    )?;

    let mut rows = Vec::new();
    for &c in &args.clients {
        let bare_row = measure(
            &bare,
            "bare",
            Mode::Wrong,
            &mut bare_clients.clone()[..c],
            duration,
            f64::NAN,
        )?;
        let bare_rps = bare_row.outcome.rps();
        print_row(&bare_row);
        rows.push(bare_row);
        for (name, clients) in SET_NAMES.iter().zip(sets.iter_mut()) {
            for mode in [Mode::Wrong, Mode::Ok] {
                let row = measure(
                    &tessera.proc,
                    name,
                    mode,
                    &mut clients[..c],
                    duration,
                    bare_rps,
                )?;
                print_row(&row);
                rows.push(row);
            }
        }
    }
    print_table(&rows);
    Ok(())
}

/// One correct and one wrong OTP for the first client must be ACCEPT and REJECT.
fn sanity(server: &Proc, name: &str, clients: &mut [Client]) -> Result<()> {
    let ok = load::run_one(server.addr, &mut clients[0], Mode::Ok)?;
    let wrong = load::run_one(server.addr, &mut clients[0], Mode::Wrong)?;
    if ok.accepted != 1 || wrong.rejected != 1 {
        bail!(
            "{name} sanity check failed: correct OTP accepted {} of 1, wrong OTP rejected {} of 1",
            ok.accepted,
            wrong.rejected
        );
    }
    println!("# sanity {name}: correct=ACCEPT wrong=REJECT");
    Ok(())
}

fn measure(
    server: &Proc,
    target: &str,
    mode: Mode,
    clients: &mut [Client],
    duration: Duration,
    bare_rps: f64,
) -> Result<Row> {
    let (s0, c0) = (cpu_seconds(server.pid()), cpu_seconds(std::process::id()));
    let outcome = load::run(server.addr, clients, mode, duration)?;
    let (s1, c1) = (cpu_seconds(server.pid()), cpu_seconds(std::process::id()));
    Ok(Row {
        target: target.to_string(),
        mode,
        clients: clients.len(),
        outcome,
        server_cpu_s: s1 - s0,
        client_cpu_s: c1 - c0,
        bare_rps,
    })
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

fn ratio(row: &Row) -> String {
    if row.bare_rps.is_nan() {
        "100%".to_string()
    } else {
        format!("{:.1}%", 100.0 * row.outcome.rps() / row.bare_rps)
    }
}

fn print_row(r: &Row) {
    let o = &r.outcome;
    let secs = o.elapsed.as_secs_f64();
    println!(
        "{} {} c={} | rps={:.0} p50_ms={:.3} p99_ms={:.3} | requests={} accepted={} rejected={} non200={} errors={} | server_cpu_us_per_req={:.1} server_cores={:.2} client_cores={:.2} | vs_bare={}",
        r.target,
        r.mode.as_str(),
        r.clients,
        o.rps(),
        o.percentile_ms(50.0),
        o.percentile_ms(99.0),
        o.requests(),
        o.accepted,
        o.rejected,
        o.other,
        o.errors,
        1e6 * r.server_cpu_s / o.requests().max(1) as f64,
        r.server_cpu_s / secs,
        r.client_cpu_s / secs,
        ratio(r),
    );
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| target | OTPs | clients | req/s | p50 ms | p99 ms | accepted/rejected/non-200 | server µs CPU/req | % of bare |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let o = &r.outcome;
        println!(
            "| {} | {} | {} | {:.0} | {:.3} | {:.3} | {}/{}/{} | {:.1} | {} |",
            r.target,
            r.mode.as_str(),
            r.clients,
            o.rps(),
            o.percentile_ms(50.0),
            o.percentile_ms(99.0),
            o.accepted,
            o.rejected,
            o.other,
            1e6 * r.server_cpu_s / o.requests().max(1) as f64,
            ratio(r),
        );
    }
}
