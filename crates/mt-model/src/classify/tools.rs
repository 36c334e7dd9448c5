//! The tools mt recognises by name, across ecosystems, with their phase:
//! a table, not a regex each (docs/metrics.md "Tools"). A command is read
//! past what only launches the tool — `VAR=x`, `env`, `python -m`, `npx`,
//! `uv run`, `poetry run`, `bundle exec`, a path to the program — and its
//! first words are looked up, the longest entry first.

use mt_record::domain::Phase::{self, Implementation, Validation};

/// (the words that name the tool, its phase, the name shown).
pub const TOOLS: &[(&str, Phase, &str)] = &[
    // Test runners.
    ("pytest", Validation, "pytest"),
    ("py.test", Validation, "pytest"),
    ("unittest", Validation, "unittest"),
    ("nose2", Validation, "nose2"),
    ("tox", Validation, "tox"),
    ("nox", Validation, "nox"),
    ("cargo test", Validation, "cargo test"),
    ("cargo nextest", Validation, "cargo nextest"),
    ("go test", Validation, "go test"),
    ("jest", Validation, "jest"),
    ("vitest", Validation, "vitest"),
    ("mocha", Validation, "mocha"),
    ("playwright test", Validation, "playwright"),
    ("cypress run", Validation, "cypress"),
    ("npm test", Validation, "npm test"),
    ("npm run test", Validation, "npm test"),
    ("yarn test", Validation, "yarn test"),
    ("pnpm test", Validation, "pnpm test"),
    ("bun test", Validation, "bun test"),
    ("deno test", Validation, "deno test"),
    ("rspec", Validation, "rspec"),
    ("rake test", Validation, "rake test"),
    ("phpunit", Validation, "phpunit"),
    ("pest", Validation, "pest"),
    ("ctest", Validation, "ctest"),
    ("make test", Validation, "make test"),
    ("make check", Validation, "make check"),
    ("gradle test", Validation, "gradle test"),
    ("./gradlew test", Validation, "gradle test"),
    ("mvn test", Validation, "mvn test"),
    ("mvn verify", Validation, "mvn verify"),
    ("dotnet test", Validation, "dotnet test"),
    ("swift test", Validation, "swift test"),
    ("mix test", Validation, "mix test"),
    ("bats", Validation, "bats"),
    // Linters, type checkers, security scanners.
    ("cargo clippy", Validation, "cargo clippy"),
    ("cargo check", Validation, "cargo check"),
    ("cargo audit", Validation, "cargo audit"),
    ("cargo deny", Validation, "cargo deny"),
    ("cargo fmt --check", Validation, "cargo fmt --check"),
    ("go vet", Validation, "go vet"),
    ("golangci-lint", Validation, "golangci-lint"),
    ("staticcheck", Validation, "staticcheck"),
    ("ruff check", Validation, "ruff"),
    ("ruff format --check", Validation, "ruff format --check"),
    ("ruff", Validation, "ruff"),
    ("flake8", Validation, "flake8"),
    ("pylint", Validation, "pylint"),
    ("pyflakes", Validation, "pyflakes"),
    ("pycodestyle", Validation, "pycodestyle"),
    ("mypy", Validation, "mypy"),
    ("pyright", Validation, "pyright"),
    ("bandit", Validation, "bandit"),
    ("pip-audit", Validation, "pip-audit"),
    ("black --check", Validation, "black --check"),
    ("eslint", Validation, "eslint"),
    ("tsc", Validation, "tsc"),
    ("stylelint", Validation, "stylelint"),
    ("prettier --check", Validation, "prettier --check"),
    ("npm run lint", Validation, "npm run lint"),
    ("yarn lint", Validation, "yarn lint"),
    ("pnpm lint", Validation, "pnpm lint"),
    ("npm audit", Validation, "npm audit"),
    ("rubocop", Validation, "rubocop"),
    ("shellcheck", Validation, "shellcheck"),
    ("hadolint", Validation, "hadolint"),
    ("yamllint", Validation, "yamllint"),
    ("markdownlint", Validation, "markdownlint"),
    ("actionlint", Validation, "actionlint"),
    ("phpstan", Validation, "phpstan"),
    ("psalm", Validation, "psalm"),
    ("ktlint", Validation, "ktlint"),
    ("swiftlint", Validation, "swiftlint"),
    ("semgrep", Validation, "semgrep"),
    ("trivy", Validation, "trivy"),
    ("codespell", Validation, "codespell"),
    ("pre-commit", Validation, "pre-commit"),
    ("terraform validate", Validation, "terraform validate"),
    ("tflint", Validation, "tflint"),
    ("helm lint", Validation, "helm lint"),
    // Running the change to see it work: containers and deploys.
    ("docker compose up", Validation, "docker compose"),
    ("docker-compose up", Validation, "docker compose"),
    ("kubectl apply", Validation, "kubectl apply"),
    ("helm upgrade", Validation, "helm"),
    ("helm install", Validation, "helm"),
    ("terraform plan", Validation, "terraform plan"),
    ("terraform apply", Validation, "terraform apply"),
    ("ansible-playbook", Validation, "ansible-playbook"),
    // Formatters.
    ("cargo fmt", Implementation, "cargo fmt"),
    ("rustfmt", Implementation, "rustfmt"),
    ("black", Implementation, "black"),
    ("isort", Implementation, "isort"),
    ("ruff format", Implementation, "ruff format"),
    ("prettier", Implementation, "prettier"),
    ("gofmt", Implementation, "gofmt"),
    ("goimports", Implementation, "goimports"),
    ("clang-format", Implementation, "clang-format"),
    ("shfmt", Implementation, "shfmt"),
    ("terraform fmt", Implementation, "terraform fmt"),
    // Builds.
    ("cargo build", Implementation, "cargo build"),
    ("cargo run", Implementation, "cargo run"),
    ("go build", Implementation, "go build"),
    ("go run", Implementation, "go run"),
    ("go generate", Implementation, "go generate"),
    ("make", Implementation, "make"),
    ("cmake", Implementation, "cmake"),
    ("ninja", Implementation, "ninja"),
    ("meson", Implementation, "meson"),
    ("bazel build", Implementation, "bazel build"),
    ("bazel test", Validation, "bazel test"),
    ("gradle build", Implementation, "gradle build"),
    ("./gradlew build", Implementation, "gradle build"),
    ("mvn package", Implementation, "mvn package"),
    ("mvn compile", Implementation, "mvn compile"),
    ("mvn install", Implementation, "mvn install"),
    ("npm run build", Implementation, "npm run build"),
    ("yarn build", Implementation, "yarn build"),
    ("pnpm build", Implementation, "pnpm build"),
    ("webpack", Implementation, "webpack"),
    ("vite build", Implementation, "vite build"),
    ("dotnet build", Implementation, "dotnet build"),
    ("swift build", Implementation, "swift build"),
    ("gcc", Implementation, "gcc"),
    ("clang", Implementation, "clang"),
    ("rustc", Implementation, "rustc"),
    ("javac", Implementation, "javac"),
    ("docker build", Implementation, "docker build"),
    ("docker buildx build", Implementation, "docker build"),
    // Package managers.
    ("npm install", Implementation, "npm install"),
    ("npm ci", Implementation, "npm ci"),
    ("yarn install", Implementation, "yarn install"),
    ("pnpm install", Implementation, "pnpm install"),
    ("pip install", Implementation, "pip install"),
    ("uv sync", Implementation, "uv sync"),
    ("uv add", Implementation, "uv add"),
    ("poetry install", Implementation, "poetry install"),
    ("poetry add", Implementation, "poetry add"),
    ("bundle install", Implementation, "bundle install"),
    ("cargo add", Implementation, "cargo add"),
    ("go mod tidy", Implementation, "go mod tidy"),
    ("go get", Implementation, "go get"),
    ("composer install", Implementation, "composer install"),
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
pub fn recognise(command: &str) -> Option<(Phase, &'static str)> {
    let words = program_words(command);
    let mut best: Option<(usize, Phase, &'static str)> = None;
    for (spec, phase, name) in TOOLS {
        let spec: Vec<&str> = spec.split(' ').collect();
        let fits = spec.len() <= words.len()
            && spec.iter().zip(&words).enumerate().all(|(i, (s, w))| {
                // The program may be given by its path (`.venv/bin/pytest`).
                *s == *w || (i == 0 && !s.contains('/') && w.rsplit('/').next() == Some(s))
            });
        if fits && best.is_none_or(|(n, ..)| spec.len() > n) {
            best = Some((spec.len(), *phase, name));
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
            assert_eq!(
                recognise(command).map(|(p, n)| (p.as_str(), n)),
                want,
                "{command}"
            );
        }
    }
}
