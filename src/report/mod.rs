//! Reports built from the milestone files the team commits (README
//! "Reports" and "CI"): the monthly summary, the dashboards, and a CI run's
//! figures. `model` and `render` are pure; `files` reads and writes.

pub mod ci;
pub mod files;
pub mod model;
pub mod render;
