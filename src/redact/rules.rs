//! Which words of a command hold a secret: the option forms of the tools
//! people pass passwords to, secret-named options and variables, and
//! credential headers. Works on word values, so the same rules serve an
//! exact argv (`mt exec`) and a typed line split into words (the hook).

/// What to hide of one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mask {
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
    /// `zip`/`unzip -P`, `7z -p…`, `ssh-keygen -N/-P`, `sqlcmd -P`, `az -p`.
    PasswordOption(&'static [&'static str]),
    /// `7z` and its kin: `-pSECRET`, glued.
    SevenZip,
    /// `bash -c SCRIPT` and the other shells: the script has the rules of a line.
    Shell,
    /// SQL clients: `-c`/`-e`/`-Q` carry SQL, where `PASSWORD '…'` is one.
    Sql,
    Vault,
    Aws,
    Other,
}

fn tool(program: &str, words: &[&str]) -> Tool {
    // `$(mysql …)`, `(cd x && …)`, a backquoted command.
    let program = program.trim_start_matches(['$', '(', '`']);
    let name = program.rsplit('/').next().unwrap_or(program);
    match name {
        "zip" | "unzip" | "zipcloak" => Tool::PasswordOption(&["-P", "--password"]),
        "ssh-keygen" => Tool::PasswordOption(&["-N", "-P"]),
        "sqlcmd" | "bcp" => Tool::PasswordOption(&["-P"]),
        "az" => Tool::PasswordOption(&["-p"]),
        "7z" | "7za" | "7zr" => Tool::SevenZip,
        "bash" | "sh" | "zsh" | "dash" | "ksh" | "fish" | "su" => Tool::Shell,
        "psql" | "sqlite3" | "clickhouse-client" => Tool::Sql,
        "vault" | "bao" if words.contains(&"login") => Tool::Vault,
        "aws" => Tool::Aws,
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
pub(super) fn secret_name(name: &str) -> bool {
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
    // Variables whose names run the words together: libpq's, sshpass -e's.
    "pgpassword",
    "sshpass",
];

/// `--db-Password_file` → `db`, `password`, `file`: split at `-`, `_`, `.`
/// (a Helm or git config key: `db.password`) and a lowercase letter
/// followed by an uppercase one, lowercased.
fn name_parts(name: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
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
    let p = program_at(words, masks, base);
    let Some(&program) = words.get(p) else { return };
    // A line of a here-doc or a config echoed in: `api_key: VALUE`.
    if let Some(name) = program.strip_suffix(':')
        && secret_name(name)
        && p + 1 < words.len()
    {
        masks.push((base + p + 1, Mask::Whole));
        return;
    }
    let tool = tool(program, words);
    let mut i = p + 1;
    while i < words.len() {
        let before = masks.len();
        if tool_rule(tool, words, i, base, masks) {
            i += 2;
            continue;
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

/// Past the leading NAME=value assignments (masking a secret one) and the
/// wrappers: where the program is.
fn program_at(words: &[&str], masks: &mut Vec<(usize, Mask)>, base: usize) -> usize {
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
        } else if let Some(next) = past_wrapper(words, p) {
            p = next;
        } else {
            break;
        }
    }
    p
}

/// The rule of `tool` for `words[i]`, if it has one (masks pushed); true
/// when it took the next word as its value and nothing else applies to it.
fn tool_rule(
    tool: Tool,
    words: &[&str],
    i: usize,
    base: usize,
    masks: &mut Vec<(usize, Mask)>,
) -> bool {
    let w = words[i];
    let next = i + 1 < words.len();
    let mask_next = |masks: &mut Vec<(usize, Mask)>| masks.push((base + i + 1, Mask::Whole));
    match (tool, w) {
        (Tool::Mysql, w) if w.starts_with("-p") && w.len() > 2 && !w.starts_with("--") => {
            masks.push((base + i, Mask::From(2)));
        }
        (Tool::PasswordOption(options), w) if next && options.contains(&w) => mask_next(masks),
        (Tool::SevenZip, w) if w.starts_with("-p") && w.len() > 2 => {
            masks.push((base + i, Mask::From(2)));
        }
        (Tool::Shell, "-c")
        | (Tool::Mysql | Tool::Sql, "-c" | "-e" | "--command" | "--execute")
            if next && script_holds_secret(tool, words[i + 1]) =>
        {
            mask_next(masks);
        }
        (Tool::Vault, w) if !w.starts_with('-') && !w.contains('=') && words[i - 1] == "login" => {
            masks.push((base + i, Mask::Whole));
        }
        (Tool::Aws, name) if next && words[i - 1] == "set" && secret_name(name) => mask_next(masks),
        (Tool::Curl, "-b" | "--cookie") if next && words[i + 1].contains('=') => mask_next(masks),
        (Tool::Sshpass | Tool::Login | Tool::Mongo, "-p")
        | (Tool::Redis, "-a")
        | (Tool::Ldap, "-w")
            if next =>
        {
            mask_next(masks);
        }
        (Tool::Sshpass, w) if w.starts_with("-p") && w.len() > 2 => {
            masks.push((base + i, Mask::From(2)));
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
            return true;
        }
        _ => {}
    }
    false
}

/// Where the command a wrapper runs begins, if `words[p]` is a wrapper:
/// its own options (and their values) and fixed operands skipped, so the
/// wrapped command gets its own program's rules. Shell keywords that start
/// a command (`do`, `then`, `{`) count as wrappers too.
fn past_wrapper(words: &[&str], p: usize) -> Option<usize> {
    let name = words[p].rsplit('/').next().unwrap_or(words[p]);
    // Options that take a value, per wrapper.
    let valued: &[&str] = match name {
        "sudo" => &[
            "-u", "-g", "-h", "-p", "-C", "-D", "-R", "-T", "-U", "-r", "-t",
        ],
        "doas" => &["-u", "-C"],
        "env" => &["-u", "-C", "-S", "--unset", "--chdir"],
        "nice" => &["-n", "--adjustment"],
        "timeout" => &["-s", "-k", "--signal", "--kill-after"],
        "ionice" => &["-c", "-n", "-p"],
        "stdbuf" | "time" | "nohup" | "command" | "exec" | "xargs" | "watch" => &[],
        "do" | "then" | "else" | "elif" | "{" | "!" | "(" => return Some(p + 1),
        "docker" | "podman" | "kubectl" | "oc" if words.get(p + 1) == Some(&"exec") => {
            return container_command(words, p + 2);
        }
        _ => return None,
    };
    let mut i = p + 1;
    while let Some(&w) = words.get(i) {
        if w == "--" {
            i += 1;
            break;
        }
        if !w.starts_with('-') || w == "-" {
            break;
        }
        i += if valued.contains(&w) { 2 } else { 1 };
    }
    // `timeout` takes its duration before the command.
    if name == "timeout" {
        i += 1;
    }
    Some(i)
}

/// The command of `docker exec [options] CONTAINER CMD…` (the same for
/// podman) or `kubectl exec POD [options] -- CMD…`.
fn container_command(words: &[&str], from: usize) -> Option<usize> {
    if let Some(dash) = words[from.min(words.len())..]
        .iter()
        .position(|&w| w == "--")
    {
        return Some(from + dash + 1);
    }
    const VALUED: &[&str] = &[
        "-e",
        "--env",
        "-u",
        "--user",
        "-w",
        "--workdir",
        "--env-file",
        "-c",
        "--container",
        "-n",
        "--namespace",
    ];
    let mut i = from;
    while let Some(&w) = words.get(i) {
        if !w.starts_with('-') {
            return Some(i + 1); // past the container
        }
        i += if VALUED.contains(&w) { 2 } else { 1 };
    }
    Some(i)
}

/// Does a `-c` script (a shell's, or a SQL client's) hold a secret? A
/// shell script has the rules of a typed line; SQL has `PASSWORD '…'` and
/// `IDENTIFIED BY '…'`. The whole script is masked then: one secret inside
/// makes the rest of it too risky to keep.
fn script_holds_secret(tool: Tool, script: &str) -> bool {
    if tool == Tool::Shell {
        return !line_masks(&super::words::split(script)).is_empty();
    }
    let upper = script.to_ascii_uppercase();
    ["PASSWORD '", "PASSWORD \"", "IDENTIFIED BY "]
        .iter()
        .any(|k| upper.contains(k))
}

/// Where a secret-named key's value starts inside one word: a URL query or
/// form body (`?api_key=S`, `&password=S`), a connection string
/// (`host=h password=S`), JSON (`"password": "S"`), a nested assignment
/// (`--from-literal=password=S`).
fn keyed_value(w: &str) -> Option<usize> {
    let bytes = w.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'=' | b':' => {
                let key = w[start..i].trim_matches(|c: char| c == '"' || c == '\'' || c == ' ');
                if !key.is_empty() && secret_name(key) && (b == b'=' || w[start..i].ends_with('"'))
                {
                    let rest = &w[i + 1..];
                    return Some(i + 1 + (rest.len() - rest.trim_start().len()));
                }
                start = i + 1;
            }
            b'?' | b'&' | b' ' | b';' | b',' | b'{' => start = i + 1,
            _ => {}
        }
    }
    None
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
            masks.push((base + i, Mask::From(name.len() + 1)));
        }
        None if w.starts_with('-') && w.len() > 2 && secret_name(w) && i + 1 < words.len() => {
            masks.push((base + i + 1, Mask::Whole));
        }
        // A header set through a config key: `http.extraHeader=Authorization: …`.
        Some((name, rest)) if header_value(rest).is_some() => {
            let h = header_value(rest).unwrap_or_default();
            masks.push((base + i, Mask::From(name.len() + 1 + h)));
        }
        _ => {
            if let Some(at) = keyed_value(w) {
                masks.push((base + i, Mask::From(at)));
            }
        }
    }
}

/// Masks for a typed line split into words (`words::split`).
pub(super) fn line_masks(words: &[super::words::Word]) -> Vec<(usize, Mask)> {
    let values: Vec<&str> = words.iter().map(|w| w.value.as_str()).collect();
    let operators: Vec<bool> = words.iter().map(|w| w.operator).collect();
    masks(&values, &operators)
}

/// Masks for a whole line of words, sorted by word; `operators[i]` says
/// word i ends a simple command.
pub(super) fn masks(words: &[&str], operators: &[bool]) -> Vec<(usize, Mask)> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..=words.len() {
        if i == words.len() || operators[i] {
            if start < i {
                command(&words[start..i], &mut out, start);
            }
            // A command substitution inside an argument (`echo $(mysql
            // -pS)`, backquotes, `<(…)`) is a command of its own too.
            for j in start + 1..i {
                if ["$(", "<(", "`"].iter().any(|p| words[j].starts_with(p)) {
                    command(&words[j..i], &mut out, j);
                }
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
