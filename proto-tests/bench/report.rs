//! The benchmark's table: median (min–max) of each measurement per system,
//! the machine it ran on, and how the results compare with the targets.

use std::fmt::Write as _;

use crate::failover_measure::{DrainResult, FailoverResult, RATE};

/// One system's results.
pub struct Row {
    pub name: &'static str,
    pub failovers: Vec<FailoverResult>,
    pub drains: Vec<DrainResult>,
}

/// median, min and max of the values present, and how many were missing.
struct Summary {
    median: f64,
    min: f64,
    max: f64,
    missing: usize,
}

fn summary(values: impl IntoIterator<Item = Option<f64>>) -> Option<Summary> {
    let mut missing = 0;
    let mut present: Vec<f64> = values
        .into_iter()
        .filter_map(|v| {
            if v.is_none() {
                missing += 1;
            }
            v
        })
        .collect();
    if present.is_empty() {
        return None;
    }
    present.sort_by(f64::total_cmp);
    let n = present.len();
    let median = if n % 2 == 1 {
        present[n / 2]
    } else {
        (present[n / 2 - 1] + present[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        min: present[0],
        max: present[n - 1],
        missing,
    })
}

fn show(s: &Option<Summary>, unit: &str, digits: usize) -> String {
    match s {
        None => "not measured".to_string(),
        Some(s) => {
            let missing = if s.missing > 0 {
                format!(", {} not seen", s.missing)
            } else {
                String::new()
            };
            format!(
                "{:.digits$}{unit} ({:.digits$}–{:.digits$}{missing})",
                s.median, s.min, s.max
            )
        }
    }
}

fn count(values: impl IntoIterator<Item = usize>) -> Option<Summary> {
    summary(values.into_iter().map(|v| Some(v as f64)))
}

/// `date -u`, `uname -r`, the CPU model and count, the routers' versions.
pub fn machine() -> Vec<(String, String)> {
    use super::machine::{build, cpu_model, first_line as run};
    let cpus = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    vec![
        ("date".into(), run("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
        ("kernel (uname -r)".into(), run("uname", &["-r"])),
        ("CPU".into(), format!("{}, {cpus} CPUs", cpu_model())),
        ("router".into(), run("bird", &["--version"])),
        ("ExaBGP".into(), run("/usr/sbin/exabgp", &["--version"])),
        ("vipd build".into(), build()),
    ]
}

/// The results as Markdown.
pub fn markdown(machine: &[(String, String)], rows: &[Row], reps: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Failover benchmark: vipd and ExaBGP's healthcheck\n");
    let _ = writeln!(
        out,
        "Written by `VIPD_BENCH=1 cargo test --release --test failover_bench` \
         (`proto-tests/bench/failover.rs`).\n"
    );
    for (key, value) in machine {
        let _ = writeln!(out, "- {key}: {value}");
    }
    let _ = writeln!(
        out,
        "\nTopology `containerlab/anycast-ecmp-bird.clab.yml`: a BIRD router with ECMP over three \
         nodes, each serving the VIP 198.18.0.10 with a small HTTP service and announcing it \
         over eBGP. A client sends {RATE} requests/s through the router, each on a new \
         connection. Every system probes the service over HTTP every 1 s, rise 1, fall 1. \
         Each episode kills node1's service (SIGKILL) and starts it again; {reps} episodes \
         per system, then {reps} planned drains (node1's maintenance file touched, then \
         removed). Figures: median (min–max) over the episodes.\n"
    );
    let _ = writeln!(
        out,
        "| System | Failover: service killed → withdrawal at the router | … from the \
         service's sockets closing | Failed requests during failover | Recovery: service \
         back → announcement at the router | Reaction: refused probe → withdrawal at the \
         router | Failed requests, planned drain |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for row in rows {
        let f = &row.failovers;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.name,
            show(&summary(f.iter().map(|r| r.failover_ms)), " ms", 1),
            show(
                &summary(f.iter().map(|r| Some(r.failover_ms? - r.died_ms?))),
                " ms",
                1
            ),
            show(&count(f.iter().map(|r| r.failed)), "", 0),
            show(&summary(f.iter().map(|r| r.recovery_ms)), " ms", 0),
            show(&summary(f.iter().map(|r| r.reaction_ms)), " ms", 3),
            show(&count(row.drains.iter().map(|d| d.failed)), "", 0),
        );
    }
    let _ = writeln!(out, "\nDetails:\n");
    for row in rows {
        let f = &row.failovers;
        let remapped: usize = f.iter().map(|r| r.remapped).sum();
        let after: usize = f.iter().map(|r| r.failed_after_recovery).sum();
        let after_remapped: usize = f.iter().map(|r| r.remapped_after_recovery).sum();
        let drain_remapped: usize = row.drains.iter().map(|d| d.remapped).sum();
        let each = |values: Vec<Option<f64>>, digits: usize| {
            values
                .iter()
                .map(|v| v.map_or_else(|| "–".to_string(), |v| format!("{v:.digits$}")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "- {}: the killed service's sockets closed {} after the kill (the kernel tears \
             down the process's memory before its files, and no check can notice sooner); \
             a drained node was withdrawn {} after the touch; requests reset in flight by the \
             router's ECMP re-mapping: {remapped} during failovers, {drain_remapped} during \
             drains; failed after recovery: {after} ({after_remapped} of them re-mapped).\n  \
             Per episode, failover (ms): {}; failed requests: {}; recovery (ms): {}.",
            row.name,
            show(&summary(f.iter().map(|r| r.died_ms)), " ms", 2),
            show(
                &summary(row.drains.iter().map(|d| d.withdrawn_ms)),
                " ms",
                0
            ),
            each(f.iter().map(|r| r.failover_ms).collect(), 1),
            f.iter()
                .map(|r| r.failed.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            each(f.iter().map(|r| r.recovery_ms).collect(), 0),
        );
        let odd: Vec<&String> = f
            .iter()
            .flat_map(|r| &r.unexplained_after_recovery)
            .chain(row.drains.iter().flat_map(|d| &d.unexplained))
            .collect();
        if !odd.is_empty() {
            let _ = writeln!(
                out,
                "  Failures after recovery or in a drain that no ECMP change explains: {}.",
                odd.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
    let _ = writeln!(
        out,
        "\nHow it is measured: withdrawal and announcement times are the arrival of node1's \
         BGP UPDATE on the router's interface (tcpdump); the kill time is taken just before \
         SIGKILL is sent; the service's sockets closing is its FIN or RST on an idle \
         connection the benchmark keeps to it (tcpdump on node1's `lo`); \"service back\" is when the restarted service reported listening; \
         the refused probe is the RST answering the first probe's SYN after the kill on \
         node1's `lo` (tcpdump). Failed requests are those sent from the kill until the \
         service was back (failover), or from the touch until node1 was back (drain). The \
         router's ECMP is Linux's hash-threshold: when its set of next hops changes, some \
         flows in flight move to another node and are reset; those are counted in the \
         failures and told apart in the details (from `ip monitor` timestamps)."
    );
    out
}

/// How the measured medians compare with the targets (printed, not enforced).
pub fn targets(rows: &[Row]) -> String {
    let median = |row: &Row, f: &dyn Fn(&FailoverResult) -> Option<f64>| {
        summary(row.failovers.iter().map(f)).map(|s| s.median)
    };
    let find = |prefix: &str| rows.iter().find(|r| r.name.starts_with(prefix));
    let mut out = String::from("\n## Against the targets\n\n");
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    if let Some(watch) = find("vipd, event-driven") {
        if let Some(ms) = median(watch, &|r| r.failover_ms) {
            let _ = writeln!(
                out,
                "- event-driven failover p50 < 5 ms: {ms:.2} ms, {}",
                verdict(ms < 5.0)
            );
        }
        if let Some(n) = count(watch.failovers.iter().map(|r| r.failed)) {
            let _ = writeln!(
                out,
                "- event-driven failed requests ≤ 1: median {:.0}, max {:.0}, {}",
                n.median,
                n.max,
                verdict(n.median <= 1.0)
            );
        }
        if let Some(ms) = median(watch, &|r| r.reaction_ms) {
            let _ = writeln!(
                out,
                "- reaction < 0.5 ms: {ms:.3} ms, {}",
                verdict(ms < 0.5)
            );
        }
    }
    if let (Some(poll), Some(exa)) = (find("vipd, polled"), find("ExaBGP"))
        && let (Some(p), Some(e)) = (
            median(poll, &|r| r.failover_ms),
            median(exa, &|r| r.failover_ms),
        )
    {
        let _ = writeln!(
            out,
            "- polled no slower than ExaBGP: {p:.0} ms against {e:.0} ms (medians of a \
             uniform wait for the next probe: compare with care), {}",
            verdict(p <= e)
        );
    }
    for row in rows.iter().filter(|r| r.name.starts_with("vipd")) {
        let lost: usize = row.drains.iter().map(|d| d.failed - d.remapped).sum();
        let remapped: usize = row.drains.iter().map(|d| d.remapped).sum();
        let _ = writeln!(
            out,
            "- {}: zero failed requests on a planned drain: {lost} lost over {} drains, {}; \
             besides, {remapped} request(s) in flight were reset when the router's \
             hash-threshold ECMP re-mapped them (no speaker can prevent that)",
            row.name,
            row.drains.len(),
            verdict(lost == 0)
        );
    }
    out
}
