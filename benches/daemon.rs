//! The running daemon: finished command → visible in the store (target
//! ≤ 50 ms p99), idle CPU (target 0 %) and RSS (target ≤ 10 MiB).
//! Run: `cargo bench --bench daemon`. Uses the real binary and a real daemon.

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use mt::spool::record::{Builder, Kind};
use mt::spool::writer;

const RUNS: usize = 500;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; nothing to list.
    }
    let home = tempfile::tempdir().unwrap();
    let mt = env!("CARGO_BIN_EXE_mt");
    let ok = Command::new(mt)
        .env("MT_HOME", home.path())
        .args(["daemon", "start"])
        .status()
        .unwrap();
    assert!(ok.success());
    let spool = home.path().join("state/spool");
    let db = rusqlite::Connection::open(home.path().join("data/mt.db")).unwrap();
    let mut lat = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let id = format!("bench-{i}");
        let mut s = Builder::new(Kind::Start);
        s.field("id", &id)
            .field("t", "1700000000000000")
            .field("pid", "1")
            .field("cwd", "/")
            .field("a", "true");
        writer::append(&spool, &s.finish()).unwrap();
        let mut e = Builder::new(Kind::End);
        e.field("id", &id)
            .field("t", "1700000000001000")
            .field("exit", "0");
        let start = Instant::now();
        writer::append(&spool, &e.finish()).unwrap();
        loop {
            let done: Option<String> = db
                .query_row("SELECT state FROM events WHERE uid = ?1", [&id], |r| {
                    r.get(0)
                })
                .ok();
            if done.as_deref() == Some("done") {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "record {i} never showed up"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        lat.push(start.elapsed());
        // A human pace is far slower; keep the daemon from batching everything.
        std::thread::sleep(Duration::from_millis(2));
    }
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "end record written -> committed row ({RUNS} runs): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(lat[RUNS / 2]),
        ms(lat[RUNS * 99 / 100]),
        ms(lat[RUNS - 1])
    );

    let pid = daemon_pid(mt, &home);
    let ticks = || {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let f: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let before = ticks();
    std::thread::sleep(Duration::from_secs(5));
    let idle = ticks() - before;
    let rss = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap()
        .to_owned();
    println!("daemon idle for 5 s: {idle} clock ticks of CPU (1 tick = 10 ms); {rss}");
    Command::new(mt)
        .env("MT_HOME", home.path())
        .args(["daemon", "stop"])
        .status()
        .unwrap();
}

fn daemon_pid(mt: &str, home: &tempfile::TempDir) -> u32 {
    let out = Command::new(mt)
        .env("MT_HOME", home.path())
        .args(["daemon", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let after = text.split("(pid ").nth(1).unwrap();
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}
