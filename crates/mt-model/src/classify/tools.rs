//! The tools mt recognises by name, across ecosystems, with their phase:
//! a table, not a regex each (docs/metrics.md "Tools"). A command is read
//! past what only launches the tool — `VAR=x`, `env`, `python -m`, `npx`,
//! `uv run`, `poetry run`, `bundle exec`, a path to the program — and its
//! first words are looked up, the longest entry first.

/// (the words that name the tool, its phase, the name shown).
pub const TOOLS: &[(&str, &str, &str)] = &[
    // Test runners.
    ("pytest", "validation", "pytest"),
    ("py.test", "validation", "pytest"),
    ("unittest", "validation", "unittest"),
    ("nose2", "validation", "nose2"),
    ("tox", "validation", "tox"),
    ("nox", "validation", "nox"),
    ("cargo test", "validation", "cargo test"),
    ("cargo nextest", "validation", "cargo nextest"),
    ("go test", "validation", "go test"),
    ("jest", "validation", "jest"),
    ("vitest", "validation", "vitest"),
    ("mocha", "validation", "mocha"),
    ("playwright test", "validation", "playwright"),
    ("cypress run", "validation", "cypress"),
    ("npm test", "validation", "npm test"),
    ("npm run test", "validation", "npm test"),
    ("yarn test", "validation", "yarn test"),
    ("pnpm test", "validation", "pnpm test"),
    ("bun test", "validation", "bun test"),
    ("deno test", "validation", "deno test"),
    ("rspec", "validation", "rspec"),
    ("rake test", "validation", "rake test"),
    ("phpunit", "validation", "phpunit"),
    ("pest", "validation", "pest"),
    ("ctest", "validation", "ctest"),
    ("make test", "validation", "make test"),
    ("make check", "validation", "make check"),
    ("gradle test", "validation", "gradle test"),
    ("./gradlew test", "validation", "gradle test"),
    ("mvn test", "validation", "mvn test"),
    ("mvn verify", "validation", "mvn verify"),
    ("dotnet test", "validation", "dotnet test"),
    ("swift test", "validation", "swift test"),
    ("mix test", "validation", "mix test"),
    ("bats", "validation", "bats"),
    // Linters, type checkers, security scanners.
    ("cargo clippy", "validation", "cargo clippy"),
    ("cargo check", "validation", "cargo check"),
    ("cargo audit", "validation", "cargo audit"),
    ("cargo deny", "validation", "cargo deny"),
    ("cargo fmt --check", "validation", "cargo fmt --check"),
    ("go vet", "validation", "go vet"),
    ("golangci-lint", "validation", "golangci-lint"),
    ("staticcheck", "validation", "staticcheck"),
    ("ruff check", "validation", "ruff"),
    ("ruff format --check", "validation", "ruff format --check"),
    ("ruff", "validation", "ruff"),
    ("flake8", "validation", "flake8"),
    ("pylint", "validation", "pylint"),
    ("pyflakes", "validation", "pyflakes"),
    ("pycodestyle", "validation", "pycodestyle"),
    ("mypy", "validation", "mypy"),
    ("pyright", "validation", "pyright"),
    ("bandit", "validation", "bandit"),
    ("pip-audit", "validation", "pip-audit"),
    ("black --check", "validation", "black --check"),
    ("eslint", "validation", "eslint"),
    ("tsc", "validation", "tsc"),
    ("stylelint", "validation", "stylelint"),
    ("prettier --check", "validation", "prettier --check"),
    ("npm run lint", "validation", "npm run lint"),
    ("yarn lint", "validation", "yarn lint"),
    ("pnpm lint", "validation", "pnpm lint"),
    ("npm audit", "validation", "npm audit"),
    ("rubocop", "validation", "rubocop"),
    ("shellcheck", "validation", "shellcheck"),
    ("hadolint", "validation", "hadolint"),
    ("yamllint", "validation", "yamllint"),
    ("markdownlint", "validation", "markdownlint"),
    ("actionlint", "validation", "actionlint"),
    ("phpstan", "validation", "phpstan"),
    ("psalm", "validation", "psalm"),
    ("ktlint", "validation", "ktlint"),
    ("swiftlint", "validation", "swiftlint"),
    ("semgrep", "validation", "semgrep"),
    ("trivy", "validation", "trivy"),
    ("codespell", "validation", "codespell"),
    ("pre-commit", "validation", "pre-commit"),
    ("terraform validate", "validation", "terraform validate"),
    ("tflint", "validation", "tflint"),
    ("helm lint", "validation", "helm lint"),
    // Running the change to see it work: containers and deploys.
    ("docker compose up", "validation", "docker compose"),
    ("docker-compose up", "validation", "docker compose"),
    ("kubectl apply", "validation", "kubectl apply"),
    ("helm upgrade", "validation", "helm"),
    ("helm install", "validation", "helm"),
    ("terraform plan", "validation", "terraform plan"),
    ("terraform apply", "validation", "terraform apply"),
    ("ansible-playbook", "validation", "ansible-playbook"),
    // Formatters.
    ("cargo fmt", "implementation", "cargo fmt"),
    ("rustfmt", "implementation", "rustfmt"),
    ("black", "implementation", "black"),
    ("isort", "implementation", "isort"),
    ("ruff format", "implementation", "ruff format"),
    ("prettier", "implementation", "prettier"),
    ("gofmt", "implementation", "gofmt"),
    ("goimports", "implementation", "goimports"),
    ("clang-format", "implementation", "clang-format"),
    ("shfmt", "implementation", "shfmt"),
    ("terraform fmt", "implementation", "terraform fmt"),
    // Builds.
    ("cargo build", "implementation", "cargo build"),
    ("cargo run", "implementation", "cargo run"),
    ("go build", "implementation", "go build"),
    ("go run", "implementation", "go run"),
    ("go generate", "implementation", "go generate"),
    ("make", "implementation", "make"),
    ("cmake", "implementation", "cmake"),
    ("ninja", "implementation", "ninja"),
    ("meson", "implementation", "meson"),
    ("bazel build", "implementation", "bazel build"),
    ("bazel test", "validation", "bazel test"),
    ("gradle build", "implementation", "gradle build"),
    ("./gradlew build", "implementation", "gradle build"),
    ("mvn package", "implementation", "mvn package"),
    ("mvn compile", "implementation", "mvn compile"),
    ("mvn install", "implementation", "mvn install"),
    ("npm run build", "implementation", "npm run build"),
    ("yarn build", "implementation", "yarn build"),
    ("pnpm build", "implementation", "pnpm build"),
    ("webpack", "implementation", "webpack"),
    ("vite build", "implementation", "vite build"),
    ("dotnet build", "implementation", "dotnet build"),
    ("swift build", "implementation", "swift build"),
    ("gcc", "implementation", "gcc"),
    ("clang", "implementation", "clang"),
    ("rustc", "implementation", "rustc"),
    ("javac", "implementation", "javac"),
    ("docker build", "implementation", "docker build"),
    ("docker buildx build", "implementation", "docker build"),
    // Package managers.
    ("npm install", "implementation", "npm install"),
    ("npm ci", "implementation", "npm ci"),
    ("yarn install", "implementation", "yarn install"),
    ("pnpm install", "implementation", "pnpm install"),
    ("pip install", "implementation", "pip install"),
    ("uv sync", "implementation", "uv sync"),
    ("uv add", "implementation", "uv add"),
    ("poetry install", "implementation", "poetry install"),
    ("poetry add", "implementation", "poetry add"),
    ("bundle install", "implementation", "bundle install"),
    ("cargo add", "implementation", "cargo add"),
    ("go mod tidy", "implementation", "go mod tidy"),
    ("go get", "implementation", "go get"),
    ("composer install", "implementation", "composer install"),
];

/// Words that only launch what follows: skipped before the lookup.
const LAUNCHERS: &[&[&str]] = &[
    &["python", "-m"],
    &["python3", "-m"],
    &["uv", "run"],
    &["uvx"],
    &["poetry", "run"],
    &["pipenv", "run"],
    &["pdm", "run"],
    &["hatch", "run"],
    &["rye", "run"],
    &["npx"],
    &["pnpm", "exec"],
    &["pnpm", "dlx"],
    &["bunx"],
    &["npm", "exec"],
    &["yarn", "dlx"],
    &["bundle", "exec"],
    &["env"],
    &["time"],
    &["nice"],
];

/// The tool `command` runs, if the table knows it: (phase, name).
pub fn recognise(command: &str) -> Option<(&'static str, &'static str)> {
    let words = program_words(command);
    let mut best: Option<(usize, &'static str, &'static str)> = None;
    for (spec, phase, name) in TOOLS {
        let spec: Vec<&str> = spec.split(' ').collect();
        let fits = spec.len() <= words.len()
            && spec.iter().zip(&words).enumerate().all(|(i, (s, w))| {
                // The program may be given by its path (`.venv/bin/pytest`).
                *s == *w || (i == 0 && !s.contains('/') && w.rsplit('/').next() == Some(s))
            });
        if fits && best.is_none_or(|(n, ..)| spec.len() > n) {
            best = Some((spec.len(), phase, name));
        }
    }
    best.map(|(_, phase, name)| (phase, name))
}

/// The command's words from its program on: assignments and launchers
/// skipped (`FOO=1 poetry run pytest -x` → `pytest -x`).
fn program_words(command: &str) -> Vec<&str> {
    let mut words: Vec<&str> = command.split_whitespace().collect();
    let mut after_launcher = false;
    loop {
        let before = words.len();
        // `FOO=1`, and a launcher's own flags (`env -i`, `npx --yes`).
        while words
            .first()
            .is_some_and(|w| is_assignment(w) || after_launcher && w.starts_with('-'))
        {
            words.remove(0);
        }
        after_launcher = false;
        for launcher in LAUNCHERS {
            let first = words.first().map(|w| w.rsplit('/').next().unwrap_or(w));
            let head = first.into_iter().chain(words.iter().skip(1).copied());
            if head.take(launcher.len()).eq(launcher.iter().copied()) {
                words.drain(..launcher.len());
                after_launcher = true;
                break;
            }
        }
        if words.len() == before {
            return words;
        }
    }
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_sixty_tools_and_their_launchers() {
        let names: std::collections::BTreeSet<&str> = TOOLS.iter().map(|t| t.2).collect();
        assert!(names.len() >= 60, "{} tools", names.len());
        let cases = [
            ("pytest -x tests/", Some(("validation", "pytest"))),
            ("python -m pytest -k login", Some(("validation", "pytest"))),
            ("python3 -m pyflakes src", Some(("validation", "pyflakes"))),
            ("uv run pytest", Some(("validation", "pytest"))),
            ("poetry run mypy .", Some(("validation", "mypy"))),
            ("FOO=1 .venv/bin/pytest", Some(("validation", "pytest"))),
            ("npx eslint src", Some(("validation", "eslint"))),
            ("bundle exec rspec spec/", Some(("validation", "rspec"))),
            ("cargo test -q", Some(("validation", "cargo test"))),
            ("cargo fmt", Some(("implementation", "cargo fmt"))),
            (
                "cargo fmt --check",
                Some(("validation", "cargo fmt --check")),
            ),
            ("go vet ./...", Some(("validation", "go vet"))),
            ("make test", Some(("validation", "make test"))),
            ("make -j4", Some(("implementation", "make"))),
            ("ruff check .", Some(("validation", "ruff"))),
            ("ruff format src", Some(("implementation", "ruff format"))),
            ("npm run lint", Some(("validation", "npm run lint"))),
            (
                "docker compose up -d",
                Some(("validation", "docker compose")),
            ),
            (
                "docker build -t x .",
                Some(("implementation", "docker build")),
            ),
            ("terraform apply", Some(("validation", "terraform apply"))),
            ("pip install -e .", Some(("implementation", "pip install"))),
            (
                "env RUST_LOG=debug cargo run",
                Some(("implementation", "cargo run")),
            ),
            ("echo pytest", None),
            ("ls -la", None),
            ("mypyc x", None),
        ];
        for (command, want) in cases {
            assert_eq!(recognise(command), want, "{command}");
        }
    }
}
