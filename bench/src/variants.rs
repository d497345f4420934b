//! `--variants`: /validate/check rows against tessera with the audit log off, on (the default), on with
//! signed answers, and with 1000 policies loaded (audit on or off), each variant its own server measured
//! in the same run as the bare handler; every row is shown as a ratio to the bare handler and to "audit
//! off", and what the policies add per check is printed after the table.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use clap::ValueEnum;

use crate::load::{self, Client, Mode};
use crate::servers::{self, Proc, Tessera};
use crate::{Row, SETS, cpus, measure, print_row, sanity};

/// One server configuration under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Variant {
    /// `[audit] enabled = false`.
    Off,
    /// The default: one audit entry per request.
    On,
    /// Audit on and `[audit] sign_responses = true` (an RSA-PSS signature per answer).
    Signed,
    /// Audit on, with `--policies` admin and authentication policies loaded.
    Policies,
    /// Audit off, with the policies loaded: the policy cost without the audit writer's noise.
    OffPolicies,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Off => "audit off",
            Variant::On => "audit on",
            Variant::Signed => "audit on + signed",
            Variant::Policies => "audit on + policies",
            Variant::OffPolicies => "audit off + policies",
        }
    }

    fn config(self) -> &'static str {
        match self {
            Variant::Off | Variant::OffPolicies => "\n[audit]\nenabled = false\n",
            Variant::Signed => "\n[audit]\nsign_responses = true\n",
            Variant::On | Variant::Policies => "",
        }
    }
}

/// A running variant: its server and the clients of its PIN token set.
struct Setup {
    variant: Variant,
    tessera: Tessera,
    clients: Vec<Client>,
}

/// What `run` needs from the command line.
pub struct Plan<'a> {
    pub bin: &'a Path,
    pub variants: &'a [Variant],
    pub clients: &'a [usize],
    pub duration: Duration,
    /// Policies loaded for [`Variant::Policies`].
    pub policies: usize,
}

/// Starts one server per variant (PIN token set only), then measures, for each client count, the bare
/// handler and every variant with wrong and correct OTPs. Prints each row, then the table.
pub fn run(plan: &Plan<'_>, bare: &Proc, bare_clients: &[Client]) -> Result<()> {
    let max_clients = plan.clients.iter().copied().max().unwrap_or(1);
    println!(
        "# tessera-bench --variants: {} s a row, clients {:?}, {} CPUs; PIN tokens (argon2id t=1 m=1MiB)",
        plan.duration.as_secs_f64(),
        plan.clients,
        cpus()
    );
    let warm = (plan.duration / 5).min(Duration::from_secs(1));
    let mut setups = Vec::new();
    for &variant in plan.variants {
        let tessera = servers::start_tessera(plan.bin, variant.config())?;
        let mut sets = servers::create_fixtures(&tessera, &SETS[..1], max_clients)?;
        let mut clients = sets.remove(0);
        if matches!(variant, Variant::Policies | Variant::OffPolicies) {
            let n = servers::load_policies(&tessera, plan.policies)?;
            println!("# {}: {n} policies loaded", variant.name());
        }
        sanity(&tessera.proc, variant.name(), &mut clients)?;
        load::run(
            tessera.proc.addr,
            &mut clients[..8.min(max_clients)],
            Mode::Wrong,
            warm,
        )?;
        println!(
            "# {}: pid {} at {} (data {})",
            variant.name(),
            tessera.proc.pid(),
            tessera.proc.base(),
            tessera.dir.path().display()
        );
        setups.push(Setup {
            variant,
            tessera,
            clients,
        });
    }
    load::run(
        bare.addr,
        &mut bare_clients.to_vec()[..8.min(max_clients)],
        Mode::Wrong,
        warm,
    )?;

    let mut bare_rows = Vec::new();
    let mut rows: Vec<(Variant, Row)> = Vec::new();
    for &c in plan.clients {
        let bare_row = measure(
            bare,
            "bare",
            Mode::Wrong,
            &mut bare_clients.to_vec()[..c],
            plan.duration,
            f64::NAN,
        )?;
        print_row(&bare_row);
        for mode in [Mode::Wrong, Mode::Ok] {
            for s in &mut setups {
                let row = measure(
                    &s.tessera.proc,
                    s.variant.name(),
                    mode,
                    &mut s.clients[..c],
                    plan.duration,
                    bare_row.outcome.rps(),
                )?;
                print_row(&row);
                rows.push((s.variant, row));
            }
        }
        bare_rows.push(bare_row);
    }
    print_table(&bare_rows, &rows);
    println!();
    print_policy_cost(&rows);
    Ok(())
}

fn print_table(bare_rows: &[Row], rows: &[(Variant, Row)]) {
    println!();
    println!(
        "| variant | OTPs | clients | req/s | p50 ms | p99 ms | server µs CPU/req | req/s vs bare | req/s vs audit off | p99 vs bare | p99 vs audit off |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for bare in bare_rows {
        let o = &bare.outcome;
        println!(
            "| bare handler | wrong | {} | {:.0} | {:.3} | {:.3} | {:.1} | 100% | | 1.0× | |",
            bare.clients,
            o.rps(),
            o.percentile_ms(50.0),
            o.percentile_ms(99.0),
            cpu_per_request(bare),
        );
    }
    for (variant, r) in rows {
        let o = &r.outcome;
        let bare = bare_rows.iter().find(|b| b.clients == r.clients);
        let off = rows
            .iter()
            .find(|(v, x)| *v == Variant::Off && x.mode == r.mode && x.clients == r.clients)
            .map(|(_, x)| x);
        let rps_vs = |base: Option<&Row>| {
            base.map_or(String::new(), |b| {
                format!("{:.1}%", 100.0 * o.rps() / b.outcome.rps())
            })
        };
        let p99_vs = |base: Option<&Row>| {
            base.map_or(String::new(), |b| {
                format!(
                    "{:.2}×",
                    o.percentile_ms(99.0) / b.outcome.percentile_ms(99.0)
                )
            })
        };
        println!(
            "| {} | {} | {} | {:.0} | {:.3} | {:.3} | {:.1} | {} | {} | {} | {} |",
            variant.name(),
            r.mode.as_str(),
            r.clients,
            o.rps(),
            o.percentile_ms(50.0),
            o.percentile_ms(99.0),
            cpu_per_request(r),
            rps_vs(bare),
            rps_vs(off),
            p99_vs(bare),
            p99_vs(off),
        );
    }
}

/// What loading the policies adds to a check: server CPU per request and median latency, against the same
/// configuration without them.
fn print_policy_cost(rows: &[(Variant, Row)]) {
    for (with, without) in [
        (Variant::OffPolicies, Variant::Off),
        (Variant::Policies, Variant::On),
    ] {
        for (v, r) in rows.iter().filter(|(v, _)| *v == with) {
            let Some((_, base)) = rows
                .iter()
                .find(|(b, x)| *b == without && x.mode == r.mode && x.clients == r.clients)
            else {
                continue;
            };
            println!(
                "# policy cost ({} vs {}), {} OTPs, {} clients: server CPU {:+.1} µs/request, p50 {:+.3} ms",
                v.name(),
                without.name(),
                r.mode.as_str(),
                r.clients,
                cpu_per_request(r) - cpu_per_request(base),
                r.outcome.percentile_ms(50.0) - base.outcome.percentile_ms(50.0),
            );
        }
    }
}

fn cpu_per_request(r: &Row) -> f64 {
    1e6 * r.server_cpu_s / r.outcome.requests().max(1) as f64
}
