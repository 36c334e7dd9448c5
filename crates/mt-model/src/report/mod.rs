//! Reports built from milestones: the month's figures and the advantages
//! against baselines ([`model`]), and the markdown of the summary, the
//! dashboards and the milestone log ([`render`]). Pure: the milestones come
//! in parsed, the text goes out; `mt`'s `report::files` reads and writes.

pub mod model;
pub mod render;
