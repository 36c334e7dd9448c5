//! `mt init systemd`: the user units from `systemd/` with `ExecStart` set to
//! this binary's real path, written where systemd looks for user units (or
//! printed), and the doctor check that an installed unit still runs this mt.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The documented examples; their `ExecStart` names `%h/.cargo/bin/mt`.
const UNITS: [(&str, &str); 3] = [
    ("mt.socket", include_str!("../../systemd/mt.socket")),
    ("mt.service", include_str!("../../systemd/mt.service")),
    ("mt.path", include_str!("../../systemd/mt.path")),
];
const EXAMPLE_BIN: &str = "%h/.cargo/bin/mt";

/// `~/.config/systemd/user`, or under `$XDG_CONFIG_HOME`.
pub(crate) fn unit_dir() -> Option<PathBuf> {
    Some(crate::paths::config_home().join("systemd/user"))
}

/// The units with `bin` in `ExecStart`.
fn units(bin: &Path) -> Vec<(&'static str, String)> {
    let bin = bin.to_string_lossy();
    // systemd splits ExecStart on whitespace unless the word is quoted.
    let bin = if bin.contains(char::is_whitespace) {
        format!("\"{bin}\"")
    } else {
        bin.into_owned()
    };
    UNITS
        .iter()
        .map(|(name, text)| {
            let text = text
                .replace(EXAMPLE_BIN, &bin)
                .replace(
                    "This example runs ~/.cargo/bin/mt; `mt init systemd` installs\n# a copy whose ExecStart is the real path of the mt that ran it.",
                    "Written by `mt init systemd` with ExecStart set to this mt.",
                );
            (*name, text)
        })
        .collect()
}

pub(crate) fn run(print: bool) -> Result<u8> {
    let bin = crate::paths::front_exe()
        .and_then(fs::canonicalize)
        .context(
            "could not find the mt binary's path; run mt init systemd with the installed mt",
        )?;
    if print {
        let mut out = std::io::stdout().lock();
        for (name, text) in units(&bin) {
            writeln!(out, "# {name}\n{text}")?;
        }
        return Ok(0);
    }
    let dir = unit_dir().context(
        "neither XDG_CONFIG_HOME nor HOME is set; set HOME and run mt init systemd again",
    )?;
    fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    for (name, text) in units(&bin) {
        let path = dir.join(name);
        fs::write(&path, text).with_context(|| format!("could not write {}", path.display()))?;
    }
    println!(
        "wrote mt.socket, mt.service and mt.path to {} (ExecStart: {})",
        dir.display(),
        bin.display()
    );
    let reloaded = crate::proc::Cmd::new("systemctl")
        .args(["--user", "daemon-reload"])
        .limit(std::time::Duration::from_secs(10))
        .check()
        .unwrap_or(false);
    if !reloaded {
        println!(
            "systemd's user manager did not answer; once it runs: systemctl --user daemon-reload"
        );
    }
    println!("start it now and at each login: systemctl --user enable --now mt.socket mt.path");
    Ok(0)
}

/// The binary an installed `mt.service` runs, if there is one.
fn installed_bin(service: &str) -> Option<PathBuf> {
    let line = service
        .lines()
        .find_map(|l| l.trim().strip_prefix("ExecStart="))?;
    let word = match line.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => line.split_whitespace().next()?,
    };
    let home = std::env::var_os("HOME").unwrap_or_default();
    Some(PathBuf::from(word.replace("%h", &home.to_string_lossy())))
}

/// Doctor's check of an installed unit: `None` when there is none, else
/// whether it is sound and the sentence to print.
pub(crate) fn check() -> Option<(bool, String)> {
    let path = unit_dir()?.join("mt.service");
    let service = fs::read_to_string(&path).ok()?;
    let fix = "run `mt init systemd` to point it at this mt";
    let Some(bin) = installed_bin(&service) else {
        return Some((false, format!("{} has no ExecStart; {fix}", path.display())));
    };
    let version = crate::proc::Cmd::new(&bin)
        .arg("--version")
        .limit(std::time::Duration::from_secs(5))
        .text()
        .ok();
    let ours = format!("mt {}", crate::daemon::control::VERSION);
    Some(match version {
        None => (
            false,
            format!(
                "{} runs {}, which is missing or does not run; {fix}",
                path.display(),
                bin.display()
            ),
        ),
        Some(v) if v != ours => (
            false,
            format!(
                "{} runs {} ({v}, this is {ours}); {fix}",
                path.display(),
                bin.display()
            ),
        ),
        Some(_) => (
            true,
            format!(
                "systemd unit {} runs {} ({ours})",
                path.display(),
                bin.display()
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_start_names_the_real_binary_quoted_when_needed() {
        let units = units(Path::new("/opt/my tools/mt"));
        let service = &units.iter().find(|(n, _)| *n == "mt.service").unwrap().1;
        assert!(
            service.contains("ExecStart=\"/opt/my tools/mt\" daemon run"),
            "{service}"
        );
        assert!(!service.contains(EXAMPLE_BIN) && service.contains("Written by `mt init systemd`"));
        assert_eq!(
            installed_bin(service),
            Some(PathBuf::from("/opt/my tools/mt"))
        );
        assert_eq!(
            installed_bin("[Service]\nExecStart=/usr/bin/mt daemon run\n"),
            Some(PathBuf::from("/usr/bin/mt"))
        );
    }
}
