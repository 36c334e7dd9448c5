//! Ingest throughput: spool records → committed rows, one core
//! (target, BENCHMARKS.md: ≥ 100,000 records/s). Run: `cargo bench --bench ingest`.
//!
//! Each sample writes a fresh spool of hook records (what interactive shells
//! produce) and `mt exec` start/end pairs, all from a real git repository,
//! then drains it into a fresh SQLite store exactly as the daemon does.

use std::fs;
use std::path::Path;
use std::process::Command;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mt::ingest;
use mt::redact::Filters;
use mt::spool::record::{Builder, Kind};
use mt::store::Store;

const RECORDS: u64 = 100_000;

fn spool(dir: &Path, repo: &Path) {
    let spool = dir.join("spool");
    fs::create_dir_all(&spool).unwrap();
    let mut hook = Vec::new();
    let mut exec = Vec::new();
    let t0 = 1_700_000_000_000_000i64;
    let cwd = repo.to_str().unwrap();
    for i in 0..RECORDS as i64 / 2 {
        let mut b = Builder::new(Kind::Hook);
        b.field("id", format!("s:{i}"))
            .field("sid", "s")
            .field("t", (t0 + i * 1000).to_string())
            .field("dur", "500")
            .field("exit", "0")
            .field("cwd", cwd)
            .field("cmd", format!("cargo test --package foo -- test_{i}"));
        hook.extend(b.finish());
    }
    for i in 0..RECORDS as i64 / 4 {
        let id = format!("x{i}");
        let mut s = Builder::new(Kind::Start);
        s.field("id", &id)
            .field("t", (t0 + i * 1000).to_string())
            .field("pid", "1")
            .field("cwd", cwd)
            .field("root", cwd)
            .field("head", "ref: refs/heads/main")
            .field("a", "make")
            .field("a", format!("target{i}"));
        exec.extend(s.finish());
        let mut e = Builder::new(Kind::End);
        e.field("id", &id)
            .field("t", (t0 + i * 1000 + 900).to_string())
            .field("exit", "0");
        exec.extend(e.finish());
    }
    // A pid that cannot exist: the writer is gone, the files are drained whole.
    fs::write(spool.join("h-999999999-1.log"), hook).unwrap();
    fs::write(spool.join("x-999999999-1.log"), exec).unwrap();
}

fn bench(c: &mut Criterion) {
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .current_dir(repo.path())
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "-c",
        "user.name=b",
        "-c",
        "user.email=b@b",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    ]);
    let filters = Filters::builtin();
    let mut group = c.benchmark_group("ingest");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(RECORDS));
    group.bench_function("spool_to_sqlite_100k_records", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                spool(dir.path(), repo.path());
                let store = Store::open(&dir.path().join("mt.db")).unwrap();
                (dir, store)
            },
            |(dir, mut store)| {
                let s = ingest::drain(&mut store, &dir.path().join("spool"), &filters).unwrap();
                assert_eq!(s.stored, RECORDS, "every record stored or completed a row");
                dir
            },
            BatchSize::PerIteration,
        );
    });
    // Baseline in the same run: the same number of rows written by plain
    // prepared INSERTs into the same schema in one transaction — what SQLite
    // alone costs, so the report can say what mt's parsing, redaction and
    // branch resolution add on top.
    group.bench_function("baseline_plain_sqlite_insert_100k_rows", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                drop(Store::open(&dir.path().join("mt.db")).unwrap());
                let conn = rusqlite::Connection::open(dir.path().join("mt.db")).unwrap();
                conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
                // As the store sets it (its triggers keep a statement journal).
                conn.pragma_update(None, "temp_store", "MEMORY").unwrap();
                (dir, conn)
            },
            |(dir, mut conn)| {
                let tx = conn.transaction().unwrap();
                {
                    let mut stmt = tx
                        .prepare("INSERT INTO events (uid, source, kind, command, cwd, repo, branch, start_us, end_us, exit_code, state) VALUES (?1, 'hook', 'command', ?2, '/r', '/r', 'main', ?3, ?4, 0, 'done')")
                        .unwrap();
                    for i in 0..RECORDS as i64 {
                        stmt.execute(rusqlite::params![format!("s:{i}"), format!("cargo test -- test_{i}"), i, i + 1]).unwrap();
                    }
                }
                tx.commit().unwrap();
                dir
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
