//! The scantriage dashboard (`scantriage serve`), its JSON API and the self-contained
//! HTML report (`scantriage report --html`).
//!
//! [`model`] reads what each page shows from the store; [`pages`] renders it as HTML
//! with every log-derived value escaped ([`html`]) and charts drawn as inline SVG
//! ([`svg`]); [`server`] serves pages and API with authentication and anti-forgery
//! checks; [`verdicts`] records a person's verdicts.

#![warn(missing_docs)]

pub mod html;
pub mod model;
pub mod pages;
pub mod server;
pub mod svg;
pub mod verdicts;

pub use server::{check_binding, serve, ServeOptions};

use scantriage_store::{SqliteStore, StoreError};

/// Renders the self-contained HTML report of the store (no script, no external asset).
pub fn report_html(st: &SqliteStore) -> Result<String, StoreError> {
    let now = model::now_ms();
    let o = model::overview(st, now)?;
    let q = model::queue(st, 100)?;
    let d = model::decisions(st, now)?;
    let r = model::rules(st, 500)?;
    Ok(pages::report(&o, &q, &d, &r, now))
}
