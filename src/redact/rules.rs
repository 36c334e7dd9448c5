//! Which words of a command hold a secret: the option forms of the tools
//! people pass passwords to, secret-named options and variables, and
//! credential headers. Works on word values, so the same rules serve an
//! exact argv (`mt exec`) and a typed line split into words (the hook).

/// What to hide of one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// The whole word.
    Whole,
    /// Everything from this byte offset of its value on.
    From(usize),
}

/// Programs whose own short options carry a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Mysql,
    Curl,
    Sshpass,
    Login,
    Redis,
    Openssl,
    Ldap,
    Smb,
    Htpasswd,
    Mongo,
    Other,
}

fn tool(program: &str, words: &[&str]) -> Tool {
    let name = program.rsplit('/').next().unwrap_or(program);
    match name {
        "mysql" | "mariadb" | "mysqldump" | "mysqladmin" | "mysqlimport" | "mysqlshow" => {
            Tool::Mysql
        }
        "curl" => Tool::Curl,
        "sshpass" => Tool::Sshpass,
        "docker" | "podman" | "helm" | "nerdctl" | "buildah" | "skopeo" | "oras"
            if words.contains(&"login") =>
        {
            Tool::Login
        }
        "redis-cli" | "valkey-cli" => Tool::Redis,
        "openssl" => Tool::Openssl,
        n if n.starts_with("ldap") => Tool::Ldap,
        "smbclient" | "rpcclient" | "smbmap" | "smbget" => Tool::Smb,
        "htpasswd" => Tool::Htpasswd,
        "mongo" | "mongosh" | "mongodump" | "mongorestore" | "mongoexport" | "mongoimport" => {
            Tool::Mongo
        }
        _ => Tool::Other,
    }
}

/// Does an option or variable name say it holds a secret? (`--password`,
/// `--http-passwd`, `--passphrase`, `--auth-token`, `--client-secret`,
/// `--api-key`, `GITHUB_TOKEN`, `MYSQL_PWD`; not `--author`, `--key-file`.)
pub fn secret_name(name: &str) -> bool {
    let parts = name_parts(name.trim_start_matches('-'));
    let Some(last) = parts.last() else {
        return false;
    };
    let has = |p: &str| parts.iter().any(|x| x == p);
    // Whole parts, the last one naming the value: `--password-stdin`,
    // `--token-file`, `--max-tokens`, `--passive-ftp`, `--tokenizer`,
    // `--passWithNoTests` and `--no-password` name no secret.
    if parts[0] == "no" {
        return false;
    }
    SECRET_PARTS.contains(&last.as_str())
        || last == "pwd" && parts.len() > 1
        || last == "key"
            && ["api", "access", "private", "secret", "account", "master"]
                .iter()
                .any(|p| has(p))
}

/// The last part of a name that says its value is a secret.
const SECRET_PARTS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "passphrase",
    "secret",
    "token",
    "credential",
    "credentials",
    "apikey",
    "auth",
    "cookie",
    "bearer",
];

/// `--db-Password_file` → `db`, `password`, `file`: split at `-`, `_` and
/// a lowercase letter followed by an uppercase one, lowercased.
fn name_parts(name: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '-' || c == '_' {
            parts.push(String::new());
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            parts.push(String::new());
        }
        prev_lower = c.is_ascii_lowercase();
        parts
            .last_mut()
            .expect("one part")
            .push(c.to_ascii_lowercase());
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// Credential headers, as a header word's value begins (`-H 'Cookie: …'`).
fn header_value(value: &str) -> Option<usize> {
    let (name, _) = value.split_once(':')?;
    let lower = name.trim().to_ascii_lowercase();
    let secret = matches!(
        lower.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie" | "private-token"
    ) || secret_name(&lower)
        || lower.ends_with("api-key");
    if !secret {
        return None;
    }
    let rest = &value[name.len() + 1..];
    Some(name.len() + 1 + (rest.len() - rest.trim_start().len()))
}

/// The masks for one simple command, `words[0]` being its first word.
fn command(words: &[&str], masks: &mut Vec<(usize, Mask)>, base: usize) {
    // Leading NAME=value assignments, then wrappers, then the program.
    let mut p = 0;
    while p < words.len() {
        let w = words[p];
        if let Some((name, _)) = w.split_once('=')
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            if secret_name(name) {
                masks.push((base + p, Mask::From(name.len() + 1)));
            }
            p += 1;
        } else if matches!(
            w,
            "sudo" | "env" | "time" | "nohup" | "command" | "exec" | "doas"
        ) {
            p += 1;
        } else {
            break;
        }
    }
    let Some(program) = words.get(p) else { return };
    let tool = tool(program, words);
    let mut i = p + 1;
    while i < words.len() {
        let w = words[i];
        let next = i + 1 < words.len();
        let mask_next = |masks: &mut Vec<(usize, Mask)>| masks.push((base + i + 1, Mask::Whole));
        let before = masks.len();
        match (tool, w) {
            (Tool::Mysql, w) if w.starts_with("-p") && w.len() > 2 && !w.starts_with("--") => {
                masks.push((base + i, Mask::From(2)));
            }
            (Tool::Sshpass | Tool::Login | Tool::Mongo, "-p")
            | (Tool::Redis, "-a")
            | (Tool::Ldap, "-w")
                if next =>
            {
                mask_next(masks)
            }
            (Tool::Sshpass, w) if w.starts_with("-p") && w.len() > 2 => {
                masks.push((base + i, Mask::From(2)))
            }
            (Tool::Curl, "-u" | "--user" | "-U" | "--proxy-user") if next => {
                if let Some(c) = words[i + 1].find(':') {
                    masks.push((base + i + 1, Mask::From(c + 1)));
                }
            }
            (Tool::Curl, w) if w.starts_with("-u") && !w.starts_with("--") => {
                if let Some(c) = w.find(':') {
                    masks.push((base + i, Mask::From(c + 1)));
                }
            }
            (Tool::Smb, "-U" | "--user") if next => {
                if let Some(c) = words[i + 1].find('%') {
                    masks.push((base + i + 1, Mask::From(c + 1)));
                }
            }
            (Tool::Openssl, "-pass" | "-passin" | "-passout" | "-k") if next => {
                // pass:SECRET is one; env:VAR, file:PATH, fd:N and stdin name one.
                let v = words[i + 1];
                match v.split_once(':') {
                    Some(("pass", _)) => masks.push((base + i + 1, Mask::From(5))),
                    _ if w == "-k" => mask_next(masks),
                    _ => {}
                }
                i += 2;
                continue;
            }
            _ => {}
        }
        if masks.len() == before {
            generic(words, i, base, masks);
        }
        i += 1;
    }
    if tool == Tool::Htpasswd
        && words[p + 1..]
            .iter()
            .any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('b'))
        && let Some(last) = words.len().checked_sub(1).filter(|&l| l > p)
    {
        masks.push((base + last, Mask::Whole));
    }
}

/// Rules for any program: `--secret-option=VALUE`, `--secret-option VALUE`,
/// `NAME=value` arguments, credential headers.
fn generic(words: &[&str], i: usize, base: usize, masks: &mut Vec<(usize, Mask)>) {
    let w = words[i];
    // A credential header only where a header goes: after `-H` or
    // `--header`, or glued to them. `git commit -m "auth: fix …"` is no
    // header.
    let header_position = i > 0 && matches!(words[i - 1], "-H" | "--header");
    if header_position && let Some(h) = header_value(w) {
        masks.push((base + i, Mask::From(h)));
        return;
    }
    for flag in ["--header=", "-H"] {
        if let Some(rest) = w.strip_prefix(flag)
            && let Some(h) = header_value(rest)
        {
            masks.push((base + i, Mask::From(flag.len() + h)));
            return;
        }
    }
    match w.split_once('=') {
        Some((name, _)) if !name.is_empty() && !name.contains(' ') && secret_name(name) => {
            masks.push((base + i, Mask::From(name.len() + 1)))
        }
        None if w.starts_with('-') && w.len() > 2 && secret_name(w) && i + 1 < words.len() => {
            masks.push((base + i + 1, Mask::Whole))
        }
        _ => {}
    }
}

/// Masks for a whole line of words, sorted by word; `operators[i]` says
/// word i ends a simple command.
pub fn masks(words: &[&str], operators: &[bool]) -> Vec<(usize, Mask)> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..=words.len() {
        if i == words.len() || operators[i] {
            if start < i {
                command(&words[start..i], &mut out, start);
            }
            start = i + 1;
        }
    }
    out.retain(|&(i, _)| i < words.len() && !operators[i]);
    // One mask per word, in word order; the first rule to name a word wins.
    out.sort_by_key(|&(i, _)| i);
    out.dedup_by_key(|&mut (i, _)| i);
    out
}
