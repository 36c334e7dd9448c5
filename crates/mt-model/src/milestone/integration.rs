//! Integration Points from the diff (docs/metrics.md, "Integration
//! points"): which changed files are CI configuration, documentation,
//! scripts or quality gates. Patterns are gitignore-style globs; a
//! repository's `.mt.toml` `[integration]` table replaces a kind's list.
//! Pure.

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::Integration;
use crate::config::IntegrationConfig;

const CI: &[&str] = &[
    ".github/workflows/**",
    ".github/actions/**",
    ".gitlab-ci.yml",
    ".gitlab/ci/**",
    ".circleci/**",
    ".buildkite/**",
    ".woodpecker.yml",
    ".woodpecker/**",
    ".travis.yml",
    "Jenkinsfile",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    ".ci/**",
];
const DOCS: &[&str] = &["**/*.md", "**/*.rst", "**/*.adoc", "docs/**", "doc/**"];
const SCRIPTS: &[&str] = &["scripts/**", "script/**", "bin/**", "**/*.sh", "**/*.bash"];
const QUALITY_GATES: &[&str] = &[
    ".pre-commit-config.yaml",
    ".githooks/**",
    ".husky/**",
    "lefthook.yml",
    "**/.eslintrc*",
    "**/eslint.config.*",
    "**/.prettierrc*",
    "**/clippy.toml",
    "**/.clippy.toml",
    "**/rustfmt.toml",
    "**/.rustfmt.toml",
    "**/deny.toml",
    "**/ruff.toml",
    "**/.ruff.toml",
    "**/.flake8",
    "**/mypy.ini",
    "**/pytest.ini",
    "**/tox.ini",
    "**/.golangci.y*ml",
    "**/jest.config.*",
    "**/vitest.config.*",
    "**/codecov.y*ml",
    "**/.codecov.y*ml",
];

fn set(configured: Option<&Vec<String>>, defaults: &[&str]) -> anyhow::Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    let globs: Vec<&str> = match configured {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => defaults.to_vec(),
    };
    for g in globs {
        b.add(Glob::new(g).map_err(|e| {
            anyhow::anyhow!("[integration] has a bad glob {g:?} ({e}); fix it in .mt.toml")
        })?);
    }
    Ok(b.build()?)
}

/// The diff's `paths` by kind; `None` paths (no diff read) is unmeasured.
pub fn classify(
    paths: Option<&[String]>,
    config: &IntegrationConfig,
) -> anyhow::Result<Integration> {
    let Some(paths) = paths else {
        return Ok(Integration::default());
    };
    let pick = |set: &GlobSet| -> Vec<String> {
        paths.iter().filter(|p| set.is_match(p)).cloned().collect()
    };
    Ok(Integration {
        measured: true,
        ci: pick(&set(config.ci.as_ref(), CI)?),
        docs: pick(&set(config.docs.as_ref(), DOCS)?),
        scripts: pick(&set(config.scripts.as_ref(), SCRIPTS)?),
        quality_gates: pick(&set(config.quality_gates.as_ref(), QUALITY_GATES)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_by_kind_and_configured_patterns_replace_defaults() {
        let paths: Vec<String> = [
            ".github/workflows/ci.yml",
            "README.md",
            "docs/guide/setup.txt",
            "scripts/release.sh",
            "tools/gen.sh",
            ".pre-commit-config.yaml",
            "src/main.rs",
        ]
        .map(String::from)
        .to_vec();
        let i = classify(Some(&paths), &IntegrationConfig::default()).unwrap();
        assert_eq!(i.ci, [".github/workflows/ci.yml"]);
        assert_eq!(i.docs, ["README.md", "docs/guide/setup.txt"]);
        assert_eq!(i.scripts, ["scripts/release.sh", "tools/gen.sh"]);
        assert_eq!(i.quality_gates, [".pre-commit-config.yaml"]);
        let config = IntegrationConfig {
            scripts: Some(vec!["tools/**".into()]),
            ..IntegrationConfig::default()
        };
        let i = classify(Some(&paths), &config).unwrap();
        assert_eq!(i.scripts, ["tools/gen.sh"]);
        assert!(!classify(None, &config).unwrap().measured);
    }
}
