//! Counting checks for the hot path, against committed budgets: system
//! calls and page faults do not depend on the machine's speed, so these
//! guard in every CI run what the benchmarks measure in time. A change that
//! drags SQLite, the daemon, config parsing or clap back onto `mt exec`'s
//! path blows the budget; `mt-core exec` (the full binary) is measured the
//! same way to show the budget tells the two apart.

use std::process::Command;

use crate::harness::{Env, MT};

const CORE: &str = env!("CARGO_BIN_EXE_mt-core");

/// `mt exec /bin/true`'s own system calls (the child's are not counted),
/// debug or release build: 91 and 94 on the reference machine.
const SYSCALLS: usize = 105;
/// Its minor page faults with its child's (`/bin/true` alone takes ~50).
const FAULTS: i64 = 220;
/// Files it opens: the loader's two (its cache and libc: the unwinder is
/// linked in, so no libgcc_s) and the spool file, once for both records.
/// Not /proc/self/maps: the front starts at C's main, without std's stack
/// probe.
const OPENS: usize = 3;

/// (system calls, files opened, clones) of one run, by strace.
fn syscalls(env: &Env, exe: &str) -> (usize, Vec<String>, usize) {
    let trace = env.path("trace.txt");
    let mut cmd = Command::new("strace");
    let out = env
        .apply(&mut cmd)
        .current_dir(env.dir.path())
        .env("MT_NO_AUTOSTART", "1")
        // cargo's test runner sets it; the loader would search its dirs.
        .env_remove("LD_LIBRARY_PATH")
        .arg("-o")
        .arg(&trace)
        .args([exe, "exec", "/bin/true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::harness::err(&out));
    let text = std::fs::read_to_string(&trace).unwrap();
    let calls: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
        .collect();
    let opens = calls
        .iter()
        .filter(|l| l.starts_with("openat(") || l.starts_with("open("))
        .map(|l| l.split('"').nth(1).unwrap_or("").to_owned())
        .collect();
    let clones = calls
        .iter()
        .filter(|l| l.starts_with("clone") || l.starts_with("fork") || l.starts_with("vfork"))
        .count();
    (calls.len(), opens, clones)
}

/// Minor page faults of one run (and its child), from wait4's rusage.
#[expect(
    clippy::zombie_processes,
    reason = "reaped by wait4 below: std's wait has no rusage"
)]
fn faults(env: &Env, exe: &str) -> i64 {
    let mut cmd = Command::new(exe);
    let child = env
        .apply(&mut cmd)
        .current_dir(env.dir.path())
        .env("MT_NO_AUTOSTART", "1")
        .env_remove("LD_LIBRARY_PATH")
        .args(["exec", "/bin/true"])
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid (plain integers).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: reaps the child spawned above; both pointers are to locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &raw mut status, 0, &raw mut usage) };
    assert_eq!(pid, child.id() as i32);
    assert_eq!(status, 0);
    usage.ru_minflt
}

#[test]
fn mt_exec_stays_within_its_syscall_and_fault_budget() {
    crate::require!("strace");
    let env = Env::new();
    let (calls, opens, clones) = syscalls(&env, MT);
    assert!(
        calls <= SYSCALLS,
        "mt exec made {calls} system calls; budget {SYSCALLS}"
    );
    assert!(
        opens.len() <= OPENS && opens.iter().all(|p| !p.contains("/data/")),
        "mt exec opened {opens:?}; budget {OPENS}, never the store"
    );
    assert_eq!(clones, 1, "one child, no daemon, no helper process");
    // The best of three: a fault count only varies by what else maps.
    let best = (0..3).map(|_| faults(&env, MT)).min().unwrap();
    assert!(
        best <= FAULTS,
        "mt exec took {best} minor faults; budget {FAULTS}"
    );
    // The budget tells the front from the full binary on the same path.
    let core = (0..3).map(|_| faults(&env, CORE)).min().unwrap();
    assert!(
        core > FAULTS,
        "mt-core exec took {core} faults, within the front's budget: the budget no longer guards"
    );
}

/// With a daemon running, `mt exec` learns so from the lock the daemon
/// holds for its life, and never connects to its socket: a `connect` after
/// every run woke the daemon's event loop each time (BENCHMARKS.md).
#[test]
fn mt_exec_sees_a_running_daemon_without_waking_it() {
    crate::require!("strace");
    let env = Env::new();
    env.start_daemon();
    let trace = env.path("trace.txt");
    let mut cmd = Command::new("strace");
    let out = env
        .apply(&mut cmd)
        .current_dir(env.dir.path())
        .env_remove("LD_LIBRARY_PATH")
        .arg("-o")
        .arg(&trace)
        .args(["-e", "trace=connect,flock", MT, "exec", "/bin/true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::harness::err(&out));
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(!text.contains("connect("), "mt exec connected:\n{text}");
    assert!(
        text.lines().any(|l| l.starts_with("flock(")
            && l.contains("LOCK_SH|LOCK_NB")
            && l.contains("EAGAIN")),
        "no lock probe found the daemon:\n{text}"
    );
    assert_eq!(env.daemons().len(), 1, "still one daemon");
}
